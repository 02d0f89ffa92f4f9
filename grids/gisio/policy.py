"""Who may export which layer, and which of its fields: the one table every export path consults.

Managers see figures, not residents: no household- or person-level rows, and no one's identity in their case
files (the case events' acting account is how a report's reporter would be named). Dispatchers and grid workers
export nothing; they read what they need on the map and the desk. The command line exports as an administrator.
ID numbers and phones leave masked whoever exports (grids.gisio.exporters never selects the protected values).
"""

from grids.models import Role

EVERY_FIELD: frozenset[str] = frozenset()  # nothing withheld

# role -> table -> fields withheld from that role's files. A layer is exportable when its table is listed; the
# cases layer's second table, case_events, is listed on its own.
EXPORTS: dict[str, dict[str, frozenset[str]]] = {
    Role.ADMIN: {
        "districts": EVERY_FIELD,
        "streets": EVERY_FIELD,
        "communities": EVERY_FIELD,
        "grids": EVERY_FIELD,
        "buildings": EVERY_FIELD,
        "households": EVERY_FIELD,
        "persons": EVERY_FIELD,
        "units": EVERY_FIELD,
        "cases": EVERY_FIELD,
        "case_events": EVERY_FIELD,
    },
    Role.MANAGER: {
        "districts": EVERY_FIELD,
        "streets": EVERY_FIELD,
        "communities": EVERY_FIELD,
        "grids": EVERY_FIELD,
        "buildings": EVERY_FIELD,
        "units": EVERY_FIELD,
        "cases": EVERY_FIELD,
        "case_events": frozenset({"actor"}),
    },
}


def may_export(role: str | None, layer: str) -> bool:
    return layer in EXPORTS.get(role, {})


def withheld(role: str, table: str) -> frozenset[str] | None:
    """The fields of `table` left out for `role`; None when the role may not have the table at all."""
    return EXPORTS.get(role, {}).get(table)


def refusal(role: str | None, layer: str) -> str:
    if role not in EXPORTS:
        return "只有管理员和领导可以导出。Only administrators and managers may export."
    return (
        f"您的角色不能导出 {layer}：领导看数字，不看居民。"
        f"Your role may not export {layer}: managers see figures, not residents."
    )
