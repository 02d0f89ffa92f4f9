"""Routing (归口办理): point + category → the responsible unit, the co-handling units, and why.

Rules are rows (`RoutingRule`). For the category and each of its ancestors, the rules whose region (if any)
covers the point are taken, each with the unit of the rule's type (or the rule's named unit) whose
jurisdiction covers the point, found on the subdivided pieces in `cases_unitarea` with the spatial index.
The rules, the category tree and the units are held per process (`RuleBook`), so a lookup is one small
spatial query; that query also reads the stamp a statement trigger gives every change to categories, rules or
units, and a stamp other than the book's reloads the book (and the lookup). Then, most specific first:

1. a rule on the category itself before a rule on its group (nearer ancestor first),
2. a rule limited to a region before one without,
3. the higher priority, then the older rule.

The responsible unit is the first responsible rule's unit. Co-handling units: for each unit type (or named
unit) the first co-handling rule's unit, never the responsible unit itself. Units in `exclude` (those that
returned the case) are skipped. With no responsible match, the command centre covering the point (or
any command centre) takes the case for manual routing.
"""

import functools
from dataclasses import dataclass, field
from typing import NamedTuple

from django.contrib.gis.geos import Point
from django.db import connection
from django.db.models import BooleanField, ExpressionWrapper, F, Q
from django.utils import translation

from cases.models import Category, RoutingRule
from gridmgmt.prepared import execute_prepared
from grids.models import Community, Street, Unit, UnitType


class LonLat(NamedTuple):
    """A point's coordinates read once: each .x or .y of a GEOS point is several calls into GEOS."""

    x: float
    y: float


REFERENCE_VERSION_SQL = "SELECT version FROM cases_reference_version"  # cases migration 0011
UNITS_AT_SQL = """
SELECT a.unit_id, (SELECT version FROM cases_reference_version){regions}
FROM cases_unitarea a
WHERE a.geom && {point} AND ST_Covers(a.geom, {point})
  AND a.unit_type = ANY(%(types)s) AND a.unit_id <> ALL(%(exclude)s::bigint[])
ORDER BY a.unit_area, a.unit_id
"""
POINT_SQL = "ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)"
# Only asked for when a rule of the category is limited to a region (rare): which of those regions hold the point.
REGION_COLUMNS = {
    "streets": "ARRAY(SELECT s.id FROM grids_street s WHERE s.id = ANY(%(streets)s) "
    "AND ST_Covers(s.boundary, {point}))",
    "communities": "ARRAY(SELECT c.id FROM grids_community c WHERE c.id = ANY(%(communities)s) "
    "AND ST_Covers(c.boundary, {point}))",
    "areas": "ARRAY(SELECT r.id FROM cases_routingrule r WHERE r.id = ANY(%(areas)s) AND ST_Covers(r.area, {point}))",
}

COMMAND_CENTRE_SQL = """
WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS g)
SELECT u.id FROM grids_unit u CROSS JOIN pt
WHERE u.type = %(type)s
ORDER BY ST_Covers(u.jurisdiction, pt.g) DESC, ST_Area(u.jurisdiction), u.id
LIMIT 1
"""


class RoutingError(Exception):
    """No unit at all can take a case here (not even a command centre)."""


@dataclass(frozen=True)
class Match:
    unit: Unit
    rule_id: int | None
    rule_category: str | None
    unit_type: str
    region: dict | None
    default_rule: bool

    def as_reason(self) -> dict:
        return {
            "unit": {"id": self.unit.pk, "code": self.unit.code, "name": self.unit.name, "type": self.unit.type},
            "rule": self.rule_id,
            "rule_category": self.rule_category,
            "unit_type": self.unit_type,
            "region": self.region,
            "default_rule": self.default_rule,
            "matched": "jurisdiction" if self.rule_id else "command_centre",
        }


@dataclass(frozen=True)
class Route:
    responsible: Unit
    co_units: list[Unit]
    reason: dict = field(default_factory=dict)


def _region(row: dict) -> dict | None:
    if row["street_id"]:
        return {"street": Street.objects.values_list("code", flat=True).get(pk=row["street_id"])}
    if row["community_id"]:
        return {"community": Community.objects.values_list("code", flat=True).get(pk=row["community_id"])}
    if row["has_area"]:
        return {"area": True}
    return None


UNIT_COLUMNS = {"id": "unit_id", "code": "unit_code", "name": "unit_name", "type": "unit_kind"}
UNIT_COLUMNS |= {"parent_id": "unit_parent_id", "phone": "unit_phone"}


def _unit(row: dict) -> Unit:
    """A Unit from the rule query's columns; its jurisdiction is deferred (loaded only if asked for)."""
    return Unit.from_db(connection.alias, _UNIT_FIELDS, [row[UNIT_COLUMNS[name]] for name in _UNIT_FIELDS])


