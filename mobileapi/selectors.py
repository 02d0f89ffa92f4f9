"""Reads of the handheld API."""

from types import SimpleNamespace

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

from cases.models import Case, CaseEvent, State
from cases.selectors import light_expression, light_of
from cases.workflow import action_label
from gridmgmt import times
from gridmgmt.prepared import execute_prepared
from grids.models import Staff, Unit
from mobileapi.models import AccessToken, TaskCompletion

# --- Tokens -----------------------------------------------------------------------------------


def _columns(model, alias: str, *, without: tuple[str, ...] = ()) -> tuple[list[str], list[str]]:
    fields = [field for field in model._meta.concrete_fields if field.name not in without]
    return [field.attname for field in fields], [f'{alias}."{field.column}"' for field in fields]


# Token, user, staff row and unit (its jurisdiction, a large geometry, left out): each request reads them.
_TOKEN_PARTS = [
    (AccessToken, *_columns(AccessToken, "t")),
    (get_user_model(), *_columns(get_user_model(), "u")),
    (Staff, *_columns(Staff, "s")),
    (Unit, *_columns(Unit, "n", without=("jurisdiction",))),
]
_TOKEN_SQL = f"""
SELECT {", ".join(column for _model, _names, columns in _TOKEN_PARTS for column in columns)}
FROM {AccessToken._meta.db_table} t
JOIN {get_user_model()._meta.db_table} u ON u.id = t.user_id
LEFT JOIN {Staff._meta.db_table} s ON s.user_id = u.id
LEFT JOIN {Unit._meta.db_table} n ON n.id = s.unit_id
WHERE t.digest = %s
"""


def token_by_digest(digest: str) -> AccessToken | None:
    """The token with this digest, its user and the user's staff row and unit, in one query written out
    (the ORM spends longer composing this join than PostgreSQL answering it). `token.user.staff` and
    `staff.unit` are then read without a query; a user without a staff row is read as without the join."""
    with connection.cursor() as cursor:
        execute_prepared(cursor, "mobileapi_token_by_digest", _TOKEN_SQL, [digest])
        row = cursor.fetchone()
    if row is None:
        return None
    found, start = [], 0
    for model, names, _sql_columns in _TOKEN_PARTS:
        values = row[start : start + len(names)]
        start += len(names)
        found.append(model.from_db(connection.alias, names, values) if values[0] is not None else None)
    token, user, staff, unit = found
    token.user = user
    if staff is not None:
        user.staff = staff
        staff.unit = unit
    return token


def worker_profile(*, user) -> dict:
    staff = getattr(user, "staff", None)
    grids = staff.grids.select_related("community").order_by("code") if staff else []
    return {
        "id": user.pk,
        "username": user.get_username(),
        "name": user.get_full_name() or user.get_username(),
        "role": staff.role if staff else None,
        "units": [staff.unit] if staff and staff.unit_id else [],
        "grids": list(grids),
    }


def reports_of(*, user, since=None, cursor=None, limit: int = 200) -> tuple[list[Case], bool]:
    """A page of the worker's own reports with their current state, oldest change first (updated_at, then id),
    changed after `since` or after the (updated_at, id) `cursor` where the last page ended; and whether more
    follow. Keyed on both columns, so reports changed in the same instant are never split and lost between
    pages; a report that changes while the worker pages comes again on a later page."""
    cases = report_queryset().filter(reporter=user)
    if since is not None:
        cases = cases.filter(updated_at__gt=since)
    if cursor is not None:
        changed, pk = cursor
        cases = cases.filter(Q(updated_at__gt=changed) | Q(updated_at=changed, id__gt=pk))
    rows = list(cases.order_by("updated_at", "id")[: limit + 1])
    page = rows[:limit]
    _attach_steps(page)
    return page, len(rows) > limit


# The most recent steps a report in the list carries.
STEPS_PER_REPORT = 12


def _attach_steps(cases: list[Case]) -> None:
    """Give each case `steps`: the events that moved it from one state to another (the intake included), with
    the time, the action and the acting unit's name, in one query for the whole page. Only what the reporter
    may see: no actor, no note, no attachments, and none of the events that leave the state as it was
    (comments, extension requests, photos)."""
    steps = {case.pk: [] for case in cases}
    events = (
        CaseEvent.objects.filter(case_id__in=steps)
        .exclude(from_state=F("to_state"))
        .order_by("case_id", "created_at", "id")
        .values("case_id", "action", at=F("created_at"), unit_name=F("unit__name"))
    )
    for event in events:
        steps[event["case_id"]].append({**event, "label": action_label(event["action"])})
    for case in cases:
        case.steps = steps[case.pk][-STEPS_PER_REPORT:]


def report_queryset():
    return (
        Case.objects.annotate(light=light_expression())
        .select_related("category", "responsible_unit", "duplicate_of")
        .prefetch_related("co_units")
    )


def report(*, case_id: int) -> Case:
    return report_queryset().get(pk=case_id)


# What ReportSerializer reads of a case besides its co-units and light.
_REPORT_FIELDS = (
    *("id", "client_uuid", "number", "state", "category", "level", "responsible_unit", "deadline_at"),
    *("step_deadline_at", "duplicate_of", "received_at", "captured_at", "updated_at"),
)


