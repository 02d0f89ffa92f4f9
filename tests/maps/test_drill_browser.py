"""The dashboard's drill-down and the 综合评价 page in Chromium, as a manager, at desktop and phone size: every
panel's figures are those the API gives for the region, the URL keeps the region, and exports follow it."""

import csv

import pytest
from django.utils import timezone

from tests.browser import browser, plain_http, server, session  # noqa: F401 (fixtures)
from tests.maps.conftest import X0, Y0

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"desktop": (1400, 900), "phone": (390, 844)}


def open_as_manager(session, size):  # noqa: F811
    s = session()
    s.page.set_viewport_size(dict(zip(("width", "height"), SIZES[size], strict=True)))
    s.login("t-manager")
    return s


def wait_region(page, code: str):
    page.wait_for_function(
        f"() => document.documentElement.dataset.region === {code!r}"
        f" && document.documentElement.dataset.summaryRegion === {code!r}"
        f" && document.documentElement.dataset.hexRegion === {code!r}",
        timeout=15_000,
    )
    page.wait_for_load_state("networkidle")


def click_map_at(page, lon: float, lat: float):
    page.locator("#hexmap").scroll_into_view_if_needed()
    point = page.evaluate(
        f"(() => {{ const p = window.__map.latLngToContainerPoint([{lat}, {lon}]); return [p.x, p.y]; }})()"
    )
    box = page.locator("#hexmap").bounding_box()
    page.mouse.click(box["x"] + point[0], box["y"] + point[1])


def assert_panels_match_api(page, code: str):
    """Lights, total, rankings and heat bins on the page are the API's figures for the region."""
    api = page.request.get(f"/api/v1/dashboard/summary?region={code}").json()
    lights = {k: int(page.locator(f".lights [data-light={k}]").inner_text().split("\n")[0]) for k in api["lights"]}
    assert lights == api["lights"]
    assert int(page.evaluate("document.documentElement.dataset.total")) == api["total"]
    assert int(page.evaluate("document.documentElement.dataset.hexCases")) == api["total"]
    for section in ("communities", "grids", "units"):
        table = page.locator(f"#rank-{section}")
        names = table.locator("tr[data-code] td:nth-child(2)").all_inner_texts()
        assert names == [row["name"] for row in api[section]], section
    workers = page.locator("#rank-workers tr[data-code]").evaluate_all("rows => rows.map(r => r.dataset.code)")
    assert workers == [row["code"] for row in api["workers"]]
    return api


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_manager_drills_from_district_to_grid_and_back(session, world_with_cases, size, tmp_path):  # noqa: F811
    world = world_with_cases
    street, community, grid = world.street, world.communities[1], world.grids[3]
    s = open_as_manager(session, size)
    page = s.page
    wait_region(page, "")
    assert page.locator("#crumbs").inner_text() == "全区"
    top = assert_panels_match_api(page, "")
    assert top["total"] == 5

    # By clicking the map: the street, then the community on the right.
    click_map_at(page, X0 + 0.02, Y0 + 0.02)
    wait_region(page, street.code)
    assert page.url.endswith(f"?region={street.code}")
    assert_panels_match_api(page, street.code)
    assert page.locator("[data-rank-level=street]").is_hidden()
    click_map_at(page, X0 + 0.03, Y0 + 0.01)
    wait_region(page, community.code)
    api = assert_panels_match_api(page, community.code)
    assert api["total"] == 2 and page.locator("[data-rank-level=community]").is_hidden()
    assert page.locator("#crumbs").inner_text().replace("\n", "") == "全区›清香坪街道›社区2"

    # By the select: the grid.
    page.select_option("#d-region", grid.code)
    wait_region(page, grid.code)
    assert_panels_match_api(page, grid.code)
    this_month = timezone.localdate().strftime("%Y-%m")
    assert this_month in page.evaluate("document.documentElement.dataset.partialMonths")
    s.shot(f"20-dashboard-grid-{size}")

    # The export follows the region.
    assert f"region={grid.code}" in page.get_attribute("#export-csv", "href")
    with page.expect_download() as download:
        page.click("#export-csv")
    path = tmp_path / "grid.csv"
    download.value.save_as(path)
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    assert next(row for row in rows if row[0] == "region")[:4] == ["region", grid.code, grid.name, "2"]
    assert sum(int(row[3]) for row in rows if row[0] == "hexagon") == 2

    # Breadcrumbs back to the community; reload keeps it; the browser's back button goes to the grid again.
    page.click(f"#crumbs a[data-region='{community.code}']")
    wait_region(page, community.code)
    page.reload()
    wait_region(page, community.code)
    assert_panels_match_api(page, community.code)
    page.go_back()
    wait_region(page, grid.code)
    page.click("#crumbs a[data-region='']")
    wait_region(page, "")
    assert_panels_match_api(page, "")


