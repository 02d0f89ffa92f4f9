"""Reads behind the maps, the dashboard and the public page. Every map payload is one SQL statement.

Geometry is stored in EPSG:4326; tiles and hexagons are made in EPSG:3857 in SQL, and every query filters
first with `&&` on the 4326 column so the GiST indexes do the work.
"""

import contextlib
import gzip
import hashlib
import json
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.gis.geos import Polygon
from django.db.models import F, Q
from django.utils import timezone

from gridmgmt.prepared import execute_prepared
from gridmgmt.reads import reading
from grids.models import Building, Household, Person, Unit
from grids.selectors import features_json, residents_visible_to

BBox = tuple[float, float, float, float]

# States in which a case is no longer worked (open = everything else).
FINISHED_STATES = ("closed", "rejected")
# A case's light, as cases.selectors.light_expression computes it: green below 80% of its step's limit, yellow to
# 100%, red beyond (DESIGN §4), against the thresholds the workflow keeps on the case; frozen while suspended;
# 'none' when no step runs (closed, rejected).
LIGHT_SQL = """CASE
    WHEN {c}.step_deadline_at IS NULL OR {c}.state IN ('closed', 'rejected') THEN 'none'
    WHEN {c}.step_deadline_at < COALESCE({c}.suspended_at, now()) THEN 'red'
    WHEN {c}.step_yellow_at <= COALESCE({c}.suspended_at, now()) THEN 'yellow'
    ELSE 'green' END"""
# Closed on time: closed no later than its deadline (a case without a deadline counts as on time).
ON_TIME_SQL = "({c}.state = 'closed' AND ({c}.deadline_at IS NULL OR {c}.closed_at <= {c}.deadline_at))"


def _fetch_one(sql: str, params: list) -> object:
    with reading.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


# The data the dashboard's figures are made of, as one stamp: the newest case event (every report, step and edit
# of a case writes one) and the map's stamp (the residents the per-1,000 figures divide by).
FIGURES_VERSION_SQL = (
    "SELECT (SELECT COALESCE(max(id), 0) FROM cases_caseevent)::text || '.' || "
    "(SELECT version FROM grids_map_version)::text"
)


def figures(sql: str, params, *, heavy: bool = False) -> object:
    """`_fetch_one` for the dashboard's figures, kept in the cache under the statement, its parameters and the data's
    stamp: a manager who opens the dashboard again, or a colleague with the same view, gets it without the scan
    of every case, and any new case event makes a new entry. An entry lives DASHBOARD_CACHE_SECONDS at most: the
    lights move with the clock, and a transaction that commits after a later one may not move the stamp.
    `heavy`: the statement runs in one of the few heavy-request slots (dblimits.Busy when none is free); figures
    found in the cache need none."""
    from django.conf import settings
    from django.core.cache import cache

    from gridmgmt import dblimits

    with reading.cursor() as cursor:
        execute_prepared(cursor, "maps_figures_version", FIGURES_VERSION_SQL, [])
        version = cursor.fetchone()[0]
        digest = hashlib.sha256(f"{sql}\0{json.dumps(params, sort_keys=True, default=str)}".encode()).hexdigest()
        key = f"figures:{digest}:{version}"
        found = cache.get(key)
        if found is not None:
            return found
        with dblimits.heavy_request() if heavy else contextlib.nullcontext():
            cursor.execute(sql, params)
            value = cursor.fetchone()[0]
    cache.set(key, value, settings.DASHBOARD_CACHE_SECONDS)
    return value


def _fetch_all(sql: str, params: list) -> list[tuple]:
    with reading.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# --- Units (police precincts and others) ------------------------------------------------------------------------


def units_geojson(*, unit_type: str | None, bbox: BBox | None) -> str:
    """Unit jurisdictions as a JSON array of GeoJSON Features, built in SQL."""
    rows = Unit.objects.all()
    if unit_type:
        rows = rows.filter(type=unit_type)
    if bbox is not None:
        rows = rows.filter(jurisdiction__bboverlaps=Polygon.from_bbox(bbox))
    rows = rows.order_by("code").values("id", "code", "name", "type", "phone", geom=F("jurisdiction"))
    return features_json(rows, geometry="geom", order_by="code")


