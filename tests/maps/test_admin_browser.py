"""The admin in Chinese in Chromium: the index names every model in Chinese and links the import; an import of
buildings names the grid each new one fell into, and its link opens the map framed on that grid."""

import json
import re

import pytest

from tests.browser import browser, plain_http, server, session  # noqa: F401 (fixtures)
from tests.maps.conftest import X0, Y0

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_index_in_chinese_links_the_import_and_the_import_names_the_grid(session, world, tmp_path):  # noqa: F811
    s = session()
    s.login("t-admin")
    page = s.page
    page.goto("/admin/")
    assert page.locator("#site-name").inner_text() == "网格化管理系统"
    text = page.locator("#content-main").inner_text()
    assert not re.search(r"\b(Districts|Streets|Communities|Grids|Buildings|Households|People|Units|Staff|Registry"
                         r" changes|Case photos|Access tokens|Audit log|Patrols|Photos)\b", text), text  # fmt: skip
    for chinese in ("网格与基础信息", "区县", "楼栋", "住户", "工作人员", "案件", "审计日志", "移动终端接口"):
        assert chinese in text
    s.shot("30-admin-index-zh")
    page.click("#import-link")
    assert page.url.endswith("/admin/grids/import/")
    assert page.locator("h1").inner_text() == "导入图层"

    x, y, d = X0 + 0.031, Y0 + 0.031, 0.0003  # inside 第4网格
    ring = [[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]
    feature = {"code": "B510403001NEW1", "name": "新楼1栋", "address": "新路1号", "floors": 6}
    path = tmp_path / "buildings.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "properties": feature, "geometry": {"type": "Polygon", "coordinates": [ring]}}
                ],
            },
            ensure_ascii=False,
        )
    )
    page.select_option("select[name=layer]", "buildings")
    page.set_input_files("input[name=file]", str(path))
    page.check("input[name=commit]")
    page.click("input[type=submit]")
    page.wait_for_load_state("networkidle")
    row = page.locator("#import-placed tr[data-building=B510403001NEW1]")
    grid = world.grids[3]
    assert grid.name in row.inner_text() and grid.code in row.inner_text()
    s.shot("31-admin-import-result")
    row.locator("a").click()
    page.wait_for_function(f"() => document.documentElement.dataset.focusedGrid === {grid.code!r}", timeout=15_000)
    assert page.url.endswith(f"/map/?grid={grid.code}")
    bounds = page.evaluate("(() => { const b = window.__map.getBounds(); return [b.getWest(), b.getSouth(), "
                           "b.getEast(), b.getNorth()]; })()")  # fmt: skip
    # Framed on the grid (X0+0.02…0.04, Y0+0.02…0.04): its centre is in view and the view is not the whole street.
    assert bounds[0] < X0 + 0.03 < bounds[2] and bounds[1] < Y0 + 0.03 < bounds[3]
    assert bounds[2] - bounds[0] < 0.1
    s.shot("32-map-focused-grid")
