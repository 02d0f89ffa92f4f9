"""Routing (归口办理): point + category → the responsible unit, the co-handling units, and why.

Rules are rows (`RoutingRule`). For the category and each of its ancestors, the rules whose region (if any)
covers the point are taken, each with the unit of the rule's type (or the rule's named unit) whose
jurisdiction covers the point, found on the subdivided pieces in `cases_unitarea` with the spatial index —
all in one SQL function, `cases_routing_matches`. Then, most specific first:

1. a rule on the category itself before a rule on its group (nearer ancestor first),
2. a rule limited to a region before one without,
3. the higher priority, then the older rule.

The responsible unit is the first responsible rule's unit. Co-handling units: for each unit type (or named
unit) the first co-handling rule's unit, never the responsible unit itself. Units in `exclude` (those that
returned the case) are skipped. With no responsible match, the command centre covering the point (or
any command centre) takes the case for manual routing.
"""

from dataclasses import dataclass, field

from django.contrib.gis.geos import Point
from django.db import connection

from grids.models import Community, Street, Unit, UnitType

# The rule query lives in the database as a PL/pgSQL function (cases/migrations/0011_routing_function.py), which
# keeps its plan for the session: planning the recursive, spatial query cost twice as much as running it.
RULES_SQL = "SELECT * FROM cases_routing_matches(%(category)s, %(lon)s, %(lat)s, %(exclude)s::bigint[])"

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


def matching_rules(*, point: Point, category_id: int, exclude: tuple[int, ...] = ()) -> list[dict]:
    """Every active rule for the category or its ancestors that matched a unit at the point, most specific first."""
    lon, lat = point.coords  # one read of the GEOS point (each .x or .y is several calls into GEOS)
    with connection.cursor() as cursor:
        cursor.execute(RULES_SQL, {"category": category_id, "lon": lon, "lat": lat, "exclude": list(map(int, exclude))})
        columns = [column.name for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def command_centre_at(point: Point) -> Unit:
    with connection.cursor() as cursor:
        cursor.execute(COMMAND_CENTRE_SQL, {"lon": point.x, "lat": point.y, "type": UnitType.COMMAND_CENTRE})
        row = cursor.fetchone()
    if row is None:
        raise RoutingError("没有配置指挥中心，无法为该位置派遣案件")
    return Unit.objects.defer("jurisdiction").get(pk=row[0])


def resolve(*, point: Point, category, exclude: tuple[int, ...] = ()) -> Route:
    """Where a case of `category` at `point` goes, and why. `point` in EPSG:4326."""
    rows = matching_rules(point=point, category_id=category.pk, exclude=exclude)
    return route_from_rows(rows, point=point, category=category, exclude=exclude)


def route_from_rows(
    rows: list[dict],
    *,
    point: Point,
    category,
    exclude: tuple[int, ...] = (),
    centre: Unit | None = None,
    units: dict[int, Unit] | None = None,
) -> Route:
    """The route chosen from the rule rows of RULES_SQL (most specific first) for one point. `centre`, when given,
    is the command centre at the point (looked up only when no responsible rule matched and it is not given);
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
        "point": [round(coordinate, 7) for coordinate in point.coords],
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
            f"{scope}，{UnitType(responsible.unit_type).label}）→ 辖区覆盖案发点的{responsible.unit.name}"
        )
    if co:
        text += "；协办：" + "、".join(f"{item.unit.name}（规则#{item.rule_id}）" for item in co)
    return text


def _region_text(region: dict) -> str:
    if "street" in region:
        return f"街道 {region['street']}"
    if "community" in region:
        return f"社区 {region['community']}"
    return "指定范围"
