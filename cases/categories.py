"""The category tree as data: `cases/data/categories.json`, loaded by upsert on code.

Used by the data migration (with historical models) and by `manage.py load_categories`.
Loading twice changes nothing; categories missing from the file are left alone (cases refer to them).
"""

import json
from collections.abc import Iterator
from pathlib import Path

from django.core.exceptions import ValidationError

DATA_FILE = Path(__file__).resolve().parent / "data" / "categories.json"
FIELDS = (
    "name_zh",
    "name_en",
    "kind",
    "default_level",
    "handling_unit_type",
    "co_unit_types",
    "time_limits",
    "register_conditions",
    "close_conditions",
)


def read_tree(path: Path = DATA_FILE) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)["categories"]


def flatten(nodes: list[dict], *, parent: str | None = None, kind: str | None = None) -> Iterator[dict]:
    """Rows in tree order (parents before children), each with its parent code and inherited kind."""
    for node in nodes:
        node_kind = node.get("kind", kind)
        if not node_kind:
            raise ValidationError(f"category {node['code']}: no kind on it or on its root")
        row = {
            "code": node["code"],
            "parent": parent,
            "name_zh": node["name_zh"],
            "name_en": node.get("name_en", ""),
            "kind": node_kind,
            "default_level": node.get("default_level", 2),
            "handling_unit_type": node.get("handling_unit_type", ""),
            "co_unit_types": list(node.get("co_unit_types", [])),
            "time_limits": node.get("time_limits", {}),
            "register_conditions": node.get("register_conditions", ""),
            "close_conditions": node.get("close_conditions", ""),
        }
        yield row
        yield from flatten(node.get("children", []), parent=node["code"], kind=node_kind)


def validate_rows(rows: list[dict]) -> None:
    from cases.models import validate_time_limits
    from grids.models import UnitType

    seen: set[str] = set()
    unit_types = set(UnitType.values)
    for row in rows:
        code = row["code"]
        if code in seen:
            raise ValidationError(f"category {code}: code appears twice")
        seen.add(code)
        if not 1 <= row["default_level"] <= 4:
            raise ValidationError(f"category {code}: default_level must be 1–4")
        for unit_type in [row["handling_unit_type"], *row["co_unit_types"]]:
            if unit_type and unit_type not in unit_types:
                raise ValidationError(f"category {code}: unknown unit type {unit_type!r}")
        if row["time_limits"]:
            try:
                validate_time_limits(row["time_limits"])
            except ValidationError as error:
                raise ValidationError(f"category {code}: {'; '.join(error.messages)}") from None


def load_categories(*, category_model=None, path: Path = DATA_FILE) -> dict:
    """Upsert the categories of the data file. Returns counts: created, updated, unchanged."""
    if category_model is None:
        from cases.models import Category as category_model
    rows = list(flatten(read_tree(path)))
    validate_rows(rows)
    existing = {category.code: category for category in category_model.objects.all()}
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for row in rows:
        parent = existing[row["parent"]] if row["parent"] else None
        values = {name: row[name] for name in FIELDS}
        category = existing.get(row["code"])
        if category is None:
            category = category_model.objects.create(code=row["code"], parent=parent, **values)
            existing[category.code] = category
            counts["created"] += 1
            continue
        changed = [name for name, value in values.items() if getattr(category, name) != value]
        if category.parent_id != (parent.pk if parent else None):
            category.parent = parent
            changed.append("parent")
        if changed:
            for name in changed:
                if name != "parent":
                    setattr(category, name, values[name])
            category.save(update_fields=changed)
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    return counts
