"""Login, the menu each role sees, `/` per role, and pages served without any CDN."""

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def menu_of(html: str) -> list[str]:
    nav = re.search(r'<nav class="menu".*?</nav>', html, re.S).group(0)
    return re.findall(r'data-page="([a-z]+)"', nav)


def test_login_page_is_chinese_first_with_an_english_switch(client):
    page = client.get("/accounts/login/").content.decode()
    assert "登录" in page and "网格化管理系统" in page
    assert 'action="/i18n/setlang/"' in page and 'value="en"' in page
    client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    english = client.get("/accounts/login/").content.decode()
    assert "Log in" in english and "Grid Management System" in english


def test_root_sends_each_role_to_its_page(world, client):
    assert client.get("/")["Location"].startswith("/accounts/login/")
    expected = {"worker": "/m/", "dispatcher": "/map/", "manager": "/dashboard/", "admin": "/map/"}
    for role, url in expected.items():
        assert logged_in(world.accounts[role]).get("/")["Location"] == url, role


def test_menu_shows_each_role_only_its_pages(world):
    expected = {
        "worker": ["map", "public"],
        "dispatcher": ["map", "desk", "registry", "public"],
        "manager": ["map", "desk", "dashboard", "exports", "public"],
        "admin": ["map", "desk", "registry", "dashboard", "exports", "public", "admin"],
    }
    for role, pages in expected.items():
        response = logged_in(world.accounts[role]).get("/map/")
        assert response.status_code == 200, role
        assert menu_of(response.content.decode()) == pages, role
    assert logged_in(world.accounts["worker"]).get("/dashboard/").status_code == 403
    assert logged_in(world.accounts["dispatcher"]).get("/dashboard/").status_code == 403
    assert logged_in(world.accounts["manager"]).get("/dashboard/").status_code == 200
    assert Client().get("/map/")["Location"].startswith("/accounts/login/")
    assert Client().get("/public/").status_code == 200


def test_map_layers_per_role(world):
    def layers(role):
        html = logged_in(world.accounts[role]).get("/map/").content.decode()
        return re.findall(r'data-layer="([a-z]+)"', html)

    assert layers("worker") == ["streets", "communities", "grids", "buildings", "cases"]
    assert "precincts" in layers("dispatcher") and "buildings" in layers("dispatcher")
    assert "buildings" not in layers("manager") and "precincts" in layers("manager")


def test_pages_load_only_from_our_own_server(world):
    for role, url in (("dispatcher", "/map/"), ("manager", "/dashboard/"), ("manager", "/public/")):
        html = logged_in(world.accounts[role]).get(url).content.decode()
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert sources
        for source in sources:
            assert source.startswith(("/", "#", "data:")), source


def test_logout(world):
    client = logged_in(world.accounts["worker"])
    response = client.post("/logout/")
    assert response["Location"] == "/accounts/login/"
    assert client.get("/map/").status_code == 302


def test_base_map_choice(settings):
    from maps.basemaps import basemap_config

    settings.BASEMAP = "none"
    settings.BASEMAP_CHOICES = []
    assert basemap_config() == {
        "name": "none",
        "gcj02": False,
        "layers": [],
        "choices": [{"name": "none", "label": "无底图", "gcj02": False, "layers": []}],
    }
    settings.BASEMAP = "tianditu"
    settings.TIANDITU_KEY = ""
    assert basemap_config()["name"] == "none"  # 天地图 needs a key
    settings.TIANDITU_KEY = "k123"
    tianditu = basemap_config()
    assert tianditu["gcj02"] is False and len(tianditu["layers"]) == 2
    assert all("tk=k123" in layer["url"] and "{layer}" not in layer["url"] for layer in tianditu["layers"])
    assert ["vec" in tianditu["layers"][0]["url"], "cva" in tianditu["layers"][1]["url"]] == [True, True]
    settings.BASEMAP = "amap"
    assert basemap_config()["gcj02"] is True
    settings.BASEMAP = "osm"
    assert basemap_config()["layers"][0]["url"].startswith("https://")
    # The further choices a page offers in its layer control: the default first, none last; 天地图 only with a key.
    settings.BASEMAP_CHOICES = ["amap", "tianditu", "nonsense"]
    assert [c["name"] for c in basemap_config()["choices"]] == ["osm", "amap", "tianditu", "none"]
    settings.TIANDITU_KEY = ""
    settings.BASEMAP = "none"
    assert [c["name"] for c in basemap_config()["choices"]] == ["none", "amap"]


def test_amap_pages_are_told_to_shift_overlays(world, settings):
    import json

    settings.BASEMAP = "amap"
    html = logged_in(world.accounts["dispatcher"]).get("/map/").content.decode()
    config = json.loads(
        re.search(r'<script id="page-config" type="application/json">(.*?)</script>', html, re.S).group(1)
    )
    assert config["basemap"]["gcj02"] is True


def test_gcj02_tiles_shift_matches_the_python_conversion():
    from grids.coords import wgs84_to_gcj02
    from maps.views import tile_shift
    from tests.maps.test_api import tile_of

    z = 16
    x, y = tile_of(101.59, 26.58, z)
    dx, dy = tile_shift(z, x, y, "gcj02")
    assert 0.001 < abs(dx) < 0.01 and 0.001 < abs(dy) < 0.01
    assert tile_shift(z, x, y, "wgs84") == (0.0, 0.0)
    lon, lat = 101.59, 26.58
    glon, glat = wgs84_to_gcj02(lon, lat)
    assert abs((glon - lon) - dx) < 1e-4 and abs((glat - lat) - dy) < 1e-4
