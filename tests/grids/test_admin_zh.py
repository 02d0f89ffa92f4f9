"""The admin in Chinese: model, field and app names through gettext (English under /en), a link to the import page
from the index, and an import's result naming the grid each new building fell into, linked to the map."""

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from tests.maps.conftest import X0, Y0, world  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def test_admin_index_is_chinese_and_links_the_import(client, world):  # noqa: F811
    client.force_login(world.accounts["admin"])
    page = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    text = re.sub(r"<[^>]+>", " ", page)
    for english in ("Districts", "Streets", "Communities", "Grids", "Buildings", "Households", "People", "Units",
                    "Staff", "Registry changes", "Case photos", "Access tokens", "Audit log", "Patrols"):  # fmt: skip
        assert english not in text, english
    for chinese in (
        "区县",
        "街道",
        "社区",
        "网格",
        "楼栋",
        "住户",
        "人员",
        "单位",
        "工作人员",
        "网格与基础信息",
        "案件",
    ):
        assert chinese in text, chinese
    assert 'href="/admin/grids/import/"' in page and "数据导入" in text
    building = client.get("/admin/grids/building/add/").content.decode()
    assert "楼栋编码" in building and "层数" in building


def test_every_registered_model_and_field_has_a_chinese_name():
    from django.contrib import admin

    latin = re.compile(r"[A-Za-z]")
    with translation.override("zh-hans"):
        for model in admin.site._registry:
            if model._meta.app_label in ("auth",):
                continue  # Django's own, translated by Django
            names = [str(model._meta.verbose_name), str(model._meta.verbose_name_plural)]
            names += [
                str(f.verbose_name)
                for f in model._meta.get_fields()
                if hasattr(f, "verbose_name") and not f.auto_created
            ]
            english = [n for n in names if latin.search(n.replace("Open311", "").replace("SHA-256", ""))]
            assert not english, (model.__name__, english)
            assert not latin.search(str(model._meta.app_config.verbose_name)), model._meta.app_label


def test_model_names_in_english_under_en():
    from grids.models import Building, Staff

    with translation.override("en"):
        assert str(Building._meta.verbose_name) in ("Building", "Buildings")
        assert str(Staff._meta.get_field("role").verbose_name) == "Role"


def test_an_import_names_the_grid_of_each_new_building_and_links_the_map(client, world):  # noqa: F811
    client.force_login(world.accounts["admin"])
    x, y, d = X0 + 0.031, Y0 + 0.031, 0.0003  # inside 第4网格
    ring = [[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]
    body = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": "B510403001NEW1", "name": "新楼1栋", "address": "新路1号", "floors": 6},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        ],
    }
    upload = SimpleUploadedFile("b.geojson", json.dumps(body, ensure_ascii=False).encode())
    response = client.post("/admin/grids/import/", {"layer": "buildings", "file": upload, "commit": "on"})
    page = response.content.decode()
    assert response.status_code == 200
    grid = world.grids[3]
    assert 'id="import-placed"' in page, page[-2000:]
    assert "新楼1栋" in page and grid.name in page
    assert f'href="/map/?grid={grid.code}"' in page