_UNIT_FIELDS = [field.attname for field in Unit._meta.concrete_fields if field.attname in UNIT_COLUMNS]


@dataclass(frozen=True)
class RuleBook:
    """Every active rule, listed for each category with its ancestors' rules, most specific first; and the stamp
    of categories and rules it was read at. Shared between requests and threads: never changed, only replaced."""

    version: int | None
    by_category: dict[int, tuple[dict, ...]]
    units: dict[int, tuple]  # id → the unit's UNIT_KEYS


_book = RuleBook(version=None, by_category={}, units={})


def _read_book(version: int | None) -> RuleBook:
    categories = {pk: (code, parent) for pk, code, parent in Category.objects.values_list("id", "code", "parent_id")}
    own_rules: dict[int, list[dict]] = {}
    for rule in (
        RoutingRule.objects.filter(active=True)
        .annotate(
            named_unit=F("unit_id"),
            has_area=ExpressionWrapper(Q(area__isnull=False), output_field=BooleanField()),
        )
        .values(*RULE_FIELDS)
    ):
        own_rules.setdefault(rule.pop("category_id"), []).append(rule)
    by_category = {}
    for category_id in categories:
        rules, distance, current = [], 0, category_id
        while current is not None:
            code, parent = categories[current]
            rules += [{**rule, "code": code, "distance": distance} for rule in own_rules.get(current, ())]
            distance, current = distance + 1, parent
        rules.sort(key=_specificity)
        by_category[category_id] = tuple(rules)
    units = {row[0]: row for row in Unit.objects.values_list("id", "code", "name", "type", "parent_id", "phone")}
    return RuleBook(version=version, by_category=by_category, units=units)


RULE_FIELDS = ("id", "role", "unit_type", "named_unit", "priority", "is_default", "category_id", "street_id")
RULE_FIELDS += ("community_id", "has_area")


def _specificity(rule: dict) -> tuple:
    limited = bool(rule["street_id"] or rule["community_id"] or rule["has_area"])
    return (rule["distance"], not limited, -rule["priority"], rule["id"])


def _units_at(lon: float, lat: float, rules: tuple[dict, ...], exclude: list[int]) -> tuple[int | None, list, dict]:
    """(stamp of categories, rules and units, the ids of the units of the rules' types covering the point smallest
    first, and which of the rules' regions cover it) in one query."""
    params = {
        "lon": lon,
        "lat": lat,
        "exclude": exclude,
        "types": sorted({rule["unit_type"] for rule in rules}),
        "streets": [rule["street_id"] for rule in rules if rule["street_id"]],
        "communities": [rule["community_id"] for rule in rules if rule["community_id"]],
        "areas": [rule["id"] for rule in rules if rule["has_area"]],
    }
    asked = [name for name in REGION_COLUMNS if params[name]]
    regions = "".join(f", {REGION_COLUMNS[name]}" for name in asked)
    sql = UNITS_AT_SQL.replace("{regions}", regions).replace("{point}", POINT_SQL)
    with connection.cursor() as cursor:
        # One prepared statement per combination of region columns (planning costs as much as running it).
        execute_prepared(cursor, "cases_units_at_" + "_".join(["units", *asked]), sql, params)
        rows = cursor.fetchall()
        if not rows:  # no unit of those types here (rare): the stamp alone, so a stale book is still noticed
            execute_prepared(cursor, "cases_reference_version", REFERENCE_VERSION_SQL, [])
            stamp = cursor.fetchone()
            return (stamp[0] if stamp else None), [], {name: set() for name in asked}
    return rows[0][1], [row[0] for row in rows], {name: set(rows[0][2 + i]) for i, name in enumerate(asked)}


def matching_rules(*, point: Point | LonLat, category_id: int, exclude: tuple[int, ...] = ()) -> list[dict]:
    """Every active rule for the category or its ancestors that matched a unit at the point, most specific first:
    the rule's fields with the matched unit's (`unit_id`, `unit_code`, `unit_name`, `unit_kind`, …)."""
    global _book
    lon, lat = point.x, point.y
    exclude = list(map(int, exclude))
    book = _book
    version, covering, regions = _units_at(lon, lat, book.by_category.get(category_id, ()), exclude)
    if version is None or version != book.version:  # categories, rules or units changed since the book was read
        book = _book = _read_book(version)
        version, covering, regions = _units_at(lon, lat, book.by_category.get(category_id, ()), exclude)
    covering = [book.units[unit_id] for unit_id in covering]
    matched = []
    for rule in book.by_category.get(category_id, ()):
        if (
            (rule["street_id"] and rule["street_id"] not in regions["streets"])
            or (rule["community_id"] and rule["community_id"] not in regions["communities"])
            or (rule["has_area"] and rule["id"] not in regions["areas"])
        ):
            continue
        unit = next(
            (
                unit
                for unit in covering
                if unit[3] == rule["unit_type"] and (rule["named_unit"] is None or unit[0] == rule["named_unit"])
            ),
            None,
        )
        if unit is not None:
            matched.append({**rule, **dict(zip(UNIT_KEYS, unit, strict=True))})
    return matched