# --- Labels: the registry's own names on the map ------------------------------------------------------------

# The zooms at which each kind of name is drawn (from, to inclusive), one level of regions at a time so that names
# do not overlap: streets over the district, communities and units when a street fills the view, grids when a
# community does, buildings from z17 where their footprints show.
LABEL_ZOOMS = {
    "street": (8, 13),
    "community": (14, 16),
    "unit": (14, 22),
    "grid": (15, 22),
    "building": (17, 22),
}
PUBLIC_LABEL_KINDS = ("street", "community", "grid")
LABELS_PER_KIND = 2000  # buildings in one view at z17 on a phone number in the hundreds; more is a denser view

_LABEL_SQL = {
    "street": "SELECT 'street', name, code, ST_PointOnSurface(boundary) FROM grids_street WHERE boundary && {env}",
    "community": "SELECT 'community', name, code, ST_PointOnSurface(boundary) FROM grids_community "
    "WHERE boundary && {env}",
    "grid": "SELECT 'grid', name, code, ST_PointOnSurface(boundary) FROM grids_grid WHERE boundary && {env}",
    "unit": "SELECT 'unit', name, code, ST_PointOnSurface(jurisdiction) FROM grids_unit WHERE jurisdiction && {env}",
    # A building's name, or its code where it has none, at a point inside the footprint.
    "building": "SELECT 'building', COALESCE(NULLIF(name, ''), code), code, ST_PointOnSurface(footprint) "
    "FROM grids_building WHERE footprint && {env}",
}


def label_kinds(zoom: int, allowed) -> list[str]:
    return [kind for kind in allowed if LABEL_ZOOMS[kind][0] <= zoom <= LABEL_ZOOMS[kind][1]]


def labels_geojson(*, bbox: BBox, zoom: int, kinds) -> str:
    """Names of streets, communities, grids, units and buildings in the view that fit the zoom, each at a point on
    its surface (inside it, unlike a centroid), as a JSON array of GeoJSON point Features — one SQL statement."""
    chosen = label_kinds(zoom, kinds)
    if not chosen:
        return "[]"
    env = "ST_MakeEnvelope(%s, %s, %s, %s, 4326)"
    parts, params = [], []
    for kind in chosen:
        parts.append(f"(SELECT * FROM ({_LABEL_SQL[kind].format(env=env)}) AS k LIMIT {LABELS_PER_KIND})")
        params.extend(bbox)
    sql = f"""
        SELECT COALESCE(json_agg(json_build_object(
            'type', 'Feature',
            'geometry', ST_AsGeoJSON(t.point, 6)::json,
            'properties', json_build_object('kind', t.kind, 'name', t.name, 'code', t.code)
        )), '[]'::json)::text
        FROM ({" UNION ALL ".join(parts)}) AS t(kind, name, code, point)
    """
    with reading.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


# --- Per-grid figures (the community map's shading) ------------------------------------------------------------


@dataclass(frozen=True)
class CaseFilter:
    """The filters the map and the dashboard share: received between two dates, categories (with descendants)."""

    date_from: date | None = None
    date_to: date | None = None
    categories: tuple[int, ...] = ()
    states: tuple[str, ...] = ()
    levels: tuple[int, ...] = ()
    street: str | None = None
    community: str | None = None
    district: str | None = None
    grid: str | None = None

    def where(self, alias: str = "c") -> tuple[str, list]:
        parts, params = ["TRUE"], []
        if self.date_from:
            parts.append(f"{alias}.received_at >= %s")
            params.append(timezone.make_aware(datetime.combine(self.date_from, time.min)))
        if self.date_to and self.date_to < date.max:
            parts.append(f"{alias}.received_at < %s")
            params.append(timezone.make_aware(datetime.combine(self.date_to + timedelta(days=1), time.min)))
        if self.categories:
            # A group (大类) stands for its leaves: match the category or any of its ancestors.
            parts.append(
                f"""{alias}.category_id IN (
                    WITH RECURSIVE tree AS (
                        SELECT id FROM cases_category WHERE id = ANY(%s)
                        UNION SELECT k.id FROM cases_category k JOIN tree ON k.parent_id = tree.id
                    ) SELECT id FROM tree)"""
            )
            params.append(list(self.categories))
        if self.states:
            parts.append(f"{alias}.state = ANY(%s)")
            params.append(list(self.states))
        if self.levels:
            parts.append(f"{alias}.level = ANY(%s)")
            params.append(list(self.levels))
        if self.street:
            parts.append(f"{alias}.street_id = (SELECT id FROM grids_street WHERE code = %s)")
            params.append(self.street)
        if self.community:
            parts.append(f"{alias}.community_id = (SELECT id FROM grids_community WHERE code = %s)")
            params.append(self.community)
        if self.district:
            parts.append(
                f"""{alias}.street_id IN (SELECT s.id FROM grids_street s JOIN grids_district d ON d.id = s.district_id
                    WHERE d.code = %s)"""
            )
            params.append(self.district)
        if self.grid:
            parts.append(f"{alias}.grid_id = (SELECT id FROM grids_grid WHERE code = %s)")
            params.append(self.grid)
        return " AND ".join(parts), params


