"""Every page on a phone (390×844) and a tablet (768×1024): the map first at the full width, nothing wider than
the screen, a header that stays on one or two lines, the map page's panel as a drawer. Each page is saved as a
screenshot at desktop and phone size under test-artifacts/screenshots/ for review."""

import pytest

from tests import browser as shared
from tests.browser import ARTIFACTS, Session

# The browser fixtures of the page tests (a live server on plain http, a session failing on console errors).
browser, plain_http, server, session = shared.browser, shared.plain_http, shared.server, shared.session

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = ARTIFACTS / "screenshots"
SIZES = {"desktop": (1400, 900), "tablet": (768, 1024), "phone": (390, 844)}

# Whatever overflows sideways: the document, or the scrolling <main> (its content would be cut off on the right).
OVERFLOW = """() => {
  const main = document.querySelector('main');
  return {doc: document.documentElement.scrollWidth, inner: window.innerWidth,
          main: main.scrollWidth, mainClient: main.clientWidth};
}"""
# Header items: none may be taller than two lines of its text (the old layout wrapped one character per line).
HEADER = """() => Array.from(document.querySelectorAll(
    '.topbar .brand, .topbar .menu a, .topbar-right button, .topbar-right a'))
  .filter(e => e.offsetParent !== null)
  .map(e => ({text: e.textContent.trim(), height: e.getBoundingClientRect().height,
              line: parseFloat(getComputedStyle(e).lineHeight) || 20}))"""


def pages(world):
    case = world.cases[0]
    return [
        ("login", None, "/accounts/login/", None),
        ("public", None, "/public/", "#publicmap"),
        ("map", "dispatcher", "/map/", "#map"),
        ("desk", "dispatcher", "/desk/", None),
        ("desk-case", "dispatcher", f"/desk/cases/{case.pk}/", "#case-map"),
        ("dashboard", "manager", "/dashboard/", "#hexmap"),
        ("admin", "admin", "/admin/", None),
    ]


def test_every_page_fits_phones_and_tablets(session, world_with_cases):
    world = world_with_cases
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems = []
    for name, role, path, map_selector in pages(world):
        s = session()
        # Django's admin pages name no icon, so the browser asks for /favicon.ico (404): not what is tested here.
        s.context.route("**/favicon.ico", lambda route: route.fulfill(status=204, body=b""))
        if role:
            s.login(world.accounts[role].username)
        for size, (width, height) in SIZES.items():
            s.page.set_viewport_size({"width": width, "height": height})
            s.page.goto(path)
            s.page.wait_for_load_state("networkidle")
            s.page.screenshot(path=str(SCREENSHOTS / f"{name}-{size}.png"), full_page=True)
            if name == "admin":
                continue  # Django's own layout: a screenshot for review only
            if size == "desktop":
                continue
            where = f"{name} at {width}px"
            o = s.page.evaluate(OVERFLOW)
            if o["doc"] > o["inner"] or o["main"] > o["mainClient"] + 1:
                problems.append(f"{where}: wider than the screen {o}")
            for item in s.page.evaluate(HEADER):
                if item["height"] > 2.2 * item["line"]:
                    problems.append(f"{where}: header item {item['text']!r} wraps ({item['height']:.0f}px)")
            if map_selector:
                box = s.page.locator(map_selector).bounding_box()
                # The width of the page less its margins and the map card's padding.
                if box is None or box["width"] < width - 48 or box["height"] < 200:
                    problems.append(f"{where}: the map does not fill the width ({box})")
    assert not problems, "\n".join(problems)


def test_the_map_pages_panel_is_a_drawer_on_a_phone(session, world_with_cases):
    world = world_with_cases
    s = session()
    s.login(world.accounts["dispatcher"].username)
    page = s.page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/map/")
    s.wait_ready("map")
    assert page.locator("#map").bounding_box()["width"] == 390
    assert page.locator("#side").bounding_box()["x"] + page.locator("#side").bounding_box()["width"] <= 0  # closed
    page.click(".drawer-toggle")
    page.wait_for_function("() => document.getElementById('side').getBoundingClientRect().left >= 0")
    assert page.get_attribute(".drawer-toggle", "aria-expanded") == "true"
    side = page.locator("#side").bounding_box()
    assert side["width"] <= 390 and page.locator("#f-state").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "map-phone-drawer.png"))
    # Picking a case in the list closes the drawer and shows the case on the map, as a bottom sheet.
    page.locator("#case-list li").first.click()
    page.wait_for_function("() => document.getElementById('side').getBoundingClientRect().right <= 0")
    page.wait_for_selector("#detail.open h3")
    detail = page.locator("#detail").bounding_box()
    assert detail["x"] == 0 and detail["width"] == 390 and detail["y"] > 300
    assert not page.locator(".drawer-toggle").is_visible()  # the sheet has the bottom of the screen
    number = page.locator("#detail h3").inner_text().strip()
    marker = page.locator(f".case-marker[title='{number}']").bounding_box()
    assert marker is not None and marker["y"] + marker["height"] < detail["y"]  # the case shows above the sheet
    page.screenshot(path=str(SCREENSHOTS / "map-phone-case.png"))
    page.click("#detail-close")
    assert page.locator(".drawer-toggle").is_visible()


def test_public_case_lookup_on_a_phone(browser, server, world_with_cases):
    world = world_with_cases
    s = Session(browser, server)
    page = s.page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/public/")
    s.wait_ready("public")
    closed = next(c for c in world.cases if c.state == "closed")
    page.fill("#lookup-number", closed.number)
    page.click("#lookup-form button")
    page.wait_for_selector(f".lookup-table[data-number='{closed.number}']")
    text = page.locator("#lookup-result").inner_text()
    assert "已结案" in text and "受理日期" in text and "办结日期" in text
    assert closed.address not in page.content() and closed.description not in page.content()
    page.screenshot(path=str(SCREENSHOTS / "public-phone-lookup.png"), full_page=True)
    page.fill("#lookup-number", "XQ-NOPE-00001")
    page.click("#lookup-form button")
    page.wait_for_selector("#lookup-result .error[data-status='404']")
    assert "没有这个案件编号" in page.locator("#lookup-result").inner_text()
    # The browser reports the 404 itself as a failed resource; anything else would be a fault of the page.
    errors = [e for e in s.errors if "404" not in e]
    s.context.close()
    assert not errors, errors
