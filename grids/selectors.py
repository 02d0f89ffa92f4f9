"""Reads of the registry. Map payloads are built in SQL; filters stay in the ORM."""

from dataclasses import dataclass

from django.contrib.gis.geos import Point, Polygon
from django.db import connection
from django.db.models import F, Q, QuerySet, Subquery

from gridmgmt.prepared import execute_prepared
from gridmgmt.reads import reading
from grids import pii
from grids.models import (
    Building,
    CareTag,
    ChangeState,
    Community,
    District,
    Grid,
    Household,
    Person,
    RegistryChange,
    Residency,
    Role,
    Street,
    Unit,
    UnitType,
)

GEOJSON_DECIMALS = 6  # about 0.1 m at this latitude


def features_json(queryset: QuerySet, *, geometry: str, order_by: str) -> str:
    """The rows of `queryset` (a .values() queryset holding a `geometry` column) as a JSON array of GeoJSON Features.

    Every selected column but the geometry and `id` becomes a property. Django selects geometries as EWKB.
    """
    inner, params = queryset.query.sql_with_params()
    sql = f"""
        SELECT COALESCE(json_agg(json_build_object(
            'type', 'Feature',
            'id', t.id,
            'geometry', ST_AsGeoJSON(ST_GeomFromEWKB(t.{geometry}), {GEOJSON_DECIMALS})::json,
            'properties', to_jsonb(t) - '{geometry}' - 'id'
        ) ORDER BY t.{order_by}), '[]'::json)::text
        FROM ({inner}) AS t
    """
    with reading.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def bbox_filter(field: str, bbox: tuple[float, float, float, float] | None) -> Q:
    if bbox is None:
        return Q()
    return Q(**{f"{field}__bboverlaps": Polygon.from_bbox(bbox)})


@dataclass(frozen=True)
class MapLayer:
    """How one registry layer is listed on the map: its rows, filters and feature properties."""

    queryset: QuerySet
    geometry: str
    properties: dict[str, str]  # property name -> ORM lookup
    filters: dict[str, str]  # query parameter -> ORM lookup


MAP_LAYERS: dict[str, MapLayer] = {
    "streets": MapLayer(
        Street.objects.all(),
        "boundary",
        {"code": "code", "name": "name", "district_code": "district__code"},
        {"district": "district__code"},
    ),
    "communities": MapLayer(
        Community.objects.all(),
        "boundary",
        {"code": "code", "name": "name", "street_code": "street__code", "street_name": "street__name"},
        {"street": "street__code"},
    ),
    "grids": MapLayer(
        Grid.objects.all(),
        "boundary",
        {
            "code": "code",
            "name": "name",
            "community_code": "community__code",
            "community_name": "community__name",
            "street_code": "community__street__code",
        },
        {"community": "community__code", "street": "community__street__code"},
    ),
    "buildings": MapLayer(
        Building.objects.all(),
        "footprint",
        {
            "code": "code",
            "name": "name",
            "address": "address",
            "floors": "floors",
            "use": "use",
            "grid_code": "grid__code",
        },
        {"grid": "grid__code", "community": "grid__community__code", "street": "grid__community__street__code"},
    ),
}


def layer_page(
    layer: str, *, bbox: tuple[float, float, float, float] | None, filters: dict[str, str], limit: int, offset: int
) -> tuple[int, str]:
    """One page of a layer as (total count, JSON array of its Features)."""
    spec = MAP_LAYERS[layer]
    lookups = {spec.filters[name]: value for name, value in filters.items() if name in spec.filters}
    rows = spec.queryset.filter(bbox_filter(spec.geometry, bbox), **lookups)
    total = rows.count()
    fields = [name for name, lookup in spec.properties.items() if name == lookup]
    related = {name: F(lookup) for name, lookup in spec.properties.items() if name != lookup}
    page = rows.order_by("code").values("id", *fields, **related, geom=F(spec.geometry))[offset : offset + limit]
    return total, features_json(page, geometry="geom", order_by="code")


def households_of_building(*, building_id: int) -> QuerySet:
    return Household.objects.filter(building_id=building_id).prefetch_related("people")


# --- Region statistics: the figures behind 一图网尽社区情 -------------------------

REGION_MODELS = {"district": District, "street": Street, "community": Community, "grid": Grid}

# How each level reaches its grids.
_GRID_FILTER = {
    "grid": "g.id = %s",
    "community": "g.community_id = %s",
    "street": "c.street_id = %s",
    "district": "s.district_id = %s",
}