UNIT_KEYS = ("unit_id", "unit_code", "unit_name", "unit_kind", "unit_parent_id", "unit_phone")


def command_centre_at(point: Point | LonLat) -> Unit:
    with connection.cursor() as cursor:
        cursor.execute(COMMAND_CENTRE_SQL, {"lon": point.x, "lat": point.y, "type": UnitType.COMMAND_CENTRE})
        row = cursor.fetchone()
    if row is None:
        raise RoutingError("没有配置指挥中心，无法为该位置派遣案件")
    return Unit.objects.defer("jurisdiction").get(pk=row[0])


def resolve(*, point: Point, category, exclude: tuple[int, ...] = ()) -> Route:
    """Where a case of `category` at `point` goes, and why. `point` in EPSG:4326."""
    where = LonLat(*point.coords)
    rows = matching_rules(point=where, category_id=category.pk, exclude=exclude)
    return route_from_rows(rows, point=where, category=category, exclude=exclude)


def route_from_rows(
    rows: list[dict],
    *,
    point: Point | LonLat,
    category,
    exclude: tuple[int, ...] = (),
    centre: Unit | None = None,
    units: dict[int, Unit] | None = None,
) -> Route:
    """The route chosen from the rule rows of `matching_rules` (most specific first) for one point. `centre`, when
    given, is the command centre at the point (looked up only when no responsible rule matched and it is not given);
    `units` may hold the rows' units already loaded (by id)."""
    known = units or {}
    units = {row["unit_id"]: known.get(row["unit_id"]) or _unit(row) for row in rows}

    def match(row: dict) -> Match:
        return Match(
            unit=units[row["unit_id"]],
            rule_id=row["id"],
            rule_category=row["code"],
            unit_type=row["unit_type"],
            region=_region(row),
            default_rule=row["is_default"],
        )

    responsible = next((match(row) for row in rows if row["role"] == "responsible"), None)
    fallback = responsible is None
    if fallback:
        responsible = Match(
            unit=centre if centre is not None else command_centre_at(point),
            rule_id=None,
            rule_category=None,
            unit_type=UnitType.COMMAND_CENTRE,
            region=None,
            default_rule=False,
        )
    co: list[Match] = []
    seen_keys: set = set()
    seen_units = {responsible.unit.pk}
    for row in rows:
        if row["role"] != "co_handling":
            continue
        key = ("unit", row["named_unit"]) if row["named_unit"] else ("type", row["unit_type"])
        if key in seen_keys:
            continue
        seen_keys.add(key)
        if row["unit_id"] in seen_units:
            continue
        seen_units.add(row["unit_id"])
        co.append(match(row))
    reason = {
        "category": category.code,
        "point": [round(point.x, 7), round(point.y, 7)],
        "fallback": fallback,
        "excluded_units": sorted(int(pk) for pk in exclude),
        "responsible": responsible.as_reason(),
        "co_handling": [item.as_reason() for item in co],
        "text": explain(category, responsible, co, fallback=fallback),
    }
    return Route(responsible=responsible.unit, co_units=[item.unit for item in co], reason=reason)


def explain(category, responsible: Match, co: list[Match], *, fallback: bool) -> str:
    if fallback:
        text = f"{category.code} {category.name_zh}：没有规则匹配该位置，交{responsible.unit.name}人工派遣"
    else:
        scope = f"，限{_region_text(responsible.region)}" if responsible.region else ""
        text = (
            f"{category.code} {category.name_zh}：规则#{responsible.rule_id}（类别 {responsible.rule_category}"
            f"{scope}，{unit_type_name_zh(responsible.unit_type)}）→ 辖区覆盖案发点的{responsible.unit.name}"
        )
    if co:
        text += "；协办：" + "、".join(f"{item.unit.name}（规则#{item.rule_id}）" for item in co)
    return text


@functools.cache
def unit_type_name_zh(unit_type: str) -> str:
    """The type's Chinese name: the reason is kept with the case, so it is written in Chinese whatever the
    language of the request that routed it."""
    with translation.override("zh-hans"):
        return str(UnitType(unit_type).label)


def _region_text(region: dict) -> str:
    if "street" in region:
        return f"街道 {region['street']}"
    if "community" in region:
        return f"社区 {region['community']}"
    return "指定范围"
