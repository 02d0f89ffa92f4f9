"""Base maps in a real browser: every map page asks a tile server for its base map and draws the tiles, the
registry's own names are drawn over them, the user switches base maps in the layer control and the choice is kept,
and with AMap (GCJ-02) the overlays are shifted onto the tiles.

The tile server is a thread on 127.0.0.1 serving one PNG for every path and noting each path it was asked for;
settings.BASEMAP_URLS point the pages at it (and the Content-Security-Policy follows the settings).
"""

import math
import struct
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests import browser as shared
from tests.maps.conftest import X0, Y0

# The browser fixtures of the page tests (a live server on plain http, a session failing on console errors).
browser, plain_http, server, session = shared.browser, shared.plain_http, shared.server, shared.session

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def png(width: int = 256, height: int = 256) -> bytes:
    """A plain light-green PNG tile."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\xd8\xf0\xd0" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


class TileServer:
    def __init__(self):
        body, seen = png(), []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                seen.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.seen = seen
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def tiles(self, prefix: str) -> set[tuple[int, int, int]]:
        """(z, x, y) of every tile asked for under /prefix/z/x/y.png."""
        found = set()
        for path in self.seen:
            parts = path.split("?")[0].strip("/").split("/")
            if parts[0] == prefix:
                z, x, y = parts[-3:]
                found.add((int(z), int(x), int(y.split(".")[0])))
        return found

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def tile_server():
    # Module-wide, so it stops only after every test's browser session has closed: a session still drawing
    # tiles when the server went away would fail on the refused requests.
    server = TileServer()
    yield server
    server.close()


@pytest.fixture
def tiles(settings, tile_server):
    tile_server.seen.clear()
    base = tile_server.base
    settings.BASEMAP = "osm"
    settings.BASEMAP_CHOICES = ["amap", "tianditu"]
    settings.TIANDITU_KEY = "test-key"
    settings.BASEMAP_URLS = {
        "osm": base + "/osm/{z}/{x}/{y}.png",
        "tianditu": base + "/tdt-{layer}/{z}/{x}/{y}.png?tk={key}",
        "amap": base + "/amap/{z}/{x}/{y}.png",
    }
    return tile_server


def tile_of(lon: float, lat: float, zoom: int) -> tuple[int, int, int]:
    n = 2**zoom
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return zoom, x, y


def drawn_tiles(page, container: str, prefix: str) -> int:
    page.wait_for_function(
        "([sel, prefix]) => Array.from(document.querySelectorAll(sel + ' img.leaflet-tile-loaded'))"
        ".some(img => img.src.includes(prefix) && img.naturalWidth === 256)",
        arg=[container, prefix],
        timeout=15_000,
    )
    return page.evaluate(
        "([sel, prefix]) => Array.from(document.querySelectorAll(sel + ' img.leaflet-tile-loaded'))"
        ".filter(img => img.src.includes(prefix)).length",
        [container, prefix],
    )


def labels(page, container: str) -> list[str]:
    page.wait_for_function(
        "(sel) => document.querySelector(sel).getAttribute('data-labels') !== null", arg=container, timeout=15_000
    )
    return page.eval_on_selector_all(f"{container} .map-label span", "spans => spans.map(s => s.textContent)")


def test_every_map_page_draws_its_base_map_tiles_and_the_registry_names(session, world_with_cases, tiles):
    world = world_with_cases
    case = world.cases[0]
    pages = [
        ("dispatcher", "/map/", "#map"),
        ("dispatcher", f"/desk/cases/{case.pk}/", "#case-map"),
        ("manager", "/dashboard/", "#hexmap"),
        (None, "/public/", "#publicmap"),
    ]
    for role, path, container in pages:
        s = session()
        if role:
            s.login(world.accounts[role].username)
        tiles.seen.clear()
        s.page.goto(path)
        assert drawn_tiles(s.page, container, "/osm/") > 0, path
        assert tiles.tiles("osm"), path
        assert s.page.get_attribute(container, "data-basemap") == "osm"
        names = labels(s.page, container)
        assert names, f"{path}: no names drawn"
        assert any(name in names for name in ["清香坪街道", "社区1", "社区2", "第1网格", "攀钢1栋"]), (path, names)
        s.shot(f"basemap-osm-{path.strip('/').replace('/', '-') or 'home'}")
        s.close()


def test_building_names_from_zoom_17_and_unit_names(session, world, tiles):
    s = session()
    s.login(world.accounts["dispatcher"].username)
    s.page.goto("/map/")
    s.wait_ready("map")
    # Zoomed out over the street: its name, no building's.
    s.page.evaluate(f"window.__map.setView(Grid.toMap({X0 + 0.02}, {Y0 + 0.02}), 13, {{animate: false}})")
    s.page.wait_for_function("() => document.querySelector('#map .map-label-street') !== null")
    names = labels(s.page, "#map")
    assert "清香坪街道" in names and "攀钢1栋" not in names
    # At z17 over the first buildings: their names and the grid's; the police station's at z14+.
    s.page.evaluate(f"window.__map.setView(Grid.toMap({X0 + 0.0075}, {Y0 + 0.0075}), 17, {{animate: false}})")
    s.page.wait_for_function("() => document.querySelector('#map .map-label-building') !== null")
    names = labels(s.page, "#map")
    assert {"攀钢1栋", "攀钢2栋"} <= set(names) and "第1网格" in names
    s.page.evaluate(f"window.__map.setView(Grid.toMap({X0 + 0.01}, {Y0 + 0.01}), 15, {{animate: false}})")
    s.page.wait_for_function("() => document.querySelector('#map .map-label-unit') !== null")
    assert "清香坪派出所" in labels(s.page, "#map")
    s.shot("basemap-labels-z15")


def test_switching_base_maps_is_remembered_and_amap_shifts_the_overlays(session, world_with_cases, tiles):
    from grids.coords import wgs84_to_gcj02

    world = world_with_cases
    s = session()
    s.login(world.accounts["dispatcher"].username)
    page = s.page
    page.goto("/map/")
    s.wait_ready("map")
    drawn_tiles(page, "#map", "/osm/")
    street = world.street.code
    corner = (
        "(code) => { let sw = null; window.__map.eachLayer(l => { if (l.feature && l.feature.properties.code === code"
        " && l.getBounds) sw = l.getBounds().getSouthWest(); }); return sw && [sw.lng, sw.lat]; }"
    )
    assert page.evaluate(corner, street) == pytest.approx([X0, Y0], abs=1e-6)  # WGS84 tiles: drawn where it is

    # 天地图: the vector map and its annotation layer, same datum, no reload.
    tiles.seen.clear()
    page.locator(".leaflet-control-layers").hover()
    page.get_by_label("天地图").check()
    drawn_tiles(page, "#map", "/tdt-vec/")
    drawn_tiles(page, "#map", "/tdt-cva/")
    assert all("tk=test-key" in p for p in tiles.seen if p.startswith("/tdt-"))
    assert page.get_attribute("#map", "data-basemap") == "tianditu"

    # AMap: GCJ-02 tiles, so the page draws itself again with every overlay shifted, keeping the view.
    zoom_before = page.evaluate("window.__map.getZoom()")
    tiles.seen.clear()
    page.locator(".leaflet-control-layers").hover()
    with page.expect_navigation():
        page.get_by_label("高德地图").check()
    s.wait_ready("map")
    drawn_tiles(page, "#map", "/amap/")
    assert page.get_attribute("#map", "data-basemap") == "amap"
    assert page.evaluate("window.__map.getZoom()") == zoom_before
    shifted = page.evaluate(corner, street)
    expected = wgs84_to_gcj02(X0, Y0)
    assert shifted == pytest.approx(list(expected), abs=2e-5)
    assert abs(shifted[0] - X0) > 1e-3  # a shift of a few hundred metres, as AMap's tiles are drawn
    # The tiles asked for are those around the shifted position, not around the WGS84 one.
    zoom = page.evaluate("window.__map.getZoom()")
    centre = wgs84_to_gcj02(X0 + 0.02, Y0 + 0.02)
    assert tile_of(*centre, zoom) in tiles.tiles("amap")
    # The buildings' vector tiles come shifted from the server too.
    assert page.evaluate("Grid.gcj") is True

    # Kept: the next visit, and another page of the site, open on AMap.
    page.goto("/map/")
    s.wait_ready("map")
    assert page.get_attribute("#map", "data-basemap") == "amap"
    page.goto("/public/")
    drawn_tiles(page, "#publicmap", "/amap/")

    # None: no tile at all, the names still drawn.
    page.goto("/map/")
    s.wait_ready("map")
    page.locator(".leaflet-control-layers").hover()
    with page.expect_navigation():
        page.get_by_label("无底图").check()
    s.wait_ready("map")
    tiles.seen.clear()
    page.evaluate("window.__map.setZoom(window.__map.getZoom() - 1, {animate: false})")
    page.wait_for_function("() => document.querySelectorAll('#map .map-label').length > 0")
    assert page.get_attribute("#map", "data-basemap") == "none"
    assert page.evaluate("document.querySelectorAll('#map img.leaflet-tile').length") == 0
    assert not tiles.seen


def test_admin_map_widget_draws_the_registry_names(session, world, tiles, settings, monkeypatch):
    import leaflet

    url = tiles.base + "/osm/{z}/{x}/{y}.png"
    monkeypatch.setitem(leaflet.app_settings, "TILES", [("OSM", url, {"maxZoom": 19})])
    settings.LEAFLET_CONFIG = {**settings.LEAFLET_CONFIG, "TILES": [("OSM", url, {"maxZoom": 19})]}
    s = session()
    # Django's admin pages name no icon, so the browser asks for /favicon.ico (404): not what is tested here.
    s.context.route("**/favicon.ico", lambda route: route.fulfill(status=204, body=b""))
    s.login(world.accounts["admin"].username)
    s.page.goto(f"/admin/grids/grid/{world.grids[0].pk}/change/")
    container = ".leaflet-container"
    assert drawn_tiles(s.page, container, "/osm/") > 0
    s.page.wait_for_function("() => document.querySelectorAll('.leaflet-container .map-label').length > 0")
    drawn = s.page.eval_on_selector_all(".map-label span", "spans => spans.map(s => s.textContent)")
    # The names that fit the widget's zoom: regions and units of the registry.
    registry = {world.street.name, world.police.name, world.office.name}
    registry |= {c.name for c in world.communities} | {g.name for g in world.grids}
    assert drawn and set(drawn) <= registry, drawn
    s.shot("basemap-admin-grid")
