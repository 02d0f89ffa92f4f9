"""Reads behind /ogc/: the registry layers as collections, their extents and pages of features built in SQL.

Pages are cut by keyset on the primary key (stable under inserts, an index scan however deep the page), and each
request reads at most `limit + 1` rows plus one count.
"""

import math
from dataclasses import dataclass, replace
from datetime import datetime

from django.contrib.gis.geos import Polygon
from django.core.cache import cache
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from gridmgmt.reads import reading
from gridmgmt.times import Rfc3339
from grids.models import Unit
from grids.selectors import GEOJSON_DECIMALS, MAP_LAYERS, MapLayer
from ogc.crs import Crs

BBox = tuple[float, float, float, float]  # min lon, min lat, max lon, max lat (CRS84)


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    layer: MapLayer
    time_field: str | None = None  # the column `datetime` filters on; None: every feature matches any datetime


COLLECTIONS: dict[str, Collection] = {
    collection.id: collection
    for collection in (
        Collection("streets", "街道 Streets", "街道办事处/镇的辖区 Street and town boundaries", MAP_LAYERS["streets"]),
        Collection("communities", "社区 Communities", "社区/村的范围 Community boundaries", MAP_LAYERS["communities"]),
        Collection("grids", "网格 Grids", "网格及其所属社区 Grids and their communities", MAP_LAYERS["grids"]),
        Collection(
            "buildings",
            "楼栋 Buildings",
            "楼栋轮廓、编码、地址、层数、用途和所在网格 Building footprints, codes, addresses, floors, use and grid",
            replace(
                MAP_LAYERS["buildings"], properties={**MAP_LAYERS["buildings"].properties, "updated_at": "updated_at"}
            ),
            time_field="updated_at",
        ),
        Collection(
            "units",
            "单位 Units",
            "办理单位（街道办、派出所、社区居委会、部门）及其辖区 Units that handle cases and their jurisdictions",
            MapLayer(
                Unit.objects.all(),
                "jurisdiction",
                {"code": "code", "name": "name", "type": "type", "phone": "phone", "parent_code": "parent__code"},
                {},
            ),
        ),
    )
}


@dataclass(frozen=True)
class ItemsQuery:
    limit: int
    bbox: BBox | None = None
    time_range: tuple[datetime | None, datetime | None] | None = None  # closed interval; None ends are open
    after: int | None = None  # keyset: features with a greater id
    before: int | None = None  # keyset: features with a smaller id (the previous page)


@dataclass(frozen=True)
class Page:
    features: str  # JSON array of GeoJSON Features
    number_matched: int
    number_returned: int
    first_id: int | None
    last_id: int | None
    has_prev: bool
    has_next: bool


def _bbox_filter(field: str, bbox: BBox | None) -> Q:
    if bbox is None:
        return Q()
    min_lon, min_lat, max_lon, max_lat = bbox
    if min_lon <= max_lon:
        return Q(**{f"{field}__bboverlaps": Polygon.from_bbox(bbox)})
    # Across the antimeridian: west of it and east of it.
    return Q(**{f"{field}__bboverlaps": Polygon.from_bbox((min_lon, min_lat, 180.0, max_lat))}) | Q(
        **{f"{field}__bboverlaps": Polygon.from_bbox((-180.0, min_lat, max_lon, max_lat))}
    )


def _time_filter(field: str | None, time_range) -> Q:
    if field is None or time_range is None:
        return Q()
    start, end = time_range
    condition = Q()
    if start is not None:
        condition &= Q(**{f"{field}__gte": start})
    if end is not None:
        condition &= Q(**{f"{field}__lte": end})
    return condition


def _rows(collection: Collection, rows: QuerySet) -> QuerySet:
    """`rows` of the collection as .values(): `id`, each property as `p_<name>` (prefixed: an annotation may not
    take a model field's name), and `geom`."""
    spec = collection.layer
    columns = {
        f"p_{name}": Rfc3339(F(lookup)) if name == collection.time_field else F(lookup)
        for name, lookup in spec.properties.items()
    }
    return rows.values("id", **columns, geom=F(spec.geometry))


def _features_select(collection: Collection, crs: Crs, source: str) -> str:
    """SELECT of a JSON array (text) of Features, in id order, from `source` (rows shaped by `_rows`)."""
    geometry = "ST_GeomFromEWKB(r.geom)"
    if crs.srid != 4326:
        geometry = f"ST_Transform({geometry}, {crs.srid})"
    if crs.lat_first:
        geometry = f"ST_FlipCoordinates({geometry})"
    properties = ", ".join(f"'{name}', r.p_{name}" for name in collection.layer.properties)
    # Options 0: no "crs" member inside the geometry (the Content-Crs header names the CRS).
    return f"""SELECT COALESCE(json_agg(json_build_object(
            'type', 'Feature',
            'id', r.id,
            'geometry', ST_AsGeoJSON({geometry}, {GEOJSON_DECIMALS}, 0)::json,
            'properties', json_build_object({properties})
        ) ORDER BY r.id), '[]'::json)::text FROM {source} r"""