# --- Drill-down regions (区 → 街道 → 社区 → 网格) --------------------------------------------------------------

# The level of a region by the length of its code (GB/T 2260 county + 3 + 3 + 2 or 3 digits).
REGION_LEVEL_BY_LENGTH = {6: "district", 9: "street", 12: "community", 14: "grid", 15: "grid"}
CHILD_LEVEL = {"all": "street", "district": "street", "street": "community", "community": "grid", "grid": None}

REGION_PATH_SQL = {
    "district": "SELECT json_build_array(json_build_object('level', 'district', 'id', d.id, 'code', d.code,"
    " 'name', d.name)) FROM grids_district d WHERE d.code = %s",
    "street": "SELECT json_build_array("
    "json_build_object('level', 'street', 'id', s.id, 'code', s.code, 'name', s.name)) FROM grids_street s"
    " WHERE s.code = %s",
    "community": "SELECT json_build_array("
    "json_build_object('level', 'street', 'id', s.id, 'code', s.code, 'name', s.name),"
    "json_build_object('level', 'community', 'id', co.id, 'code', co.code, 'name', co.name))"
    " FROM grids_community co JOIN grids_street s ON s.id = co.street_id WHERE co.code = %s",
    "grid": "SELECT json_build_array("
    "json_build_object('level', 'street', 'id', s.id, 'code', s.code, 'name', s.name),"
    "json_build_object('level', 'community', 'id', co.id, 'code', co.code, 'name', co.name),"
    "json_build_object('level', 'grid', 'id', g.id, 'code', g.code, 'name', g.name))"
    " FROM grids_grid g JOIN grids_community co ON co.id = g.community_id JOIN grids_street s ON s.id = co.street_id"
    " WHERE g.code = %s",
}


@dataclass(frozen=True)
class Region:
    """A region of the drill-down: its level, and the path from the street down to it (breadcrumbs)."""

    level: str  # "all", "district", "street", "community" or "grid"
    code: str = ""
    name: str = ""
    id: int | None = None
    path: tuple = ()

    @property
    def child_level(self) -> str | None:
        return CHILD_LEVEL[self.level]

    def filters(self) -> dict:
        """The CaseFilter fields that keep a region's cases."""
        return {self.level: self.code} if self.level != "all" else {}

    def contains(self, code: str) -> bool:
        """Whether the region with this code is this region or one of its ancestors (lies on its path)."""
        return any(step["code"] == code for step in self.path)

    def as_dict(self) -> dict:
        return {
            "level": self.level,
            "code": self.code,
            "name": self.name,
            "child_level": self.child_level,
            "path": list(self.path),
        }


def child_regions(region: Region) -> list[dict]:
    """The regions one level down (id, code, name, level), in order of code; none below a grid."""
    from grids.models import Community, Grid, Street

    if region.level in ("all", "district"):
        rows = Street.objects.filter(**({"district_id": region.id} if region.level == "district" else {}))
    elif region.level == "street":
        rows = Community.objects.filter(street_id=region.id)
    elif region.level == "community":
        rows = Grid.objects.filter(community_id=region.id)
    else:
        return []
    return [{**row, "level": region.child_level} for row in rows.order_by("code").values("id", "code", "name")]


