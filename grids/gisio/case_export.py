"""Cases, filtered, with their events as a second table ("case_events"), when the cases app provides them.

Filters: district, street, community, grid (codes of the case's region), state, category (a code and the
categories under it), level (1–4), since / until (dates of receipt, local time, until exclusive).
Times are written as every interface writes them (gridmgmt.times): 2026-12-03T15:04:05.123+08:00.
Reporters are not named; events name the acting account and unit, as the case's timeline does.
"""

import re
from datetime import date

from django.apps import apps
from django.conf import settings

from gridmgmt import times

CASE_JOINS = (
    "JOIN {category} cat ON cat.id = c.category_id "
    "LEFT JOIN grids_unit ru ON ru.id = c.responsible_unit_id "
    "LEFT JOIN grids_grid g ON g.id = c.grid_id "
    "LEFT JOIN grids_community cm ON cm.id = c.community_id "
    "LEFT JOIN grids_street s ON s.id = c.street_id "
    "LEFT JOIN grids_district d ON d.id = s.district_id"
)
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def is_date(text: str) -> bool:
    """YYYY-MM-DD naming a day of the calendar (2026-02-30 and 2026-13-01 are not)."""
    if not DATE.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def available() -> bool:
    try:
        apps.get_model("cases", "Case")
        apps.get_model("cases", "CaseEvent")
    except LookupError:
        return False
    return True


def _filters() -> dict[str, str]:
    local_day = f"(%s::date)::timestamp AT TIME ZONE '{settings.TIME_ZONE}'"
    return {
        "district": "d.code = %s",
        "street": "s.code = %s",
        "community": "cm.code = %s",
        "grid": "g.code = %s",
        "state": "c.state = %s",
        "category": "starts_with(cat.code, %s)",
        "level": "c.level = %s::integer",
        "since": f"c.received_at >= {local_day}",
        "until": f"c.received_at < {local_day}",
    }


def tables(filters: dict[str, str]) -> list:
    from grids.gisio.exporters import ExportError, ExportLayer, Table, _where

    case_model = apps.get_model("cases", "Case")
    event_model = apps.get_model("cases", "CaseEvent")
    category_model = apps.get_model("cases", "Category")
    for name in ("since", "until"):
        if filters.get(name) and not is_date(filters[name]):
            raise ExportError(f"{name} 应为真实存在的日期 YYYY-MM-DD。{name} must be a real date written YYYY-MM-DD.")
    if filters.get("level") and filters["level"] not in ("1", "2", "3", "4"):
        raise ExportError("level must be 1, 2, 3 or 4")
    joins = CASE_JOINS.format(category=category_model._meta.db_table)
    source = f"{case_model._meta.db_table} c {joins}"
    cases = ExportLayer(
        "cases",
        source,
        (
            ("number", "c.number"),
            ("state", "c.state"),
            ("level", "c.level"),
            ("category_code", "cat.code"),
            ("category", "cat.name_zh"),
            ("source", "c.source"),
            ("address", "c.address"),
            ("description", "c.description"),
            ("responsible_unit_code", "ru.code"),
            ("responsible_unit", "ru.name"),
            ("street_code", "s.code"),
            ("community_code", "cm.code"),
            ("grid_code", "g.code"),
            ("captured_at", times.sql("c.captured_at")),
            ("received_at", times.sql("c.received_at")),
            ("deadline_at", times.sql("c.deadline_at")),
            ("closed_at", times.sql("c.closed_at")),
            ("closed_as", "c.closed_as"),
        ),
        "c.point",
        "Point",
        "c.received_at, c.id",
        _filters(),
    )
    user_table = apps.get_model(settings.AUTH_USER_MODEL)._meta.db_table
    events = ExportLayer(
        "case_events",
        f"{event_model._meta.db_table} e JOIN {case_model._meta.db_table} c ON c.id = e.case_id {joins} "
        f"LEFT JOIN grids_unit eu ON eu.id = e.unit_id LEFT JOIN {user_table} au ON au.id = e.actor_id",
        (
            ("case_number", "c.number"),
            ("time", times.sql("e.created_at")),
            ("action", "e.action"),
            ("from_state", "e.from_state"),
            ("to_state", "e.to_state"),
            ("unit_code", "eu.code"),
            ("unit", "eu.name"),
            ("actor", "au.username"),
            ("note", "e.note"),
        ),
        "",
        "",
        "c.received_at, c.id, e.created_at, e.id",
        _filters(),
    )
    where, params = _where(cases, filters)
    return [Table(cases, where, params), Table(events, where, params)]