def written_report(*, case: Case) -> SimpleNamespace:
    """A case create_case has just written, for ReportSerializer from the objects in hand instead of read back:
    its co-units from its route in Unit's order (type, code), as `report` gives them, and its light as
    light_expression computes it. The same body as `report` gives for it, one read fewer."""
    written = SimpleNamespace(**{name: getattr(case, name) for name in _REPORT_FIELDS})
    written.co_units = sorted(case.route.co_units, key=lambda unit: (unit.type, unit.code))
    written.light = light_of(case, timezone.now())
    return written


# --- Offline grid package -------------------------------------------------------------------

# One statement builds the whole package; `%(since)s` NULL means everything.
_PACKAGE_SQL = f"""
WITH g AS (
    SELECT g.id, g.code, g.name, c.name AS community, s.name AS street, g.boundary
    FROM grids_grid g JOIN grids_community c ON c.id = g.community_id JOIN grids_street s ON s.id = c.street_id
    WHERE g.id = %(grid)s
),
b AS (SELECT * FROM grids_building WHERE grid_id = %(grid)s),
h AS (
    SELECT h.*, people.n AS people, people.tags, people.changed_at
    FROM grids_household h JOIN b ON b.id = h.building_id
    LEFT JOIN LATERAL (
        SELECT count(*) AS n, max(p.updated_at) AS changed_at,
               (SELECT COALESCE(json_object_agg(tag, k), '{{}}') FROM
                   (SELECT tag, count(*) AS k FROM grids_person q, unnest(q.care_tags) tag
                    WHERE q.household_id = h.id GROUP BY tag) t) AS tags
        FROM grids_person p WHERE p.household_id = h.id
    ) people ON true
),
open_cases AS (
    SELECT c.*, cat.code AS category_code FROM cases_case c JOIN cases_category cat ON cat.id = c.category_id
    WHERE c.grid_id = %(grid)s AND c.state NOT IN ('closed', 'rejected')
)
SELECT json_build_object(
    'grid', (SELECT json_build_object('id', id, 'code', code, 'name', name, 'community', community, 'street', street,
                                      'boundary', ST_AsGeoJSON(boundary, 6)::json) FROM g),
    'buildings', (SELECT COALESCE(json_agg(json_build_object(
            'id', id, 'code', code, 'name', name, 'address', address, 'floors', floors, 'use', use,
            'footprint', ST_AsGeoJSON(footprint, 6)::json) ORDER BY code), '[]')
        FROM b WHERE %(since)s::timestamptz IS NULL OR updated_at > %(since)s),
    'building_ids', (SELECT COALESCE(json_agg(id ORDER BY id), '[]') FROM b),
    'households', (SELECT COALESCE(json_agg(json_build_object(
            'id', id, 'building_id', building_id, 'unit_no', unit_no, 'floor', floor, 'room', room, 'type', type,
            'people', people, 'care_tags', tags) ORDER BY building_id, unit_no, floor, room), '[]')
        FROM h WHERE %(since)s::timestamptz IS NULL OR updated_at > %(since)s OR changed_at > %(since)s),
    'household_ids', (SELECT COALESCE(json_agg(id ORDER BY id), '[]') FROM h),
    'open_cases', (SELECT COALESCE(json_agg(json_build_object(
            'id', id, 'case_no', number, 'category', category_code, 'level', level, 'state', state,
            'description', description, 'address', address, 'received_at', {times.sql("received_at")},
            'step_deadline', {times.sql("step_deadline_at")},
            'location', ST_AsGeoJSON(point, 6)::json) ORDER BY received_at), '[]')
        FROM open_cases WHERE %(since)s::timestamptz IS NULL OR updated_at > %(since)s),
    'open_case_ids', (SELECT COALESCE(json_agg(id ORDER BY id), '[]') FROM open_cases),
    'categories', (SELECT COALESCE(json_agg(json_build_object(
            'code', c.code, 'name_zh', c.name_zh, 'name_en', c.name_en, 'default_level', c.default_level,
            'group', p.code, 'group_name_zh', p.name_zh, 'group_name_en', p.name_en) ORDER BY c.code), '[]')
        FROM cases_category c LEFT JOIN cases_category p ON p.id = c.parent_id
        WHERE c.active AND NOT EXISTS (SELECT 1 FROM cases_category k WHERE k.parent_id = c.id))
)::text
"""


def grid_package(*, grid_id: int, since=None) -> str:
    """What a worker needs offline for one grid, as JSON text: boundary, buildings, household summaries (counts and
    care tags, never names or ID numbers), open cases and the categories to report with. With `since`, only what
    changed after it, plus the full id lists so the handheld can drop what is gone."""
    with connection.cursor() as cursor:
        cursor.execute(_PACKAGE_SQL, {"grid": grid_id, "since": since})
        return cursor.fetchone()[0]


# --- Tasks ------------------------------------------------------------------------------------


def open_tasks(*, user) -> list[Case]:
    """核实: reports made by others in the worker's grids waiting to be confirmed on site.
    核查: resolved cases the worker reported or that lie in their grids, waiting to be checked."""
    grids = user.staff.grids.values("id")
    confirmed = TaskCompletion.objects.filter(kind=TaskCompletion.Kind.CONFIRM).values("case_id")
    to_confirm = Q(state=State.REPORTED, grid_id__in=grids) & ~Q(reporter=user) & ~Q(pk__in=confirmed)
    to_check = Q(state=State.RESOLVED) & (Q(reporter=user) | Q(grid_id__in=grids))
    return list(report_queryset().filter(to_confirm | to_check).order_by("step_deadline_at", "id"))
