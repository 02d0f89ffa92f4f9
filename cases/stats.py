"""Statistics and assessment (考核评价) after GB/T 30428's indicators, per region and period, each computed in SQL.

The figures are read from the cases and their events: every event that ends a step carries `step_ended`
(step, seq, the unit that held the case, limit, working hours taken, on time) and every event that starts one
carries `step_started` (see cases/README.md). The formulas are documented in cases/README.md ("Statistics").

A `Scope` says which cases count (a region, a period, and the cases the asking user may see, as
`selectors.visible_cases`) and how reporters are grouped (by account, or by grid and source when the asker may
see figures only). Each section returns {"columns": [{code, label}], "rows": [...]} or a list of indicators
{code, label, value}; labels are Chinese (English when the request's language is English).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cases.models import State
from cases.workflow import TERMINAL
from gridmgmt import times

LEVELS = ("district", "street", "community", "grid")
OPEN_STATES_SQL = "(" + ", ".join(f"'{state.value}'" for state in State if state not in TERMINAL) + ")"

# Where each level's cases are (c = cases_case).
REGION_SQL = {
    "all": "TRUE",
    "district": "c.street_id IN (SELECT id FROM grids_street WHERE district_id = %(region)s)",
    "street": "c.street_id = %(region)s",
    "community": "c.community_id = %(region)s",
    "grid": "c.grid_id = %(region)s",
}
# Residents of a region: people of the households of the buildings of its grids.
RESIDENTS_SQL = {
    "all": "TRUE",
    "district": "s.district_id = %(region)s",
    "street": "cm.street_id = %(region)s",
    "community": "g.community_id = %(region)s",
    "grid": "g.id = %(region)s",
}

LABELS = {
    # Summary (区域概况)
    "reported": _("上报数"),
    "valid_reports": _("有效上报数"),
    "registered": _("立案数"),
    "rejected": _("不予立案数"),
    "dispatched": _("派遣数"),
    "closed": _("结案数"),
    "closed_on_time": _("按期结案数"),
    "on_time_close_rate": _("按期结案率"),
    "closure_rate": _("结案率"),
    "on_spot": _("就地解决数"),
    "open_now": _("在办案件数"),
    "green_now": _("绿灯"),
    "yellow_now": _("黄灯"),
    "red_now": _("红灯"),
    # Reporters (信息采集)
    "valid_rate": _("有效上报率"),
    "verifications": _("核查数"),
    "verified_on_time": _("按时核查数"),
    "on_time_verify_rate": _("按时核查率"),
    # Units (处置单位)
    "assigned": _("应处置数"),
    "resolved": _("已处置数"),
    "resolved_on_time": _("按时处置数"),
    "on_time_resolve_rate": _("按时处置率"),
    "overdue": _("超时数"),
    "pending": _("在办未超时数"),
    "returned": _("回退数"),
    "rework": _("返工数"),
    "avg_process_hours": _("平均处置用时（工作小时）"),
    # Dispatchers (派遣)
    "dispatched_on_time": _("按时派遣数"),
    "on_time_dispatch_rate": _("按时派遣率"),
    "accurate": _("准确派遣数"),
    "accurate_rate": _("准确派遣率"),
    "registered_on_time": _("按时立案数"),
    "on_time_register_rate": _("按时立案率"),
    # Steps (环节用时)
    "count": _("次数"),
    "avg_hours": _("平均用时（工作小时）"),
    "median_hours": _("用时中位数（工作小时）"),
    "avg_limit_hours": _("平均时限（工作小时）"),
    "on_time": _("按时数"),
    "on_time_rate": _("按时率"),
    # Trend (趋势)
    "avg_hours_process": _("平均处置用时（工作小时）"),
}
STEP_LABELS = {  # steps (环节), not the actions of the same name
    "register": pgettext_lazy("step", "立案"),
    "dispatch": pgettext_lazy("step", "派遣"),
    "process": pgettext_lazy("step", "处置"),
    "verify": pgettext_lazy("step", "核查"),
    "close": pgettext_lazy("step", "结案"),
}
SOURCE_LABELS = {
    "handheld": _("网格员上报"),
    "desk": _("窗口受理"),
    "hotline": _("12345热线"),
    "open311": _("Open311"),
    "visit": _("来访"),
    "letter": _("来信"),
    "online": _("网络"),
}


def columns(codes: list[str]) -> list[dict]:
    return [{"code": code, "label": str(LABELS[code])} for code in codes]


def rate(part, whole) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


# --- Which cases count -----------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    level: str  # "all" or one of LEVELS
    region_id: int | None
    start: date  # inclusive
    end: date  # inclusive
    visible: QuerySet | None = None  # None: every case; else the cases the user may see (selectors.visible_cases)
    reporters_by: str = "account"  # "account", "own" (only this user's row), or "grid" (figures only)
    user_id: int | None = None

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=timezone.get_current_timezone())

    @property
    def end_at(self) -> datetime:  # exclusive
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=timezone.get_current_timezone())

    def cases_cte(self) -> tuple[str, dict]:
        """`c`: the cases of the region that the user may see (all periods; each section applies the period)."""
        params = {"region": self.region_id, "start": self.start_at, "end": self.end_at, "tz": tz_name()}
        where = [REGION_SQL[self.level]]
        if self.visible is not None:
            sql, visible_params = self.visible.values("id").query.sql_with_params()
            for index, value in enumerate(visible_params):
                sql = sql.replace("%s", f"%(v{index})s", 1)
                params[f"v{index}"] = value
            where.append(f"c.id IN ({sql})")
        cte = f"""c AS MATERIALIZED (
            SELECT c.id, c.reporter_id, c.source, c.state, c.closed_as, c.received_at, c.closed_at, c.deadline_at,
                   c.grid_id, c.street_id, c.community_id, c.step_seq, c.step_yellow_at, c.step_deadline_at,
                   c.suspended_at, c.responsible_unit_id
            FROM cases_case c WHERE {" AND ".join(where)}
        )"""
        return cte, params


def tz_name() -> str:
    return str(timezone.get_current_timezone())


def _fetch(sql: str, params: dict) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# Events of the region's cases in the period.
EVENTS_CTE = """e AS MATERIALIZED (
    SELECT x.id, x.case_id, x.actor_id, x.unit_id, x.action, x.data, x.created_at
    FROM cases_caseevent x JOIN c ON c.id = x.case_id
    WHERE x.created_at >= %(start)s AND x.created_at < %(end)s
)"""


# --- Summary ---------------------------------------------------------------------------------

SUMMARY_SQL = """
WITH {cases}, {events}
SELECT
    (SELECT count(*) FROM c WHERE received_at >= %(start)s AND received_at < %(end)s) AS reported,
    (SELECT count(*) FROM c WHERE received_at >= %(start)s AND received_at < %(end)s
        AND state NOT IN ('reported', 'rejected') AND closed_as <> 'merged') AS valid_reports,
    (SELECT count(*) FROM e WHERE action = 'register') AS registered,
    (SELECT count(*) FROM e WHERE action = 'reject') AS rejected,
    (SELECT count(*) FROM e WHERE action = 'dispatch') AS dispatched,
    (SELECT count(*) FROM c WHERE closed_at >= %(start)s AND closed_at < %(end)s
        AND closed_as IN ('normal', 'on_spot')) AS closed,
    (SELECT count(*) FROM c WHERE closed_at >= %(start)s AND closed_at < %(end)s
        AND closed_as IN ('normal', 'on_spot') AND (deadline_at IS NULL OR closed_at <= deadline_at)) AS closed_on_time,
    (SELECT count(*) FROM c WHERE received_at >= %(start)s AND received_at < %(end)s AND state = 'closed'
        AND closed_as <> 'merged') AS received_closed,
    (SELECT count(*) FROM c WHERE received_at >= %(start)s AND received_at < %(end)s
        AND state <> 'rejected' AND closed_as <> 'merged') AS received_to_close,
    (SELECT count(*) FROM e WHERE action = 'close_on_spot') AS on_spot,
    (SELECT count(*) FROM c WHERE state IN {open}) AS open_now,
    (SELECT count(*) FROM c WHERE state IN {open} AND step_deadline_at IS NOT NULL
        AND step_yellow_at > COALESCE(suspended_at, now())) AS green_now,
    (SELECT count(*) FROM c WHERE state IN {open} AND step_yellow_at <= COALESCE(suspended_at, now())
        AND step_deadline_at >= COALESCE(suspended_at, now())) AS yellow_now,
    (SELECT count(*) FROM c WHERE state IN {open} AND step_deadline_at < COALESCE(suspended_at, now())) AS red_now