def find_region(code: str | None) -> Region | None:
    """The region with this code (any level), or the whole system for an empty code; None when there is none."""
    if not code:
        return Region(level="all")
    level = REGION_LEVEL_BY_LENGTH.get(len(code)) if code.isdigit() else None
    if level is None:
        return None
    with reading.cursor() as cursor:
        cursor.execute(REGION_PATH_SQL[level], [code])
        row = cursor.fetchone()
    if row is None:
        return None
    path = row[0] if isinstance(row[0], list) else json.loads(row[0])
    last = path[-1]
    return Region(level=level, code=last["code"], name=last["name"], id=last["id"], path=tuple(path))


def _grid_scope(bbox: BBox | None, street: str | None, community: str | None, grid: str | None) -> tuple[str, list]:
    parts, params = ["TRUE"], []
    if bbox is not None:
        parts.append("g.boundary && ST_MakeEnvelope(%s, %s, %s, %s, 4326)")
        params.extend(bbox)
    for value, column in ((street, "s.code"), (community, "co.code"), (grid, "g.code")):
        if value:
            parts.append(f"{column} = %s")
            params.append(value)
    return " AND ".join(parts), params


def grid_figures(
    *,
    bbox: BBox | None,
    street: str | None = None,
    community: str | None = None,
    grid: str | None = None,
    care_tag: str | None = None,
    cases: CaseFilter | None = None,
) -> str:
    """For every grid in view: buildings, households, people, people with care tags, open and all cases, cases per
    1,000 residents — as a JSON object keyed by grid id, from ONE query."""
    scope, params = _grid_scope(bbox, street, community, grid)
    case_where, case_params = (cases or CaseFilter()).where("c")
    tag_filter = "cardinality(p.care_tags) > 0" if not care_tag else "%s = ANY(p.care_tags)"
    tag_params = [care_tag] if care_tag else []
    sql = f"""
        WITH g AS (
            SELECT g.id, g.code, g.name FROM grids_grid g
            JOIN grids_community co ON co.id = g.community_id
            JOIN grids_street s ON s.id = co.street_id
            WHERE {scope}
        ),
        b AS (SELECT b.grid_id, count(*) AS n FROM grids_building b JOIN g ON g.id = b.grid_id GROUP BY b.grid_id),
        h AS (
            SELECT b.grid_id, count(*) AS n FROM grids_household h
            JOIN grids_building b ON b.id = h.building_id JOIN g ON g.id = b.grid_id GROUP BY b.grid_id
        ),
        p AS (
            SELECT b.grid_id, count(*) AS people, count(*) FILTER (WHERE {tag_filter}) AS care
            FROM grids_person p JOIN grids_household h ON h.id = p.household_id
            JOIN grids_building b ON b.id = h.building_id JOIN g ON g.id = b.grid_id GROUP BY b.grid_id
        ),
        k AS (
            SELECT c.grid_id, count(*) AS cases,
                   count(*) FILTER (WHERE c.state NOT IN ('closed', 'rejected')) AS open_cases
            FROM cases_case c JOIN g ON g.id = c.grid_id WHERE {case_where} GROUP BY c.grid_id
        )
        SELECT COALESCE(json_object_agg(g.id, json_build_object(
            'code', g.code, 'name', g.name,
            'buildings', COALESCE(b.n, 0), 'households', COALESCE(h.n, 0),
            'people', COALESCE(p.people, 0), 'care', COALESCE(p.care, 0),
            'cases', COALESCE(k.cases, 0), 'open_cases', COALESCE(k.open_cases, 0),
            'cases_per_1000', CASE WHEN COALESCE(p.people, 0) > 0
                THEN round(1000.0 * COALESCE(k.cases, 0) / p.people, 2) ELSE NULL END
        )), '{{}}')::text
        FROM g LEFT JOIN b ON b.grid_id = g.id LEFT JOIN h ON h.grid_id = g.id
        LEFT JOIN p ON p.grid_id = g.id LEFT JOIN k ON k.grid_id = g.id
    """
    return _fetch_one(sql, params + tag_params + case_params)


# --- Building footprints as Mapbox vector tiles ----------------------------------------------------------------