def matching_rows(collection: Collection, *, bbox: BBox | None, time_range) -> QuerySet:
    spec = collection.layer
    return spec.queryset.filter(_bbox_filter(spec.geometry, bbox), _time_filter(collection.time_field, time_range))


def items_page(collection: Collection, *, query: ItemsQuery, crs: Crs) -> Page:
    """One page of features matching the query, how many match in all, and whether pages lie either side."""
    matching = matching_rows(collection, bbox=query.bbox, time_range=query.time_range)
    window = matching
    if query.after is not None:
        window = window.filter(id__gt=query.after)
    if query.before is not None:
        window = window.filter(id__lt=query.before)
    backwards = query.before is not None and query.after is None  # a `prev` link: the rows just below `before`
    window = window.order_by("-id" if backwards else "id")
    inner, params = _rows(collection, window)[: query.limit + 1].query.sql_with_params()
    sql = f"""
        WITH fetched AS ({inner}),
        kept AS (SELECT * FROM fetched ORDER BY id {"DESC" if backwards else "ASC"} LIMIT %s)
        SELECT
            (SELECT count(*) FROM fetched),
            (SELECT count(*) FROM kept),
            (SELECT min(id) FROM kept),
            (SELECT max(id) FROM kept),
            ({_features_select(collection, crs, "kept")})
    """
    with reading.cursor() as cursor:
        cursor.execute(sql, [*params, query.limit])
        fetched, returned, first_id, last_id, features = cursor.fetchone()
    more_ahead = fetched > query.limit  # a row beyond the page in the direction of travel
    has_prev = has_next = False
    if first_id is not None:
        if backwards:
            has_prev, has_next = more_ahead, matching.filter(id__gt=last_id).exists()
        else:
            has_prev = matching.filter(id__lt=first_id).exists()
            has_next = more_ahead or (query.before is not None and matching.filter(id__gt=last_id).exists())
    return Page(
        features=features,
        number_matched=matching.count(),
        number_returned=returned,
        first_id=first_id,
        last_id=last_id,
        has_prev=has_prev,
        has_next=has_next,
    )


def feature(collection: Collection, *, feature_id: int, crs: Crs) -> str | None:
    """One Feature as JSON text; None when the collection has no such feature."""
    inner, params = _rows(collection, collection.layer.queryset.filter(pk=feature_id)).query.sql_with_params()
    sql = f"WITH one AS ({inner}) SELECT (({_features_select(collection, crs, 'one')})::json -> 0)::text"
    with reading.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


EXTENTS_KEY = "ogc:extents"
EXTENT_SECONDS = 300  # the extent is a hint for the client's first view: a few minutes stale is harmless


def extents() -> dict[str, BBox | None]:
    """Each collection's bounding box in CRS84; computed (one statement over every layer) at most every few minutes.
    Its age is kept beside it and judged by the application's clock, not by the cache's own expiry."""
    now = timezone.now().timestamp()
    kept = cache.get(EXTENTS_KEY)
    if kept is not None and now - kept[0] < EXTENT_SECONDS:
        return kept[1]
    value = _extents()
    cache.set(EXTENTS_KEY, (now, value), 2 * EXTENT_SECONDS)
    return value


def _extents() -> dict[str, BBox | None]:
    parts, params = [], []
    for collection in COLLECTIONS.values():
        spec = collection.layer
        inner, inner_params = spec.queryset.values(geom=F(spec.geometry)).query.sql_with_params()
        parts.append(
            f"SELECT %s, ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            f"(SELECT ST_Extent(ST_GeomFromEWKB(t.geom)) AS e FROM ({inner}) t) x"
        )
        params.extend([collection.id, *inner_params])
    with reading.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        rows = cursor.fetchall()
    scale = 10**GEOJSON_DECIMALS  # outward to the decimals the features carry, so the box still holds them all
    return {
        row[0]: None
        if row[1] is None
        else (
            math.floor(row[1] * scale) / scale,
            math.floor(row[2] * scale) / scale,
            math.ceil(row[3] * scale) / scale,
            math.ceil(row[4] * scale) / scale,
        )
        for row in rows
    }
