"""The Content-Security-Policy header: strict everywhere, base-map tile hosts allowed for images, a nonce only
on pages that use one (the admin's map widget)."""

import pytest

from gridmgmt.csp import tile_source
from tests.factories import GridFactory

pytestmark = pytest.mark.django_db


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split("; ")}


def test_every_response_carries_the_strict_policy(client):
    for path in ["/accounts/login/", "/healthz", "/public/", "/open311/v2/discovery.json", "/api/v1/grids"]:
        policy = directives(client.get(path))
        assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"], path
        assert policy["default-src"] == ["'self'"] and policy["connect-src"] == ["'self'"]
        assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
        assert policy["worker-src"] == ["'self'"] and policy["manifest-src"] == ["'self'"]
        assert policy["img-src"] == ["'self'", "data:", "blob:"]


def test_configured_tile_hosts_may_serve_images(client, settings):
    settings.BASEMAP = "amap"
    settings.LEAFLET_CONFIG = {
        **settings.LEAFLET_CONFIG,
        "TILES": [("osm", "https://tile.example.org/{z}/{x}/{y}.png", {})],
    }
    images = directives(client.get("/accounts/login/"))["img-src"]
    assert images == ["'self'", "data:", "blob:", "https://*.is.autonavi.com", "https://tile.example.org"]


def test_the_tile_hosts_are_exactly_those_of_the_offered_base_maps(client, settings):
    settings.BASEMAP = "osm"
    settings.BASEMAP_CHOICES = ["amap", "tianditu"]  # 天地图 without a key: not offered, so not allowed
    settings.TIANDITU_KEY = ""
    settings.BASEMAP_URLS = {**settings.BASEMAP_URLS, "osm": "http://127.0.0.1:8099/osm/{z}/{x}/{y}.png"}
    images = directives(client.get("/public/"))["img-src"]
    assert images == ["'self'", "data:", "blob:", "http://127.0.0.1:8099", "https://*.is.autonavi.com"]
    settings.TIANDITU_KEY = "k"
    images = directives(client.get("/public/"))["img-src"]
    assert "https://*.tianditu.gov.cn" in images


def test_tile_sources():
    assert tile_source("https://t{s}.tianditu.gov.cn/vec_w/wmts?x={x}") == "https://*.tianditu.gov.cn"
    assert tile_source("http://tiles.local:8080/{z}/{x}/{y}.png") == "http://tiles.local:8080"
    assert tile_source("/static/tiles/{z}.png") is None


def test_only_the_admin_map_widget_gets_a_nonce(admin_client):
    grid = GridFactory()
    page = admin_client.get(f"/admin/grids/grid/{grid.pk}/change/")
    nonce = next(s for s in directives(page)["script-src"] if s.startswith("'nonce-"))[7:-1]
    assert f'nonce="{nonce}"' in page.content.decode()
    assert directives(admin_client.get("/admin/"))["script-src"] == ["'self'"]
    other = admin_client.get(f"/admin/grids/grid/{grid.pk}/change/")
    assert nonce not in other["Content-Security-Policy"]  # a new one each time


def test_no_template_carries_inline_script_style_or_handler():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    inline = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>|\sstyle=\"|<style|\son[a-z]+=\"", re.I)
    found = [
        f"{path.relative_to(root)}: {match.group()}"
        for path in root.glob("*/templates/**/*.html")
        for match in inline.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == []
