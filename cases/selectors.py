"""Reads of cases: where a point lies, routing previews, case lists and details. Lists are built in SQL."""

from dataclasses import dataclass

from django.contrib.gis.geos import Point
from django.db import connection

from cases import routing
from cases.models import Category

REGIONS_SQL = """
WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS g)
SELECT
    (SELECT d.id FROM grids_district d, pt WHERE ST_Covers(d.boundary, pt.g) ORDER BY d.code LIMIT 1),
    (SELECT s.id FROM grids_street s, pt WHERE ST_Covers(s.boundary, pt.g) ORDER BY s.code LIMIT 1),
    (SELECT c.id FROM grids_community c, pt WHERE ST_Covers(c.boundary, pt.g) ORDER BY c.code LIMIT 1),
    (SELECT g.id FROM grids_grid g, pt WHERE ST_Covers(g.boundary, pt.g) ORDER BY g.code LIMIT 1)
"""


@dataclass(frozen=True)
class Regions:
    district_id: int | None
    street_id: int | None
    community_id: int | None
    grid_id: int | None


def regions_at(*, point: Point) -> Regions:
    """District, street, community and grid ids covering a WGS84 point (one query, spatial indexes)."""
    with connection.cursor() as cursor:
        cursor.execute(REGIONS_SQL, {"lon": point.x, "lat": point.y})
        return Regions(*cursor.fetchone())


def resolve_route(*, point: Point, category: Category) -> routing.Route:
    """Where a report of `category` at `point` would go and why; writes nothing."""
    return routing.resolve(point=point, category=category)