"""
SUMMARY_CODES = [
    "reported",
    "valid_reports",
    "registered",
    "rejected",
    "dispatched",
    "closed",
    "closed_on_time",
    "on_time_close_rate",
    "closure_rate",
    "on_spot",
    "open_now",
    "green_now",
    "yellow_now",
    "red_now",
]


def summary(scope: Scope) -> list[dict]:
    """区域概况: reports, registrations, closures (on time), and the open cases' lights now."""
    cases, params = scope.cases_cte()
    row = _fetch(SUMMARY_SQL.format(cases=cases, events=EVENTS_CTE, open=OPEN_STATES_SQL), params)[0]
    row["on_time_close_rate"] = rate(row["closed_on_time"], row["closed"])
    row["closure_rate"] = rate(row.pop("received_closed"), row.pop("received_to_close"))
    return [{"code": code, "label": str(LABELS[code]), "value": row[code]} for code in SUMMARY_CODES]


# --- Reporters -------------------------------------------------------------------------------

REPORTERS_SQL = """
WITH {cases}, {events},
reports AS (
    SELECT {report_key} AS key, count(*) AS reports,
           count(*) FILTER (WHERE state NOT IN ('reported', 'rejected') AND closed_as <> 'merged') AS valid_reports
    FROM c WHERE received_at >= %(start)s AND received_at < %(end)s {report_filter}
    GROUP BY 1
),
checks AS (
    SELECT {check_key} AS key, count(*) AS verifications,
           count(*) FILTER (WHERE (e.data->'step_ended'->>'on_time')::boolean) AS verified_on_time
    FROM e JOIN c ON c.id = e.case_id
    WHERE e.action IN ('verify', 'rework') {check_filter}
    GROUP BY 1
)
SELECT COALESCE(reports.key, checks.key) AS key, COALESCE(reports.reports, 0) AS reports,
       COALESCE(reports.valid_reports, 0) AS valid_reports, COALESCE(checks.verifications, 0) AS verifications,
       COALESCE(checks.verified_on_time, 0) AS verified_on_time
FROM reports FULL JOIN checks ON checks.key = reports.key
"""
REPORTER_CODES = ["reported", "valid_reports", "valid_rate", "verifications", "verified_on_time", "on_time_verify_rate"]


