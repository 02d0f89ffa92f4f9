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
    "after_photo_required",
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
            "after_photo_required": bool(node.get("after_photo_required", False)),
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


def upsert_categories(*, category_model, path: Path = DATA_FILE) -> dict:
    """Upsert the categories of the data file into `category_model` (a current or historical model)."""
    rows = list(flatten(read_tree(path)))
    validate_rows(rows)
    # A historical model (an earlier migration) may lack fields added since: load those it has.
    known = {f.name for f in category_model._meta.get_fields()}
    fields = [name for name in FIELDS if name in known]
    existing = {category.code: category for category in category_model.objects.all()}
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for row in rows:
        parent = existing[row["parent"]] if row["parent"] else None
        values = {name: row[name] for name in fields}
        category = existing.get(row["code"])
        if category is None:
            category = category_model.objects.create(code=row["code"], parent=parent, **values)
            existing[category.code] = category
            counts["created"] += 1
            continue
        changed = [name for name, value in values.items() if getattr(category, name) != value]
        for name in changed:
            setattr(category, name, values[name])
        if category.parent_id != (parent.pk if parent else None):
            category.parent = parent
            changed.append("parent")
        if changed:
            category.save(update_fields=changed)
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    return counts


def sync_default_rules(*, category_model, rule_model, categories=None) -> dict:
    """Keep the default routing rules (is_default) equal to each category's handling and co-handling unit types.

    Rules made by hand (is_default false) are never touched.
    """
    from grids.models import UnitType

    counts = {"rules_created": 0, "rules_deleted": 0}
    categories = category_model.objects.all() if categories is None else categories
    for category in categories:
        wanted = set()
        if category.handling_unit_type:
            wanted.add(("responsible", category.handling_unit_type))
        wanted |= {("co_handling", unit_type) for unit_type in category.co_unit_types}
        have = {
            (rule.role, rule.unit_type): rule for rule in rule_model.objects.filter(category=category, is_default=True)
        }
        for key, rule in have.items():
            if key not in wanted:
                rule.delete()
                counts["rules_deleted"] += 1
        for role, unit_type in sorted(wanted - set(have)):
            label = dict(UnitType.choices)[unit_type]
            rule_model.objects.create(
                category=category,
                role=role,
                unit_type=unit_type,
                is_default=True,
                note=f"由类别 {category.code} 的{'主办' if role == 'responsible' else '协办'}单位类型（{label}）生成",
            )
            counts["rules_created"] += 1
    return counts


def load_categories(*, path: Path = DATA_FILE) -> dict:
    """Upsert the categories of the data file and their default routing rules. Returns counts."""
    from cases.models import Category, RoutingRule

    counts = upsert_categories(category_model=Category, path=path)
    counts.update(sync_default_rules(category_model=Category, rule_model=RoutingRule))
    return counts
