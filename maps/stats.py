"""Figures for the managers' dashboard and the public page: each a single SQL statement returning JSON.

No statement here returns a person, a photo or a case's location: only counts by month, street, unit, grid and
category group.
"""

from dataclasses import replace
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from cases.periods import partial_month
from gridmgmt.reads import reading
from maps.selectors import LIGHT_SQL, ON_TIME_SQL, CaseFilter, Region, figures

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


# The conditions that keep a ranking's regions inside the drilled region, by the levels on the region's path.
# s = grids_street, co = grids_community, g = grids_grid.
_PATH_CONDITION = {
    "district": "s.district_id = %s",
    "street": "s.id = %s",
    "community": "co.id = %s",
    "grid": "g.id = %s",
}
_DEPTH = {"district": 0, "street": 1, "community": 2, "grid": 3}


def _within(region: Region, depth: int) -> tuple[str, list]:
    """SQL keeping the regions of a ranking `depth` levels down (1 streets, 2 communities, 3 grids) that lie inside
    the drilled region."""
    parts, params = ["TRUE"], []
    for step in region.path:
        if _DEPTH[step["level"]] <= depth:
            parts.append(_PATH_CONDITION[step["level"]])
            params.append(step["id"])
    return " AND ".join(parts), params


def _ranked(cte: str) -> str:
    return f"""(SELECT COALESCE(json_agg(json_build_object(
                    'code', code, 'name', name, 'received', received, 'closed', closed,
                    'closed_on_time', closed_on_time,
                    'on_time_rate', CASE WHEN closed > 0 THEN round(100.0 * closed_on_time / closed, 1) END)
                ORDER BY (closed = 0), 1.0 * closed_on_time / NULLIF(closed, 0) DESC, received DESC, code), '[]')
                FROM {cte})"""