def reporters(scope: Scope) -> dict:
    """信息采集: reports, valid reports and on-time verifications, by reporting account (and source), or — for those
    who may see figures only — by grid and source; a worker sees only their own row."""
    cases, params = scope.cases_cte()
    if scope.reporters_by == "grid":
        report_key = "CASE WHEN c.source = 'handheld' THEN 'grid:' || c.grid_id ELSE 'source:' || c.source END"
        check_key = "CASE WHEN c.grid_id IS NULL THEN 'source:none' ELSE 'grid:' || c.grid_id END"
        report_filter = check_filter = ""
    else:
        report_key = "CASE WHEN c.reporter_id IS NULL THEN 'source:' || c.source ELSE 'user:' || c.reporter_id END"
        check_key = (
            "CASE WHEN e.actor_id IS NULL THEN 'unit:' || COALESCE(e.unit_id::text, '') ELSE 'user:' || e.actor_id END"
        )
        report_filter = check_filter = ""
        if scope.reporters_by == "own":
            params["me"] = scope.user_id
            report_filter = "AND c.reporter_id = %(me)s"
            check_filter = "AND e.actor_id = %(me)s"
    sql = REPORTERS_SQL.format(
        cases=cases,
        events=EVENTS_CTE,
        report_key=report_key,
        check_key=check_key,
        report_filter=report_filter,
        check_filter=check_filter,
    )
    rows = _fetch(sql, params)
    names = _names(rows)
    out = []
    for row in rows:
        kind, _sep, ident = row["key"].partition(":")
        item = {"kind": kind, **names.get(row["key"], {"code": ident, "name": ident})}
        item.update(
            reported=row["reports"],
            valid_reports=row["valid_reports"],
            valid_rate=rate(row["valid_reports"], row["reports"]),
            verifications=row["verifications"],
            verified_on_time=row["verified_on_time"],
            on_time_verify_rate=rate(row["verified_on_time"], row["verifications"]),
        )
        out.append(item)
    out.sort(key=lambda item: (-item["reported"], -item["verifications"], item["kind"], str(item["code"])))
    return {"group_by": scope.reporters_by, "columns": columns(REPORTER_CODES), "rows": out}