TILE_EXTENT = 4096
TILE_BUFFER = 64
TILE_MIN_ZOOM = 14
TILE_LAYER = "buildings"

TILE_SQL = f"""
    WITH bounds AS (
        SELECT ST_TileEnvelope(%(z)s::int, %(x)s::int, %(y)s::int) AS g3857,
               ST_Translate(ST_Transform(ST_TileEnvelope(%(z)s::int, %(x)s::int, %(y)s::int,
                   margin => {TILE_BUFFER / TILE_EXTENT}), 4326), -%(dx)s::float8, -%(dy)s::float8) AS g4326
    ),
    mvtgeom AS (
        SELECT ST_AsMVTGeom(ST_Transform(ST_Translate(b.footprint, %(dx)s::float8, %(dy)s::float8), 3857), bounds.g3857,
                            {TILE_EXTENT}, {TILE_BUFFER}, true) AS geom,
               b.id, b.code, b.name, b.address, b.floors, b.use,
               (SELECT count(*) FROM grids_household h WHERE h.building_id = b.id) AS households
        FROM grids_building b, bounds
        WHERE b.footprint && bounds.g4326
    )
    SELECT ST_AsMVT(mvtgeom.*, '{TILE_LAYER}', {TILE_EXTENT}, 'geom', 'id') FROM mvtgeom
"""


# The stamp of buildings and households (grids migration 0008): it changes with every change to either table.
MAP_VERSION_SQL = "SELECT version FROM grids_map_version"
TILE_SQL_DIGEST = hashlib.sha256(TILE_SQL.encode()).hexdigest()[:16]
TILE_CACHE_BYTES = 32 * 2**20  # per process


def map_version() -> int:
    """The stamp of buildings and households now (a one-row read, prepared once per connection)."""
    with reading.cursor() as cursor:
        execute_prepared(cursor, "maps_map_version", MAP_VERSION_SQL, [])
        return cursor.fetchone()[0]


def building_tile_etag(*, z: int, x: int, y: int, shift: tuple[float, float] = (0.0, 0.0), version: int) -> str:
    """A weak ETag that changes whenever the tile's content could: a building or household changed anywhere
    (the map's stamp `version`), or the tile's SQL changed. Weak: it names the data, not the bytes."""
    key = f"{TILE_SQL_DIGEST}|{z}/{x}/{y}|{shift[0]!r},{shift[1]!r}|{version}"
    return f'W/"{hashlib.sha256(key.encode()).hexdigest()[:32]}"'


class _TileCache:
    """Tiles made at a stamp, kept per process (least recently used out first, within a byte budget). A tile is
    only ever looked up under the stamp read at the start of its request, so a change is never served stale."""

    def __init__(self, budget: int):
        self.budget, self.size = budget, 0
        self.tiles: OrderedDict[tuple, bytes] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple) -> bytes | None:
        with self.lock:
            tile = self.tiles.get(key)
            if tile is not None:
                self.tiles.move_to_end(key)
            return tile

    def put(self, key: tuple, tile: bytes) -> None:
        if len(tile) > self.budget // 16:
            return
        with self.lock:
            if key in self.tiles:
                return
            self.tiles[key] = tile
            self.size += len(tile)
            while self.size > self.budget:
                _, dropped = self.tiles.popitem(last=False)
                self.size -= len(dropped)


_tiles = _TileCache(TILE_CACHE_BYTES)


def building_tile(
    *, z: int, x: int, y: int, shift: tuple[float, float] = (0.0, 0.0), version: int | None = None
) -> bytes:
    """One tile of building footprints. `shift` (degrees) moves them, e.g. onto a GCJ-02 base map. With the map's
    stamp `version` (read before), a tile this process made at that stamp is given again without the query."""
    if z < TILE_MIN_ZOOM:
        return b""
    key = (z, x, y, shift, version)
    if version is not None and (tile := _tiles.get(key)) is not None:
        return tile
    with reading.cursor() as cursor:
        execute_prepared(
            cursor, "maps_building_tile", TILE_SQL, {"z": z, "x": x, "y": y, "dx": shift[0], "dy": shift[1]}
        )
        data = cursor.fetchone()[0]
    tile = bytes(data) if data is not None else b""
    if version is not None:
        _tiles.put(key, tile)
    return tile