def dashboard_summary(*, cases: CaseFilter, region: Region | None = None) -> dict:
    """Trend by month (the current month marked partial), light totals of open cases, and rankings inside the
    region: streets, communities, grids and units by on-time rate, grid workers by reports and verifications."""
    region = region or Region(level="all")
    where, params = cases.where("c")
    # Verifications count by when they were done, of the region's cases whenever those came in.
    where_any_time, params_any_time = replace(cases, date_from=None, date_to=None).where("c")
    window, window_params = ["TRUE"], []
    if cases.date_from:
        window.append("x.created_at >= %s")
        window_params.append(timezone.make_aware(datetime.combine(cases.date_from, time.min)))
    if cases.date_to:
        window.append("x.created_at < %s")
        window_params.append(timezone.make_aware(datetime.combine(cases.date_to + timedelta(days=1), time.min)))
    streets_in, streets_params = _within(region, 1)
    communities_in, communities_params = _within(region, 2)
    grids_in, grids_params = _within(region, 3)
    light = LIGHT_SQL.format(c="c")
    on_time = ON_TIME_SQL.format(c="c")
    # The verifications' cases are read only when a filter on the cases needs them (a million index probes else).
    checked_cases = "" if where_any_time == "TRUE" else f"JOIN cases_case c ON c.id = x.case_id AND {where_any_time}"
    counts = """COALESCE(sum(r.received), 0) AS received, COALESCE(sum(r.closed), 0) AS closed,
                COALESCE(sum(r.closed_on_time), 0) AS closed_on_time"""
    sql = f"""
        WITH f AS NOT MATERIALIZED (
            -- Only the columns the figures use: the scan of every case in the region reads no more than it must.
            SELECT c.id, c.state, c.received_at, c.street_id, c.community_id, c.grid_id, c.responsible_unit_id,
                   c.reporter_id, c.closed_as, {light} AS light, {on_time} AS on_time
            FROM cases_case c WHERE {where}
        ),
        -- (Named after grouping: to_char on every case took longer than the rest of the month's figures.)
        months AS (
            SELECT to_char(month, 'YYYY-MM') AS month, received, closed, closed_on_time FROM (
                SELECT date_trunc('month', received_at AT TIME ZONE %s) AS month, count(*) AS received,
                       count(*) FILTER (WHERE state = 'closed') AS closed,
                       count(*) FILTER (WHERE on_time) AS closed_on_time
                FROM f GROUP BY 1
            ) by_month
        ),
        lights AS (SELECT light, count(*) AS n FROM f WHERE light <> 'none' GROUP BY light),
        -- The cases by street, community and grid in one pass; the three rankings sum these few hundred rows.
        regions AS (
            SELECT street_id, community_id, grid_id, count(*) AS received,
                   count(*) FILTER (WHERE state = 'closed') AS closed, count(*) FILTER (WHERE on_time) AS closed_on_time
            FROM f GROUP BY 1, 2, 3
        ),
        streets AS (
            SELECT s.code, s.name, {counts}
            FROM grids_street s LEFT JOIN regions r ON r.street_id = s.id WHERE {streets_in} GROUP BY s.id
        ),
        communities AS (
            SELECT co.code, co.name, {counts}
            FROM grids_community co JOIN grids_street s ON s.id = co.street_id
            LEFT JOIN regions r ON r.community_id = co.id
            WHERE {communities_in} GROUP BY co.id
        ),
        grids AS (
            SELECT g.code, g.name, {counts}
            FROM grids_grid g JOIN grids_community co ON co.id = g.community_id
            JOIN grids_street s ON s.id = co.street_id LEFT JOIN regions r ON r.grid_id = g.id
            WHERE {grids_in} GROUP BY g.id
        ),
        units AS (
            SELECT u.code, u.name, u.type, count(*) AS received,
                   count(*) FILTER (WHERE f.state = 'closed') AS closed,
                   count(*) FILTER (WHERE f.on_time) AS closed_on_time
            FROM f JOIN grids_unit u ON u.id = f.responsible_unit_id GROUP BY u.id
        ),
        reports AS (
            SELECT reporter_id AS user_id, count(*) AS reports,
                   count(*) FILTER (WHERE state NOT IN ('reported', 'rejected') AND closed_as <> 'merged') AS valid
            FROM f WHERE reporter_id IS NOT NULL GROUP BY 1
        ),
        checks AS (
            SELECT x.actor_id AS user_id, count(*) AS verifications,
                   count(*) FILTER (WHERE (x.data->'step_ended'->>'on_time')::boolean) AS verified_on_time
            FROM cases_caseevent x {checked_cases}
            WHERE x.action IN ('verify', 'rework') AND x.actor_id IS NOT NULL AND {" AND ".join(window)}
            GROUP BY 1
        ),
        workers AS (
            SELECT u.username AS code, COALESCE(NULLIF(trim(u.first_name || ' ' || u.last_name), ''), u.username)
                       AS name,
                   COALESCE(r.reports, 0) AS reports, COALESCE(r.valid, 0) AS valid_reports,
                   COALESCE(k.verifications, 0) AS verifications, COALESCE(k.verified_on_time, 0) AS verified_on_time
            FROM grids_staff st JOIN auth_user u ON u.id = st.user_id
            LEFT JOIN reports r ON r.user_id = st.user_id LEFT JOIN checks k ON k.user_id = st.user_id
            WHERE st.role = 'worker' AND (r.reports > 0 OR k.verifications > 0 OR EXISTS (
                SELECT 1 FROM grids_staff_grids sg JOIN grids_grid g ON g.id = sg.grid_id
                JOIN grids_community co ON co.id = g.community_id JOIN grids_street s ON s.id = co.street_id
                WHERE sg.staff_id = st.id AND {grids_in}))
        )
        SELECT json_build_object(
            'total', (SELECT COALESCE(sum(received), 0) FROM months),
            'months', (SELECT COALESCE(json_agg(m ORDER BY m.month), '[]') FROM months m),
            'lights', (SELECT COALESCE(json_object_agg(light, n), '{{}}') FROM lights),
            'streets', {_ranked("streets")},
            'communities', {_ranked("communities")},
            'grids', {_ranked("grids")},
            'units', (SELECT COALESCE(json_agg(json_build_object(
                    'code', code, 'name', name, 'type', type, 'received', received, 'closed', closed,
                    'closed_on_time', closed_on_time,
                    'on_time_rate', CASE WHEN closed > 0 THEN round(100.0 * closed_on_time / closed, 1) END)
                ORDER BY (closed = 0), 1.0 * closed_on_time / NULLIF(closed, 0) DESC, received DESC, code), '[]')
                FROM units),
            'workers', (SELECT COALESCE(json_agg(json_build_object(
                    'code', code, 'name', name, 'reports', reports, 'valid_reports', valid_reports,
                    'valid_rate', CASE WHEN reports > 0 THEN round(100.0 * valid_reports / reports, 1) END,
                    'verifications', verifications, 'verified_on_time', verified_on_time,
                    'on_time_verify_rate',
                        CASE WHEN verifications > 0 THEN round(100.0 * verified_on_time / verifications, 1) END)
                ORDER BY valid_reports DESC, reports DESC, verified_on_time DESC, code), '[]') FROM workers)
        )
    """
    summary = figures(
        sql,
        [
            *params,
            _tz(),
            *streets_params,
            *communities_params,
            *grids_params,
            *(params_any_time if checked_cases else []),
            *window_params,
            *grids_params,
        ],
    )
    summary["region"] = region.as_dict()
    mark_partial_months(summary["months"], key="month", date_to=cases.date_to, date_from=cases.date_from)
    return summary


def mark_partial_months(rows: list[dict], *, key: str, date_to: date | None = None, date_from: date | None = None):
    """Mark each month the figures do not cover whole as `partial` (本月至今; cases.periods.partial_month)."""
    today = timezone.localdate()
    for row in rows:
        row["partial"] = partial_month(row[key], today=today, start=date_from, end=date_to)


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