def _names(rows: list[dict]) -> dict[str, dict]:
    """Display names for the keys: accounts (username and display name), grids, units, sources."""
    from django.contrib.auth import get_user_model

    from grids.models import Grid, Unit

    ids: dict[str, set] = {"user": set(), "grid": set(), "unit": set()}
    for row in rows:
        kind, _sep, ident = row["key"].partition(":")
        if kind in ids and ident:
            ids[kind].add(int(ident))
    names: dict[str, dict] = {}
    for user in get_user_model().objects.filter(pk__in=ids["user"]):
        names[f"user:{user.pk}"] = {"code": user.get_username(), "name": user.get_full_name() or user.get_username()}
    for grid in Grid.objects.filter(pk__in=ids["grid"]).only("code", "name"):
        names[f"grid:{grid.pk}"] = {"code": grid.code, "name": grid.name}
    for unit in Unit.objects.filter(pk__in=ids["unit"]).only("code", "name"):
        names[f"unit:{unit.pk}"] = {"code": unit.code, "name": unit.name}
    for source, label in SOURCE_LABELS.items():
        names[f"source:{source}"] = {"code": source, "name": str(label)}
    names["unit:"] = {"code": "system", "name": str(_("系统"))}
    return names


# --- Units (处置) ----------------------------------------------------------------------------

UNITS_SQL = """
WITH {cases}, {events},
d AS (
    SELECT e.case_id, (e.data->>'to_unit')::bigint AS unit_id, (e.data->'step_started'->>'seq')::int AS seq
    FROM e WHERE e.action = 'dispatch'
),
o AS (
    SELECT x.case_id, (x.data->'step_ended'->>'seq')::int AS seq, x.action,
           (x.data->'step_ended'->>'on_time')::boolean AS on_time, (x.data->'step_ended'->>'hours')::float AS hours
    FROM cases_caseevent x JOIN c ON c.id = x.case_id
    WHERE x.created_at >= %(start)s AND x.data->'step_ended'->>'step' = 'process'
),
outcome AS (
    SELECT d.unit_id, o.action, o.on_time, o.hours,
           o.case_id IS NULL AND cc.step_seq = d.seq
               AND cc.step_deadline_at < COALESCE(cc.suspended_at, now()) AS running_late
    FROM d JOIN c cc ON cc.id = d.case_id LEFT JOIN o ON o.case_id = d.case_id AND o.seq = d.seq
),
per_unit AS (
    SELECT unit_id,
        count(*) FILTER (WHERE action IS DISTINCT FROM 'return') AS assigned,
        count(*) FILTER (WHERE action = 'resolve') AS resolved,
        count(*) FILTER (WHERE action = 'resolve' AND on_time) AS resolved_on_time,
        count(*) FILTER (WHERE (action IS NOT NULL AND action <> 'return' AND NOT on_time) OR running_late) AS overdue,
        count(*) FILTER (WHERE action IS NULL AND NOT running_late) AS pending,
        count(*) FILTER (WHERE action = 'return') AS returned,
        avg(hours) FILTER (WHERE action = 'resolve') AS avg_process_hours
    FROM outcome GROUP BY unit_id
),
reworks AS (
    SELECT (e.data->'step_ended'->>'unit')::bigint AS unit_id, count(*) AS rework
    FROM e WHERE e.action = 'rework' GROUP BY 1
)
SELECT u.id, u.code, u.name, u.type,
       COALESCE(p.assigned, 0) AS assigned, COALESCE(p.resolved, 0) AS resolved,
       COALESCE(p.resolved_on_time, 0) AS resolved_on_time, COALESCE(p.overdue, 0) AS overdue,
       COALESCE(p.pending, 0) AS pending, COALESCE(p.returned, 0) AS returned, COALESCE(r.rework, 0) AS rework,
       p.avg_process_hours
FROM (SELECT unit_id FROM per_unit UNION SELECT unit_id FROM reworks) k
JOIN grids_unit u ON u.id = k.unit_id
LEFT JOIN per_unit p ON p.unit_id = k.unit_id
LEFT JOIN reworks r ON r.unit_id = k.unit_id
"""
UNIT_CODES = [
    "assigned",
    "resolved",
    "resolved_on_time",
    "on_time_resolve_rate",
    "overdue",
    "pending",
    "returned",
    "rework",
    "avg_process_hours",
]