def region_stats(*, level: str, region_id: int) -> dict:
    """Buildings, households and people (by residency, sex and care tag) of one region, in one query."""
    where = _GRID_FILTER[level]
    sql = f"""
        WITH b AS (
            SELECT b.id FROM grids_building b
            JOIN grids_grid g ON g.id = b.grid_id
            JOIN grids_community c ON c.id = g.community_id
            JOIN grids_street s ON s.id = c.street_id
            WHERE {where}
        ),
        h AS (SELECT h.id FROM grids_household h JOIN b ON b.id = h.building_id),
        p AS (SELECT p.residency, p.sex, p.care_tags FROM grids_person p JOIN h ON h.id = p.household_id)
        SELECT
            (SELECT count(*) FROM b),
            (SELECT count(*) FROM h),
            (SELECT count(*) FROM p),
            (SELECT COALESCE(json_object_agg(residency, n), '{{}}') FROM
                (SELECT residency, count(*) AS n FROM p GROUP BY residency) r),
            (SELECT COALESCE(json_object_agg(sex, n), '{{}}') FROM (SELECT sex, count(*) AS n FROM p GROUP BY sex) x),
            (SELECT COALESCE(json_object_agg(tag, n), '{{}}') FROM
                (SELECT tag, count(*) AS n FROM p, unnest(p.care_tags) AS tag GROUP BY tag) t)
    """
    with reading.cursor() as cursor:
        cursor.execute(sql, [region_id])
        buildings, households, people, by_residency, by_sex, by_tag = cursor.fetchone()
    return {
        "buildings": buildings,
        "households": households,
        "people": people,
        "by_residency": {choice.value: by_residency.get(choice.value, 0) for choice in Residency},
        "by_sex": {"M": by_sex.get("M", 0), "F": by_sex.get("F", 0)},
        "by_care_tag": {choice.value: by_tag.get(choice.value, 0) for choice in CareTag},
    }


def figures_visible_to(user, *, level: str, region) -> bool:
    """Whether `user` may see the figures of `region` (a District, Street, Community or Grid at `level`).

    A manager with a region (Staff.community or Staff.street) sees the figures of that region and of the regions
    inside it only; every other account (and a manager without a region) sees every region's figures."""
    staff = getattr(user, "staff", None)
    if user.is_superuser or staff is None or staff.role != Role.MANAGER:
        return True
    if staff.community_id:
        community_id = {"community": region.pk, "grid": getattr(region, "community_id", None)}.get(level)
        return community_id == staff.community_id
    if staff.street_id:
        if level == "street":
            return region.pk == staff.street_id
        if level == "community":
            return region.street_id == staff.street_id
        if level == "grid":
            return Community.objects.filter(pk=region.community_id, street_id=staff.street_id).exists()
        return False
    return True


# --- Where is this point? ----------------------------------------------------------


# One statement, the fields the answer returns and no geometry: the grid covering the point and its community,
# street and district (else each of them by its own boundary), the building, and the units whose jurisdiction
# covers the point — found on the jurisdictions' subdivided pieces (cases_unitarea, kept in step with grids_unit by
# a trigger), as routing finds them, instead of testing (and reading) whole jurisdictions.
LOCATE_SQL = """
WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS g),
grid AS (SELECT g.id, g.code, g.name, g.community_id FROM grids_grid g, pt
         WHERE ST_Covers(g.boundary, pt.g) ORDER BY g.code LIMIT 1),
by_grid AS (SELECT c.id AS community_id, c.street_id, s.district_id
            FROM grid JOIN grids_community c ON c.id = grid.community_id JOIN grids_street s ON s.id = c.street_id),
ids AS (SELECT
    COALESCE((SELECT community_id FROM by_grid),
             (SELECT c.id FROM grids_community c, pt WHERE NOT EXISTS (SELECT FROM grid)
              AND ST_Covers(c.boundary, pt.g) ORDER BY c.code LIMIT 1)) AS community_id,
    COALESCE((SELECT street_id FROM by_grid),
             (SELECT s.id FROM grids_street s, pt WHERE NOT EXISTS (SELECT FROM grid)
              AND ST_Covers(s.boundary, pt.g) ORDER BY s.code LIMIT 1)) AS street_id,
    COALESCE((SELECT district_id FROM by_grid),
             (SELECT d.id FROM grids_district d, pt WHERE NOT EXISTS (SELECT FROM grid)
              AND ST_Covers(d.boundary, pt.g) ORDER BY d.code LIMIT 1)) AS district_id)
SELECT d.id, d.code, d.name, s.id, s.code, s.name, c.id, c.code, c.name, grid.id, grid.code, grid.name,
       b.id, b.code, b.name, b.address, b.floors, b.use,
       ARRAY(SELECT ARRAY[u.id::text, u.code, u.name, u.type] FROM grids_unit u
             WHERE u.id IN (SELECT a.unit_id FROM cases_unitarea a, pt WHERE ST_Covers(a.geom, pt.g))
             ORDER BY u.type, u.code)
FROM ids
LEFT JOIN grid ON true
LEFT JOIN grids_district d ON d.id = ids.district_id
LEFT JOIN grids_street s ON s.id = ids.street_id
LEFT JOIN grids_community c ON c.id = ids.community_id
LEFT JOIN LATERAL (SELECT b.id, b.code, b.name, b.address, b.floors, b.use FROM grids_building b, pt
                   WHERE ST_Covers(b.footprint, pt.g) ORDER BY b.code LIMIT 1) b ON true
"""
_REF_FIELDS = ["id", "code", "name"]
_BUILDING_FIELDS = ["id", "code", "name", "address", "floors", "use"]
_UNIT_FIELDS = ["id", "code", "name", "type"]