def building_tile_gzip(*, z: int, x: int, y: int, shift: tuple[float, float] = (0.0, 0.0), version: int) -> bytes:
    """The tile gzip-compressed, kept beside it under the same stamp: compressing a tile again on every request
    took a fifth of a repeated tile's time. (A tile holds no secret, so it needs none of the length padding the
    other compressed answers get.)"""
    key = (z, x, y, shift, version, "gzip")
    if (packed := _tiles.get(key)) is None:
        packed = gzip.compress(building_tile(z=z, x=x, y=y, shift=shift, version=version), mtime=0)
        _tiles.put(key, packed)
    return packed


# --- Search: person, household, address or building code → the building --------------------------------------

SEARCH_LIMIT = 20


def search(*, user, text: str) -> list[dict]:
    """Buildings by code, name or address; households by room; people by name — people and households only within
    the buildings whose residents `user` may see (like /api/v1/buildings/{id}/households)."""
    text = text.strip()
    results: list[dict] = []
    scope = residents_visible_to(user)
    if scope is not None:
        visible = Building.objects.filter(scope).values("id")
        people = (
            Person.objects.filter(name__icontains=text, household__building__in=visible)
            .select_related("household__building")
            .order_by("name", "id")[:SEARCH_LIMIT]
        )
        for person in people:
            household = person.household
            results.append(
                {
                    "kind": "person",
                    "label": person.name,
                    "detail": f"{household.building.name} {household_label(household)}",
                    "building_id": household.building_id,
                    "household_id": household.id,
                }
            )
        households = (
            Household.objects.filter(room__icontains=text, building__in=visible)
            .select_related("building")
            .order_by("building__code", "room")[:SEARCH_LIMIT]
        )
        for household in households:
            results.append(
                {
                    "kind": "household",
                    "label": f"{household.building.name} {household_label(household)}",
                    "detail": household.building.address,
                    "building_id": household.building_id,
                    "household_id": household.id,
                }
            )
    buildings = Building.objects.filter(
        Q(code__icontains=text) | Q(address__icontains=text) | Q(name__icontains=text)
    ).order_by("code")[:SEARCH_LIMIT]
    for building in buildings:
        results.append(
            {
                "kind": "building",
                "label": f"{building.name} ({building.code})",
                "detail": building.address,
                "building_id": building.id,
            }
        )
    centres = dict(
        _fetch_all(
            "SELECT id, json_build_array(round(ST_X(c)::numeric, 6), round(ST_Y(c)::numeric, 6)) "
            "FROM (SELECT id, ST_PointOnSurface(footprint) AS c FROM grids_building WHERE id = ANY(%s)) t",
            [[row["building_id"] for row in results]],
        )
    )
    for row in results:
        row["lon"], row["lat"] = (float(v) for v in centres[row["building_id"]])
    return results


def household_label(household: Household) -> str:
    unit = f"{household.unit_no}单元" if household.unit_no else ""
    return f"{unit}{household.room}"


# --- Hexagon bins of cases (the dashboard heatmap) -------------------------------------------------------------

HEX_PIXELS = 18  # hexagon edge length in screen pixels, whatever the zoom
WEB_MERCATOR_M_PER_PX_Z0 = 156543.03392804097


def hex_size_for_zoom(zoom: int) -> float:
    """Edge length in EPSG:3857 units of a hexagon about HEX_PIXELS on screen at `zoom`."""
    return HEX_PIXELS * WEB_MERCATOR_M_PER_PX_Z0 / (2**zoom)


WEB_MERCATOR_MAX_LAT = 85.05112878
EARTH_RADIUS_M = 6378137.0


def hex_bins_needed(*, bbox: BBox, zoom: int) -> int:
    """About how many hexagons ST_HexagonGrid generates over `bbox` at `zoom`: its columns (1.5 edges apart) times
    its rows (√3 edges high) over the bbox in EPSG:3857."""
    size = hex_size_for_zoom(zoom)
    width = EARTH_RADIUS_M * math.radians(bbox[2] - bbox[0])
    height = EARTH_RADIUS_M * (_mercator_y(bbox[3]) - _mercator_y(bbox[1]))
    return (math.ceil(width / (1.5 * size)) + 1) * (math.ceil(height / (math.sqrt(3) * size)) + 1)