def units(scope: Scope) -> dict:
    """处置单位: of the cases dispatched to each unit in the period — to handle, handled on time, overdue, returned —
    its rework, and its average working hours to handle."""
    cases, params = scope.cases_cte()
    rows = _fetch(UNITS_SQL.format(cases=cases, events=EVENTS_CTE), params)
    out = []
    for row in rows:
        due = row["assigned"] - row["pending"]
        out.append(
            {
                "unit": {"id": row["id"], "code": row["code"], "name": row["name"], "type": row["type"]},
                "assigned": row["assigned"],
                "resolved": row["resolved"],
                "resolved_on_time": row["resolved_on_time"],
                "on_time_resolve_rate": rate(row["resolved_on_time"], due),
                "overdue": row["overdue"],
                "pending": row["pending"],
                "returned": row["returned"],
                "rework": row["rework"],
                "avg_process_hours": _round(row["avg_process_hours"]),
            }
        )
    out.sort(key=lambda item: (item["on_time_resolve_rate"] is None, -(item["on_time_resolve_rate"] or 0),
                               -item["assigned"], item["unit"]["code"]))  # fmt: skip
    return {"columns": columns(UNIT_CODES), "rows": out}


# --- Dispatchers (派遣) -----------------------------------------------------------------------

DISPATCHERS_SQL = """
WITH {cases}, {events},
dd AS (
    SELECT e.case_id, e.unit_id, e.created_at, (e.data->>'to_unit')::bigint AS to_unit,
           (e.data->'step_ended'->>'on_time')::boolean AS on_time
    FROM e WHERE e.action = 'dispatch'
),
per_desk AS (
    SELECT dd.unit_id, count(*) AS dispatched, count(*) FILTER (WHERE dd.on_time) AS dispatched_on_time,
           count(*) FILTER (WHERE NOT EXISTS (
               SELECT 1 FROM cases_caseevent r
               WHERE r.case_id = dd.case_id AND r.action = 'return' AND r.created_at > dd.created_at
                 AND (r.data->>'from_unit')::bigint = dd.to_unit)) AS accurate
    FROM dd GROUP BY dd.unit_id
),
reg AS (
    SELECT e.unit_id, count(*) AS registered,
           count(*) FILTER (WHERE (e.data->'step_ended'->>'on_time')::boolean) AS registered_on_time
    FROM e WHERE e.action = 'register' GROUP BY e.unit_id
)
SELECT k.unit_id, u.code, u.name, u.type,
       COALESCE(p.dispatched, 0) AS dispatched, COALESCE(p.dispatched_on_time, 0) AS dispatched_on_time,
       COALESCE(p.accurate, 0) AS accurate, COALESCE(r.registered, 0) AS registered,
       COALESCE(r.registered_on_time, 0) AS registered_on_time
FROM (SELECT unit_id FROM per_desk UNION SELECT unit_id FROM reg) k
LEFT JOIN grids_unit u ON u.id = k.unit_id
LEFT JOIN per_desk p ON p.unit_id IS NOT DISTINCT FROM k.unit_id
LEFT JOIN reg r ON r.unit_id IS NOT DISTINCT FROM k.unit_id
"""
DISPATCHER_CODES = [
    "registered",
    "registered_on_time",
    "on_time_register_rate",
    "dispatched",
    "dispatched_on_time",
    "on_time_dispatch_rate",
    "accurate",
    "accurate_rate",
]