def _partial(model, fields: list[str], values) -> object | None:
    """An instance holding only `fields` (the rest deferred, loaded only if asked for); None for a missing row."""
    return None if values[0] is None else model.from_db(connection.alias, fields, list(values))


def locate(*, point: Point) -> dict:
    """District, street, community, grid, building and covering units of a WGS84 point (one prepared statement)."""
    with connection.cursor() as cursor:
        execute_prepared(cursor, "grids_locate", LOCATE_SQL, {"lon": point.x, "lat": point.y})
        row = cursor.fetchone()
    units = [_partial(Unit, _UNIT_FIELDS, [int(unit[0]), *unit[1:]]) for unit in row[18]]
    return {
        "district": _partial(District, _REF_FIELDS, row[0:3]),
        "street": _partial(Street, _REF_FIELDS, row[3:6]),
        "community": _partial(Community, _REF_FIELDS, row[6:9]),
        "grid": _partial(Grid, _REF_FIELDS, row[9:12]),
        "building": _partial(Building, _BUILDING_FIELDS, row[12:18]),
        "units": units,
    }


# --- Who may see residents ---------------------------------------------------------


def residents_visible_to(user) -> Q | None:
    """A filter on Building for the buildings whose residents `user` may see; None when none at all.

    Grid workers see their grids; unit staff their unit's jurisdiction; administrators everything;
    managers see figures only, never residents.
    """
    if user.is_superuser:
        return Q()
    staff = getattr(user, "staff", None)
    if staff is None:
        return None
    if staff.role == Role.ADMIN:
        return Q()
    if staff.role == Role.WORKER:
        return Q(grid__in=staff.grids.all())
    if staff.role == Role.DISPATCHER and staff.unit_id:
        if staff.unit.type in (UnitType.DEPARTMENT, UnitType.COMMAND_CENTRE):
            return Q()
        return Q(footprint__intersects=staff.unit.jurisdiction)
    return None


# --- 信息采集: change requests ----------------------------------------------------------------


def registry_changes():
    return RegistryChange.objects.select_related(
        "building", "household", "person", "household_change", "decided_by", "decided_unit", "worker"
    )


def changes_of_worker(*, worker, limit: int = 200) -> list[RegistryChange]:
    """The worker's own change requests, newest first."""
    return list(registry_changes().filter(worker=worker).order_by("-received_at", "-id")[:limit])


# Units whose desks decide the change requests of the buildings in their area.
DECIDING_UNIT_TYPES = (UnitType.COMMUNITY_COMMITTEE, UnitType.STREET_OFFICE)


def decides_registry_changes(user) -> bool:
    """Administrators, and the dispatchers of a community committee or street office (read without the unit's
    jurisdiction, for the menu of every page)."""
    if user.is_superuser:
        return True
    staff = getattr(user, "staff", None)
    if staff is None:
        return False
    if staff.role == Role.ADMIN:
        return True
    deciding = Unit.objects.filter(pk=staff.unit_id, type__in=DECIDING_UNIT_TYPES)
    return staff.role == Role.DISPATCHER and deciding.exists()


def changes_decidable_by(user) -> Q | None:
    """A filter on RegistryChange for the requests `user` may see and decide at the desk; None when none at all:
    every request for administrators, those whose building lies in the unit's area for its dispatchers."""
    if not decides_registry_changes(user):
        return None
    staff = getattr(user, "staff", None)
    if user.is_superuser or staff.role == Role.ADMIN:
        return Q()
    area = Unit.objects.filter(pk=staff.unit_id).values("jurisdiction")
    return Q(building__footprint__intersects=Subquery(area))


def changes_at_desk(*, scope: Q, pending: bool, limit: int = 100) -> list[RegistryChange]:
    """Pending requests oldest first (first come, first decided), or the latest decisions newest first."""
    changes = registry_changes().filter(scope)
    if pending:
        changes = changes.filter(state=ChangeState.PENDING).order_by("received_at", "id")
    else:
        changes = changes.exclude(state=ChangeState.PENDING).order_by("-decided_at", "-id")
    return list(changes[:limit])


# --- Find a resident by a full ID number or phone (the desk's search box) ----------------------------------------

CONTACT_FIELDS = {"id_number": "id_number_digest", "phone": "phone_digest"}


def people_by_contact(*, user, field: str, plain: str, limit: int = 20) -> list[Person] | None:
    """Residents whose ID number or phone (already normalised) is `plain`, found by the keyed digest, within the
    buildings whose residents `user` may see; None when `user` may not search residents at all (managers)."""
    scope = residents_visible_to(user)
    if scope is None:
        return None
    visible = Building.objects.filter(scope).values("id")
    return list(
        Person.objects.filter(**{CONTACT_FIELDS[field]: pii.digest(plain)}, household__building__in=visible)
        .select_related("household__building")
        .order_by("name", "id")[:limit]
    )
