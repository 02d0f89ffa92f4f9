import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from cases.categories import load_categories
from cases.models import Category, CategoryKind, validate_time_limits
from grids.models import UnitType

pytestmark = pytest.mark.django_db


def leaves():
    return Category.objects.filter(children__isnull=True)


def test_categories_exist_after_migrate_with_at_least_60_leaves():
    assert leaves().count() >= 60
    assert set(Category.objects.filter(parent__isnull=True).values_list("kind", flat=True)) == set(CategoryKind.values)


@pytest.mark.parametrize(
    "name",
    [
        *("市容环境", "道路交通", "公用设施", "园林绿化", "宣传广告", "施工管理", "街面秩序", "突发事件"),
        *("矛盾纠纷", "治安隐患", "安全隐患", "特殊人群服务", "民生诉求"),
    ],
)
def test_required_groups_are_present_with_leaves(name):
    group = Category.objects.filter(name_zh=name, parent__parent__isnull=True, parent__isnull=False).first()
    assert group is not None, name
    assert group.children.exists()


def test_every_leaf_is_complete_and_believable():
    for leaf in leaves():
        assert 1 <= leaf.default_level <= 4
        assert leaf.handling_unit_type in UnitType.values, leaf.code
        assert leaf.handling_unit_type not in leaf.co_unit_types
        validate_time_limits(leaf.time_limits)
        assert leaf.name_en and leaf.register_conditions and leaf.close_conditions, leaf.code
        assert leaf.code.startswith(leaf.parent.code), leaf.code
        # Level 1 (就地解决) and 2 go to the community; a level-4 leaf never stops at the community.
        if leaf.default_level <= 2:
            assert leaf.handling_unit_type == UnitType.COMMUNITY_COMMITTEE, leaf.code
        if leaf.default_level == 4:
            assert leaf.handling_unit_type == UnitType.DEPARTMENT, leaf.code


def test_security_risks_involve_police_and_street_office():
    for leaf in Category.objects.get(name_zh="治安隐患").children.all():
        assert {leaf.handling_unit_type, *leaf.co_unit_types} >= {UnitType.POLICE_STATION, UnitType.STREET_OFFICE}


def test_loading_again_is_idempotent_and_repairs_edits():
    before = Category.objects.count()
    leaf = Category.objects.get(code="SJ0102")
    leaf.name_zh = "被改动"
    leaf.save()
    counts = load_categories()
    assert counts["created"] == 0 and counts["updated"] == 1
    assert Category.objects.count() == before
    assert Category.objects.get(code="SJ0102").name_zh == "暴露垃圾"
    call_command("load_categories", stdout=io.StringIO())
    assert Category.objects.count() == before


def test_a_broken_file_is_refused_whole(tmp_path):
    bad = tmp_path / "bad.json"
    tree = [{"code": "ZZ", "name_zh": "坏", "kind": "event", "children": [
        {"code": "ZZ01", "name_zh": "坏小类", "default_level": 2, "handling_unit_type": "community",
         "time_limits": {"register": 2, "dispatch": 2, "process": -1, "verify": 8}},
    ]}]  # fmt: skip
    bad.write_text(json.dumps({"categories": tree}), encoding="utf-8")
    with pytest.raises(ValidationError, match="ZZ01"):
        load_categories(path=bad)
    assert not Category.objects.filter(code__startswith="ZZ").exists()


@pytest.mark.parametrize(
    "limits",
    [
        [],
        {"register": 2, "dispatch": 2, "process": 48},
        {"register": 2, "dispatch": 2, "process": 48, "verify": 8, "lunch": 1},
        {"register": 2, "dispatch": 2, "process": 0, "verify": 8},
        {"register": "2", "dispatch": 2, "process": 48, "verify": 8},
        {"register": True, "dispatch": 2, "process": 48, "verify": 8},
    ],
)
def test_time_limits_are_validated(limits):
    with pytest.raises(ValidationError):
        validate_time_limits(limits)


def test_limit_hours_falls_back_to_defaults_for_close():
    leaf = Category.objects.get(code="SJ0102")
    assert leaf.limit_hours("process") == leaf.time_limits["process"]
    assert leaf.limit_hours("close") == leaf.time_limits["close"]