def dispatchers(scope: Scope) -> dict:
    """派遣: per desk (the unit of the dispatcher who acted): registrations and dispatches, on time, and dispatches
    not returned afterwards by the unit they went to."""
    cases, params = scope.cases_cte()
    rows = _fetch(DISPATCHERS_SQL.format(cases=cases, events=EVENTS_CTE), params)
    out = []
    for row in rows:
        unit = (
            {"id": row["unit_id"], "code": row["code"], "name": row["name"], "type": row["type"]}
            if row["unit_id"]
            else {"id": None, "code": "system", "name": str(_("系统")), "type": ""}
        )
        out.append(
            {
                "unit": unit,
                "registered": row["registered"],
                "registered_on_time": row["registered_on_time"],
                "on_time_register_rate": rate(row["registered_on_time"], row["registered"]),
                "dispatched": row["dispatched"],
                "dispatched_on_time": row["dispatched_on_time"],
                "on_time_dispatch_rate": rate(row["dispatched_on_time"], row["dispatched"]),
                "accurate": row["accurate"],
                "accurate_rate": rate(row["accurate"], row["dispatched"]),
            }
        )
    out.sort(key=lambda item: (-item["dispatched"], -item["registered"], str(item["unit"]["code"])))
    return {"columns": columns(DISPATCHER_CODES), "rows": out}


# --- Steps (环节用时) -------------------------------------------------------------------------

STEPS_SQL = """
WITH {cases}, {events}
SELECT e.data->'step_ended'->>'step' AS step, count(*) AS count,
       avg((e.data->'step_ended'->>'hours')::float) AS avg_hours,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY (e.data->'step_ended'->>'hours')::float) AS median_hours,
       avg((e.data->'step_ended'->>'limit_hours')::float) AS avg_limit_hours,
       count(*) FILTER (WHERE (e.data->'step_ended'->>'on_time')::boolean) AS on_time
FROM e WHERE e.data ? 'step_ended'
GROUP BY 1
"""
STEP_CODES = ["count", "avg_hours", "median_hours", "avg_limit_hours", "on_time", "on_time_rate"]


def steps(scope: Scope) -> dict:
    """环节用时: for each step ended in the period, how many, the average and median working hours, the average
    limit, and the share ended by the deadline."""
    cases, params = scope.cases_cte()
    found = {row["step"]: row for row in _fetch(STEPS_SQL.format(cases=cases, events=EVENTS_CTE), params)}
    out = []
    for step, label in STEP_LABELS.items():
        row = found.get(step, {"count": 0, "avg_hours": None, "median_hours": None, "avg_limit_hours": None})
        on_time = row.get("on_time", 0)
        out.append(
            {
                "step": step,
                "label": str(label),
                "count": row["count"],
                "avg_hours": _round(row["avg_hours"]),
                "median_hours": _round(row["median_hours"]),
                "avg_limit_hours": _round(row["avg_limit_hours"]),
                "on_time": on_time,
                "on_time_rate": rate(on_time, row["count"]),
            }
        )
    return {"columns": columns(STEP_CODES), "rows": out}


def _round(value) -> float | None:
    return None if value is None else round(float(value), 2)


# --- Trend -----------------------------------------------------------------------------------

TREND_SQL = """
WITH {cases}, {events},
months AS (
    SELECT generate_series(date_trunc('month', %(start)s::timestamptz AT TIME ZONE %(tz)s),
                           date_trunc('month', (%(end)s::timestamptz - interval '1 second') AT TIME ZONE %(tz)s),
                           interval '1 month') AS month
),
received AS (
    SELECT date_trunc('month', received_at AT TIME ZONE %(tz)s) AS month, count(*) AS reported
    FROM c WHERE received_at >= %(start)s AND received_at < %(end)s GROUP BY 1
),
closed AS (
    SELECT date_trunc('month', closed_at AT TIME ZONE %(tz)s) AS month, count(*) AS closed,
           count(*) FILTER (WHERE deadline_at IS NULL OR closed_at <= deadline_at) AS closed_on_time
    FROM c WHERE closed_at >= %(start)s AND closed_at < %(end)s AND closed_as IN ('normal', 'on_spot') GROUP BY 1
),
acts AS (
    SELECT date_trunc('month', created_at AT TIME ZONE %(tz)s) AS month,
           count(*) FILTER (WHERE action = 'register') AS registered,
           count(*) FILTER (WHERE action = 'resolve') AS resolved,
           count(*) FILTER (WHERE action = 'resolve' AND (data->'step_ended'->>'on_time')::boolean) AS resolved_on_time,
           avg((data->'step_ended'->>'hours')::float) FILTER (WHERE action = 'resolve') AS avg_hours_process
    FROM e GROUP BY 1
)
SELECT to_char(m.month, 'YYYY-MM') AS month, COALESCE(r.reported, 0) AS reported,
       COALESCE(a.registered, 0) AS registered, COALESCE(k.closed, 0) AS closed,
       COALESCE(k.closed_on_time, 0) AS closed_on_time, COALESCE(a.resolved, 0) AS resolved,
       COALESCE(a.resolved_on_time, 0) AS resolved_on_time, a.avg_hours_process
FROM months m LEFT JOIN received r ON r.month = m.month LEFT JOIN closed k ON k.month = m.month
LEFT JOIN acts a ON a.month = m.month
ORDER BY m.month
"""
TREND_CODES = [
    "reported",
    "registered",
    "closed",
    "closed_on_time",
    "on_time_close_rate",
    "resolved",
    "resolved_on_time",
    "on_time_resolve_rate",
    "avg_hours_process",
]