def hex_bins_area_km2(*, bbox: BBox, zoom: int, bins: int) -> float:
    """The ground area `bins` hexagons of `zoom` cover at the bbox's latitude (EPSG:3857 shrinks by cos² there)."""
    size = hex_size_for_zoom(zoom)
    scale = math.cos(math.radians((bbox[1] + bbox[3]) / 2)) ** 2
    return bins * 1.5 * math.sqrt(3) * size**2 * scale / 1e6


def _mercator_y(lat: float) -> float:
    lat = max(-WEB_MERCATOR_MAX_LAT, min(WEB_MERCATOR_MAX_LAT, lat))
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


# The cell of ST_HexagonGrid(size, …) holding each point (m.x, m.y) of `rows` (EPSG:3857), by arithmetic, as one
# bigint `cell` (i in the high 32 bits, j + 2³¹ in the low). The grid's cell (i, j) is centred at
# (w·i, h·(j + |i mod 2|/2)) with w = 1.5·size, h = √3·size. A point lies in one of two columns, i0 = ⌊x / w⌋ or
# i0 + 1; in each the nearest centre is found by rounding, and the nearer of the two is the cell (a hexagon is the
# set of points nearest its centre): a few float operations per case instead of a spatial test against every
# hexagon in view. On an edge the lower column wins. One key, not (i, j), so the comparison is made once per case.
HEX_CELLS_SQL = """(
        SELECT CASE WHEN (m.x - %(hex_w)s::float8 * a.i0) ^ 2 + (m.y - %(hex_h)s::float8 * (r.j0 + b.o0)) ^ 2
                      <= (m.x - %(hex_w)s::float8 * (a.i0 + 1)) ^ 2
                         + (m.y - %(hex_h)s::float8 * (r.j1 + 0.5::float8 - b.o0)) ^ 2
                    THEN (a.i0::int8 << 32) + r.j0 + 2147483648
                    ELSE ((a.i0 + 1)::int8 << 32) + r.j1 + 2147483648 END AS cell{extra}
        FROM {rows},
        LATERAL (SELECT floor(m.x / %(hex_w)s::float8)::int AS i0) a,
        LATERAL (SELECT abs(mod(a.i0, 2)) * 0.5::float8 AS o0) b,
        LATERAL (SELECT round(m.y / %(hex_h)s::float8 - b.o0)::int8 AS j0,
                        round(m.y / %(hex_h)s::float8 - (0.5::float8 - b.o0))::int8 AS j1) r
    )"""
CELL_I, CELL_J = "(cell >> 32)::int", "((cell & 4294967295) - 2147483648)::int"


def hex_cells_sql(rows: str, extra: str = "") -> str:
    """HEX_CELLS_SQL over `rows` (a subquery `m` with columns x, y and the `extra` column, if any, carried along)."""
    return HEX_CELLS_SQL.format(rows=rows, extra=f", m.{extra}" if extra else "")


HEX_SQL = """
    WITH env AS (SELECT ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326) AS g4326),
    -- Each case in view counted in the one hexagon that holds it.
    counts AS (
        SELECT {i} AS i, {j} AS j, count(*) AS n FROM {case_cells} cells GROUP BY cell
    ),
    hex AS (SELECT i, j, ST_Transform(ST_SetSRID(ST_Hexagon(%(size)s, i, j), 3857), 4326) AS g4326 FROM counts)
    {people_cte}
    SELECT COALESCE(json_agg(json_build_object(
        'type', 'Feature',
        'geometry', ST_AsGeoJSON(hex.g4326, 6)::json,
        'properties', json_build_object('count', counts.n, 'people', {people_value}, 'per_1000', {per_1000})
    ) ORDER BY hex.i, hex.j), '[]'::json)::text
    FROM counts JOIN hex ON hex.i = counts.i AND hex.j = counts.j {people_join}
"""
# The cases in view, at the Web-Mercator coordinates the database keeps for each (cases migration 0015). For a
# point and a rectangle, && (the boxes touch) is the exact test.
HEX_CASES_SQL = """(
            SELECT c.web_x AS x, c.web_y AS y FROM env, cases_case c WHERE c.point && env.g4326 AND {case_where}
        ) m"""
