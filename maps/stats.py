"""Figures for the managers' dashboard and the public page: each a single SQL statement returning JSON.

No statement here returns a person, a photo or a case's location: only counts by month, street, unit, grid and
category group.
"""

from gridmgmt.reads import reading
from maps.selectors import LIGHT_SQL, ON_TIME_SQL, CaseFilter

# Each category's group (大类): its ancestor one below the root (部件 / 事件 / 社会治理), or itself.
CATEGORY_GROUP_CTE = """
    cat_path AS (
        WITH RECURSIVE walk AS (
            SELECT id, parent_id, ARRAY[id] AS path FROM cases_category WHERE parent_id IS NULL
            UNION ALL
            SELECT k.id, k.parent_id, walk.path || k.id FROM cases_category k JOIN walk ON k.parent_id = walk.id
        )
        SELECT walk.id, COALESCE(walk.path[2], walk.path[1]) AS group_id FROM walk
    )"""


def _one(sql: str, params: list):
    with reading.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def dashboard_summary(*, cases: CaseFilter) -> dict:
    """Trend by month, light totals of open cases, streets and units ranked by on-time rate."""
    where, params = cases.where("c")
    light = LIGHT_SQL.format(c="c")
    on_time = ON_TIME_SQL.format(c="c")
    sql = f"""
        WITH f AS (
            SELECT c.*, {light} AS light, {on_time} AS on_time FROM cases_case c WHERE {where}
        ),
        months AS (
            SELECT to_char(date_trunc('month', received_at AT TIME ZONE %s), 'YYYY-MM') AS month,
                   count(*) AS received,
                   count(*) FILTER (WHERE state = 'closed') AS closed,
                   count(*) FILTER (WHERE on_time) AS closed_on_time
            FROM f GROUP BY 1
        ),
        lights AS (SELECT light, count(*) AS n FROM f WHERE light <> 'none' GROUP BY light),
        streets AS (
            SELECT s.code, s.name, count(f.id) AS received,
                   count(f.id) FILTER (WHERE f.state = 'closed') AS closed,
                   count(f.id) FILTER (WHERE f.on_time) AS closed_on_time
            FROM grids_street s LEFT JOIN f ON f.street_id = s.id GROUP BY s.id
            HAVING count(f.id) > 0 OR NOT %s
        ),
        units AS (
            SELECT u.code, u.name, u.type, count(*) AS received,
                   count(*) FILTER (WHERE f.state = 'closed') AS closed,
                   count(*) FILTER (WHERE f.on_time) AS closed_on_time
            FROM f JOIN grids_unit u ON u.id = f.responsible_unit_id GROUP BY u.id
        )
        SELECT json_build_object(
            'total', (SELECT count(*) FROM f),
            'months', (SELECT COALESCE(json_agg(m ORDER BY m.month), '[]') FROM months m),
            'lights', (SELECT COALESCE(json_object_agg(light, n), '{{}}') FROM lights),
            'streets', (SELECT COALESCE(json_agg(json_build_object(
                    'code', code, 'name', name, 'received', received, 'closed', closed,
                    'closed_on_time', closed_on_time,
                    'on_time_rate', CASE WHEN closed > 0 THEN round(100.0 * closed_on_time / closed, 1) END)
                ORDER BY (closed = 0), 1.0 * closed_on_time / NULLIF(closed, 0) DESC, received DESC, code), '[]')
                FROM streets),
            'units', (SELECT COALESCE(json_agg(json_build_object(
                    'code', code, 'name', name, 'type', type, 'received', received, 'closed', closed,
                    'closed_on_time', closed_on_time,
                    'on_time_rate', CASE WHEN closed > 0 THEN round(100.0 * closed_on_time / closed, 1) END)
                ORDER BY (closed = 0), 1.0 * closed_on_time / NULLIF(closed, 0) DESC, received DESC, code), '[]')
                FROM units)
        )
    """
    regional = bool(cases.street or cases.community)
    return _one(sql, [*params, _tz(), regional])


def _tz() -> str:
    from django.conf import settings

    return settings.TIME_ZONE


def public_stats(*, months: int = 12) -> dict:
    """政务公开: per street and month, cases received, closed and closed on time, by category group."""
    on_time = ON_TIME_SQL.format(c="c")
    sql = f"""
        WITH {CATEGORY_GROUP_CTE},
        f AS (
            SELECT c.street_id, cp.group_id, c.state,
                   to_char(date_trunc('month', c.received_at AT TIME ZONE %s), 'YYYY-MM') AS month,
                   {on_time} AS on_time
            FROM cases_case c JOIN cat_path cp ON cp.id = c.category_id
            WHERE c.received_at >= date_trunc('month', now() AT TIME ZONE %s) - make_interval(months => %s - 1)
              AND c.state <> 'rejected'
        ),
        rows AS (
            SELECT s.code AS street_code, s.name AS street, f.month, g.code AS group_code,
                   g.name_zh AS group_zh, g.name_en AS group_en,
                   count(*) AS received, count(*) FILTER (WHERE f.state = 'closed') AS closed,
                   count(*) FILTER (WHERE f.on_time) AS closed_on_time
            FROM f JOIN grids_street s ON s.id = f.street_id JOIN cases_category g ON g.id = f.group_id
            GROUP BY s.code, s.name, f.month, g.code, g.name_zh, g.name_en
        )
        SELECT json_build_object(
            'rows', (SELECT COALESCE(json_agg(r ORDER BY r.street_code, r.month, r.group_code), '[]') FROM rows r),
            'streets', (SELECT COALESCE(json_agg(json_build_object('code', code, 'name', name) ORDER BY code), '[]')
                        FROM grids_street)
        )
    """
    tz = _tz()
    return _one(sql, [tz, tz, months])


def public_grid_figures(*, months: int = 12) -> str:
    """Grid outlines with their case counts of the last months, as a JSON array of GeoJSON Features.

    Only counts per grid: no case, person or exact location is disclosed. Outlines are simplified.
    """
    sql = """
        WITH k AS (
            SELECT grid_id, count(*) AS received,
                   count(*) FILTER (WHERE state = 'closed') AS closed
            FROM cases_case
            WHERE received_at >= date_trunc('month', now() AT TIME ZONE %s) - make_interval(months => %s - 1)
              AND state <> 'rejected' AND grid_id IS NOT NULL
            GROUP BY grid_id
        ),
        p AS (
            SELECT b.grid_id, count(*) AS people FROM grids_person pe
            JOIN grids_household h ON h.id = pe.household_id JOIN grids_building b ON b.id = h.building_id
            GROUP BY b.grid_id
        )
        SELECT COALESCE(json_agg(json_build_object(
            'type', 'Feature', 'id', g.id,
            'geometry', ST_AsGeoJSON(ST_SimplifyPreserveTopology(g.boundary, 0.00005), 5)::json,
            'properties', json_build_object(
                'code', g.code, 'name', g.name, 'community', co.name, 'street', s.name,
                'received', COALESCE(k.received, 0), 'closed', COALESCE(k.closed, 0),
                'per_1000', CASE WHEN p.people > 0 THEN round(1000.0 * COALESCE(k.received, 0) / p.people, 1) END)
        ) ORDER BY g.code), '[]')::text
        FROM grids_grid g JOIN grids_community co ON co.id = g.community_id JOIN grids_street s ON s.id = co.street_id
        LEFT JOIN k ON k.grid_id = g.id LEFT JOIN p ON p.grid_id = g.id
    """
    return _one(sql, [_tz(), months])