def trend(scope: Scope) -> dict:
    """趋势: by month, reports, registrations, closures (on time) and resolutions (on time, working hours)."""
    cases, params = scope.cases_cte()
    out = []
    for row in _fetch(TREND_SQL.format(cases=cases, events=EVENTS_CTE), params):
        out.append(
            {
                "month": row["month"],
                "reported": row["reported"],
                "registered": row["registered"],
                "closed": row["closed"],
                "closed_on_time": row["closed_on_time"],
                "on_time_close_rate": rate(row["closed_on_time"], row["closed"]),
                "resolved": row["resolved"],
                "resolved_on_time": row["resolved_on_time"],
                "on_time_resolve_rate": rate(row["resolved_on_time"], row["resolved"]),
                "avg_hours_process": _round(row["avg_hours_process"]),
            }
        )
    return {"columns": columns(TREND_CODES), "rows": out}


SECTIONS = {
    "summary": summary,
    "reporters": reporters,
    "units": units,
    "dispatchers": dispatchers,
    "steps": steps,
    "trend": trend,
}


# --- For the grid statistics of the registry -------------------------------------------------

CASE_COUNTS_SQL = """
WITH c AS (SELECT c.state, c.closed_as, c.received_at FROM cases_case c WHERE {where}),
people AS (
    SELECT count(*) AS n FROM grids_person p
    JOIN grids_household h ON h.id = p.household_id
    JOIN grids_building b ON b.id = h.building_id
    JOIN grids_grid g ON g.id = b.grid_id
    JOIN grids_community cm ON cm.id = g.community_id
    JOIN grids_street s ON s.id = cm.street_id
    WHERE {residents} AND %(count_people)s
)
SELECT
    (SELECT count(*) FROM c WHERE state IN {open}) AS open,
    (SELECT count(*) FROM c WHERE received_at >= %(since)s AND received_at < %(until)s) AS total,
    (SELECT count(*) FROM c WHERE received_at >= %(since)s AND received_at < %(until)s AND state = 'closed') AS closed,
    (SELECT count(*) FROM c WHERE received_at >= %(since)s AND received_at < %(until)s AND state = 'rejected')
        AS rejected,
    (SELECT n FROM people) AS residents
"""


def case_counts_for_region(
    level: str,
    region_id: int | None,
    *,
    people: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict:
    """Cases of a region (district/street/community/grid by id) for the registry's region statistics: open now;
    received in the window (default the past 365 days), of them closed and rejected; per 1,000 residents.

    `people`: the region's residents when the caller has counted them already (e.g. grids.selectors.region_stats'
    "people"); otherwise they are counted here. One statement."""
    until = until or timezone.now()
    since = since or until - timedelta(days=365)
    sql = CASE_COUNTS_SQL.format(where=REGION_SQL[level], residents=RESIDENTS_SQL[level], open=OPEN_STATES_SQL)
    params = {"region": region_id, "since": since, "until": until, "count_people": people is None}
    row = _fetch(sql, params)[0]
    residents = people if people is not None else row["residents"]
    return {
        "open": row["open"],
        "total": row["total"],
        "closed": row["closed"],
        "rejected": row["rejected"],
        "residents": residents,
        "per_1000": round(1000.0 * row["total"] / residents, 2) if residents else None,
        "since": times.rfc3339(since),
        "until": times.rfc3339(until),
    }