def test_a_region_outside_the_managers_own_is_refused_in_the_page(session, world_with_cases):  # noqa: F811
    from grids.models import Role
    from tests.factories import StaffFactory, UserFactory
    from tests.maps.conftest import PASSWORD

    world = world_with_cases
    StaffFactory(user=UserFactory(username="t-c-manager"), role=Role.MANAGER, community=world.communities[1])
    s = session()
    s.login("t-c-manager", PASSWORD)
    page = s.page
    wait_region(page, world.communities[1].code)
    assert page.locator("#crumbs").inner_text() == "社区2"  # no way up
    # A link to another community lands back on the manager's own (the API answered 403).
    s.errors.clear()
    page.goto(f"/dashboard/?region={world.communities[0].code}")
    wait_region(page, world.communities[1].code)
    assert page.request.get(f"/api/v1/dashboard/summary?region={world.communities[0].code}").status == 403
    s.errors[:] = [e for e in s.errors if "403" not in e]


@pytest.mark.parametrize("size", list(SIZES))
def test_assessment_page_per_region_unit_and_month(session, world_with_cases, size, tmp_path):  # noqa: F811
    world = world_with_cases
    s = open_as_manager(session, size)
    page = s.page
    s.errors.clear()  # the login lands on the dashboard, whose phone layout is not this test's (see above)
    page.goto(f"/dashboard/assessment?region={world.street.code}")
    page.wait_for_function(f"() => document.documentElement.dataset.assessmentRegion === {world.street.code!r}")
    api = page.request.get(f"/api/v1/dashboard/assessment?region={world.street.code}").json()
    for item in api["overall"]:
        shown = page.locator(f"#overall [data-code={item['code']}]").inner_text().split("\n")[0]
        value = item["value"]
        expected = "—" if value is None else f"{value:g}" + ("%" if item["code"].endswith("rate") else "")
        assert shown == expected, item
    assert "返工率" in page.locator("#overall").inner_text() and "按期结案率" in page.locator("#overall").inner_text()
    assert page.locator("#regions tr[data-region]").count() == 2
    assert page.locator("#units tr[data-unit]").count() == len(api["units"])
    this_month = timezone.localdate().strftime("%Y-%m")
    partial = page.locator("#months tr[data-partial]")
    assert partial.count() == 1 and partial.get_attribute("data-month") == this_month
    assert "本月至今" in partial.inner_text()
    s.shot(f"21-assessment-{size}")
    # Down to a community from the table; the URL keeps it and the export follows.
    page.click(f"#regions a[data-region='{world.communities[0].code}']")
    page.wait_for_function(f"() => document.documentElement.dataset.assessmentRegion === {world.communities[0].code!r}")
    assert f"region={world.communities[0].code}" in page.url
    page.reload()
    page.wait_for_function(f"() => document.documentElement.dataset.assessmentRegion === {world.communities[0].code!r}")
    assert page.locator("#regions tr[data-region]").count() == 2  # its two grids
    with page.expect_download() as download:
        page.click("#export-csv")
    path = tmp_path / "a.csv"
    download.value.save_as(path)
    text = path.read_text(encoding="utf-8-sig")
    assert world.communities[0].code in download.value.suggested_filename
    assert "第1网格" in text and "本月至今" in text