# Residents counted at their building (a point on its footprint), for the hexagons that have cases.
HEX_PEOPLE_CTE = """,
    people AS MATERIALIZED (
        SELECT {i} AS i, {j} AS j, sum(n) AS n FROM {building_cells} cells
        WHERE ({i}, {j}) IN (SELECT i, j FROM counts)
        GROUP BY cell
    )"""
HEX_BUILDINGS_SQL = f"""(
            SELECT {EARTH_RADIUS_M}::float8 * radians(ST_X(spot)) AS x,
                   {EARTH_RADIUS_M}::float8 * ln(tan(pi() / 4 + radians(ST_Y(spot)) / 2)) AS y, n
            FROM (
                SELECT ST_PointOnSurface(b.footprint) AS spot,
                       (SELECT count(*) FROM grids_household hh JOIN grids_person pe ON pe.household_id = hh.id
                        WHERE hh.building_id = b.id) AS n
                FROM grids_building b
                WHERE b.footprint && (SELECT ST_SetSRID(ST_Extent(hex.g4326)::geometry, 4326) FROM hex)
            ) spots
        ) m"""


def hex_bins_sql(*, bbox: BBox, zoom: int, cases: CaseFilter, per_1000: bool) -> tuple[str, dict]:
    """The heat-bin statement and its (named) parameters; bench/tiles.py runs the same statement raw."""
    case_where, case_params = cases.where("c")
    named = {}
    for index, value in enumerate(case_params):
        case_where = case_where.replace("%s", f"%(f{index})s", 1)
        named[f"f{index}"] = value
    if per_1000:
        parts = {
            "people_cte": HEX_PEOPLE_CTE.format(
                i=CELL_I, j=CELL_J, building_cells=hex_cells_sql(HEX_BUILDINGS_SQL, "n")
            ),
            "people_join": "LEFT JOIN people ON people.i = hex.i AND people.j = hex.j",
            "people_value": "COALESCE(people.n, 0)",
            "per_1000": "CASE WHEN people.n > 0 THEN round(1000.0 * counts.n / people.n, 2) END",
        }
    else:
        parts = {"people_cte": "", "people_join": "", "people_value": "NULL", "per_1000": "NULL"}
    cases_in_view = HEX_CASES_SQL.format(case_where=case_where)
    sql = HEX_SQL.format(i=CELL_I, j=CELL_J, case_cells=hex_cells_sql(cases_in_view), **parts)
    size = hex_size_for_zoom(zoom)
    params = {"x0": bbox[0], "y0": bbox[1], "x1": bbox[2], "y1": bbox[3], "size": size, **named}
    params |= {"hex_w": 1.5 * size, "hex_h": math.sqrt(3) * size}
    return sql, params


def hex_bins(*, bbox: BBox, zoom: int, cases: CaseFilter, per_1000: bool = False, heavy: bool = True) -> str:
    """Cases in the view counted per hexagon (ST_HexagonGrid in EPSG:3857), as a JSON array of GeoJSON Features.
    Counted in a heavy-request slot unless the caller holds one (`heavy=False`)."""
    sql, params = hex_bins_sql(bbox=bbox, zoom=zoom, cases=cases, per_1000=per_1000)
    return figures(sql, params, heavy=heavy)


def public_case(number: str) -> dict | None:
    """A case's state and dates (local days) for 政务公开, or None when unknown or a 社会治理 case."""
    from cases.models import Case, CategoryKind, State

    case = (
        Case.objects.filter(number=number)
        .exclude(category__kind=CategoryKind.SOCIAL)
        .only("number", "state", "received_at", "deadline_at", "closed_at")
        .first()
    )
    if case is None:
        return None
    day = lambda moment: timezone.localdate(moment) if moment else None  # noqa: E731
    closed = case.closed_at if case.state == State.CLOSED else None
    return {
        "number": case.number,
        "state": case.state,
        "state_label": str(State(case.state).label),
        "received_on": day(case.received_at),
        "deadline_on": day(case.deadline_at),
        "closed_on": day(closed),
        "closed_on_time": (closed <= case.deadline_at) if closed and case.deadline_at else None,
    }
