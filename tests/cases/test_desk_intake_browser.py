"""一窗受理, 按编号查找 and the queue line in a real browser (Debian's Chromium driven by Playwright against a live
server), at a phone's 390×844 and a desk's 1400×900, as a street office's dispatcher: a call is taken with the place
picked on the map, the routing preview names the unit and why, saving opens the routed case; a double click makes
one case; bad input shows its errors and writes nothing; case numbers open cases from the desk and the map; an ID
number finds a resident, masked and logged; a manager cannot search residents. No console error is allowed beyond
those a test provokes; screenshots go to test-artifacts/."""

import re

import pytest

from audit.models import AuditAction, AuditEntry
from cases.models import Case, Source
from grids import pii
from grids.models import Role
from tests.browser import ARTIFACTS, plain_http_settings
from tests.cases.helpers import act, dispatcher, person, report
from tests.factories import BuildingFactory, HouseholdFactory, PersonFactory, square

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "desk-intake-password-1"
DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def expected_errors() -> list[str]:
    return []


@pytest.fixture
def open_page(live_server, expected_errors, chromium):
    contexts, errors = [], []

    def open_(viewport=DESKTOP):
        context = chromium.new_context(base_url=live_server.url, viewport=viewport, locale="zh-CN")
        contexts.append(context)
        tab = context.new_page()
        tab.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
        tab.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
        return tab

    with plain_http_settings():
        yield open_
        for context in contexts:
            context.close()
    unexpected = [error for error in errors if not any(text in error for text in expected_errors)]
    assert not unexpected, "\n".join(unexpected)


def shot(tab, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(tab, user, next_url: str = "/desk/") -> None:
    user.set_password(PASSWORD)
    user.save()
    tab.goto(f"/accounts/login/?next={next_url}")
    tab.fill("input[name=username]", user.get_username())
    tab.fill("input[name=password]", PASSWORD)
    tab.click("button.primary")
    tab.wait_for_url(f"**{next_url}")


def click_on_map(tab, lon: float, lat: float) -> None:
    """A real click on the intake map where (lon, lat) is drawn."""
    tab.locator("#intake-map").scroll_into_view_if_needed()
    x, y = tab.evaluate(
        "([lat, lon]) => { const p = window.__intakeMap.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
        [lat, lon],
    )
    box = tab.locator("#intake-map").bounding_box()
    tab.mouse.click(box["x"] + x, box["y"] + y)


def pick_category(tab, text: str, code: str) -> None:
    tab.fill("#in-category-search", text)
    tab.click(f"#category-options li[data-code={code}]")


def fill_intake(tab, geo) -> None:
    tab.select_option("#in-source", "hotline")
    tab.fill("#in-external-ref", "12345-20261203-0042")
    pick_category(tab, "私搭", "SJ0101")
    point = geo.point("W1", "N")
    click_on_map(tab, point.x, point.y)
    tab.fill("#in-description", "来电反映：楼顶新搭彩钢棚")
    tab.fill("#in-caller-name", "李女士")
    tab.fill("#in-caller-phone", "139 1234 5678")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390x844", "1400x900"])
def test_a_call_is_taken_with_a_map_pick_previewed_and_saved_as_the_routed_case(open_page, geo, viewport):
    tab = open_page(viewport)
    log_in(tab, dispatcher(geo.offices["W"], username="desk-west"))
    tab.click("#new-case")
    tab.wait_for_url("**/desk/new")
    tab.wait_for_function("() => document.documentElement.dataset.readyIntake !== undefined")
    fill_intake(tab, geo)
    tab.wait_for_selector("#route-unit")
    assert tab.inner_text("#route-unit") == geo.offices["W"].name
    assert geo.department.name in tab.inner_text("#route-co-units")
    tab.wait_for_function("() => document.getElementById('in-address').value !== ''")
    assert "西街道" in tab.input_value("#in-address")  # where the pick fell, for the record
    assert tab.inner_text("#route-reason").strip()
    assert tab.evaluate("() => document.documentElement.scrollWidth") <= viewport["width"]  # nothing runs off
    shot(tab, f"desk-intake-{viewport['width']}")
    tab.click("#intake-save")
    tab.wait_for_url(re.compile(r"/desk/cases/\d+/$"))
    case = Case.objects.get()
    assert tab.url.endswith(f"/desk/cases/{case.pk}/")
    assert case.source == Source.HOTLINE and case.external_ref == "12345-20261203-0042"
    assert tab.inner_text("#case-unit") == geo.offices["W"].name
    assert "139****5678" in tab.inner_text("#case-caller") and "13912345678" not in tab.content()
    shot(tab, f"desk-intake-saved-{viewport['width']}")


def test_a_place_found_by_address_and_a_double_click_on_save_make_one_case(open_page, geo):
    point = geo.point("W2", "S")
    BuildingFactory(footprint=square(point.x, point.y, 0.0003), name="88栋", address="西街道88号")
    tab = open_page()
    log_in(tab, dispatcher(geo.offices["W"], username="desk-west"), "/desk/new")
    tab.wait_for_function("() => document.documentElement.dataset.readyIntake !== undefined")
    fill_intake(tab, geo)
    tab.fill("#in-place-search", "西街道88号")
    tab.click("#in-place-find")
    tab.click("#place-results li[data-index='0']")
    assert tab.input_value("#in-address") == "西街道88号"
    tab.wait_for_function("() => document.getElementById('place-picked').dataset.lat.startsWith('26.59')")
    tab.wait_for_selector("#route-unit")
    tab.dblclick("#intake-save")
    tab.wait_for_url(re.compile(r"/desk/cases/\d+/$"))
    case = Case.objects.get()  # one case
    assert case.address == "西街道88号" and case.community == geo.communities["W2"]


def test_bad_input_shows_the_errors_and_creates_nothing(open_page, geo, expected_errors):
    expected_errors.append("400 (Bad Request)")
    tab = open_page(PHONE)
    log_in(tab, dispatcher(geo.offices["W"], username="desk-west"), "/desk/new")
    tab.wait_for_function("() => document.documentElement.dataset.readyIntake !== undefined")
    tab.fill("#in-description", "没有类别，位置在区外")
    tab.evaluate("() => window.__intakeMap.setView([26.60, 101.70], 15, { animate: false })")  # east of the district
    click_on_map(tab, 101.70, 26.60)
    tab.click("#intake-save")
    tab.wait_for_selector("[data-error=category]:not([hidden])")
    assert tab.is_visible("#intake-error")
    pick_category(tab, "SJ0101", "SJ0101")
    tab.wait_for_selector("#route-error")  # the preview already says the place is outside
    tab.click("#intake-save")
    tab.wait_for_selector("[data-error=location]:not([hidden])")
    assert "不在" in tab.inner_text("[data-error=location]")
    shot(tab, "desk-intake-bad-input")
    assert not Case.objects.exists()


def test_a_case_number_opens_the_case_from_the_desk_and_from_the_map(open_page, geo, expected_errors):
    expected_errors.append("404 (Not Found)")
    west = dispatcher(geo.offices["W"], username="desk-west")
    ours = report(geo.point("W1", "N"), "SJ0101", source=Source.HOTLINE)
    theirs = report(geo.point("E1", "N"), "SJ0101", source=Source.HOTLINE)
    tab = open_page()
    log_in(tab, west)
    tab.fill("#find-q", ours.number)
    tab.press("#find-q", "Enter")
    tab.wait_for_url(f"**/desk/cases/{ours.pk}/")
    tab.goto("/desk/")
    tab.fill("#find-q", theirs.number)
    tab.press("#find-q", "Enter")
    tab.wait_for_selector("#find-message")
    assert "没有找到该编号的案件，或该案件不归您办理" in tab.inner_text("#find-message")
    assert theirs.number in tab.inner_text("#find-term") and tab.url.endswith("/desk/find")

    tab.goto("/map/")
    tab.wait_for_function("() => document.documentElement.dataset.readyMap !== undefined")
    tab.fill("#side #find-q", ours.number)
    shot(tab, "map-find-case")
    tab.press("#side #find-q", "Enter")
    tab.wait_for_url(f"**/desk/cases/{ours.pk}/")


def test_the_desk_and_the_map_link_to_each_other_for_a_case(open_page, geo):
    case = report(geo.point("W1", "N"), "SJ0101", source=Source.HOTLINE)
    tab = open_page()
    log_in(tab, dispatcher(geo.offices["W"], username="desk-west"), f"/desk/cases/{case.pk}/")
    tab.click("#open-on-map")
    tab.wait_for_url(f"**/map/?case={case.pk}")
    tab.wait_for_selector(f"#detail-body h3[data-case-id='{case.pk}']")
    centre = tab.evaluate(
        "() => { const c = window.__map.getCenter(); return [c.lng, c.lat, window.__map.getZoom()]; }"
    )
    assert abs(centre[0] - case.point.x) < 1e-4 and abs(centre[1] - case.point.y) < 1e-4 and centre[2] >= 17
    tab.click("#detail-body a.desk-link")
    tab.wait_for_url(f"**/desk/cases/{case.pk}/")


def resident(geo):
    point = geo.point("W1", "N")
    building = BuildingFactory(footprint=square(point.x, point.y, 0.0003), name="7栋", address="西街道7号")
    return PersonFactory(household=HouseholdFactory(building=building), name="王芳")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390x844", "1400x900"])
def test_an_id_number_finds_the_resident_masked_and_logged(open_page, geo, viewport):
    someone = resident(geo)
    plain = pii.decrypt(someone.id_number_cipher)
    tab = open_page(viewport)
    log_in(tab, dispatcher(geo.offices["W"], username="desk-west"))
    tab.fill("#find-q", plain)
    tab.press("#find-q", "Enter")
    tab.wait_for_selector("#find-people")
    assert "王芳" in tab.inner_text("#find-people") and someone.id_number_masked in tab.inner_text("#find-people")
    assert plain not in tab.content() and plain not in tab.url and tab.url.endswith("/desk/find")
    entry = AuditEntry.objects.get(action=AuditAction.REVEAL)
    assert entry.actor == "desk-west" and entry.detail["term"] == someone.id_number_masked
    shot(tab, f"desk-find-person-{viewport['width']}")


def test_a_manager_cannot_search_residents(open_page, geo, expected_errors):
    expected_errors.append("403 (Forbidden)")
    someone = resident(geo)
    tab = open_page()
    log_in(tab, person(Role.MANAGER, username="manager-x"))
    tab.fill("#find-q", pii.decrypt(someone.id_number_cipher))
    tab.press("#find-q", "Enter")
    tab.wait_for_selector("#find-message")
    assert "不能查找居民" in tab.inner_text("#find-message") and "王芳" not in tab.content()
    assert not AuditEntry.objects.filter(action=AuditAction.REVEAL).exists()


def test_the_queue_line_says_what_each_case_waits_for_who_holds_it_and_the_hours_left(open_page, geo):
    west = dispatcher(geo.offices["W"], username="desk-west")
    case = report(geo.point("W1", "N"), "SJ0101", source=Source.HOTLINE)
    act(case, west, "register")
    tab = open_page(PHONE)
    log_in(tab, west)
    line = tab.inner_text(f"#queue tr[data-case='{case.pk}'] td.waits")
    assert re.fullmatch(rf"待派遣 · {geo.offices['W'].name} · (剩余|超时) \d+\.\d 工作小时", line), line
    shot(tab, "desk-queue-waits-390")


@pytest.mark.slow
def test_the_demo_dispatcher_takes_a_call_on_the_small_demo(open_page, settings):
    """On the small demo as its `dispatcher` (清香坪街道办事处): a call about illegal building work at a building of
    the street, picked on the map, is previewed to the street office and saved as its case; the queue then says
    what the case waits for and who holds it."""
    from django.core.management import call_command
    from django.test import override_settings

    from grids.models import Building, Staff

    with override_settings(DEMO_SEED_STEPS=[]):
        call_command("seed_demo", scale="small", seed=1, no_progress=True, verbosity=0)
    desk = Staff.objects.select_related("unit").get(user__username="dispatcher")
    building = Building.objects.filter(footprint__within=desk.unit.jurisdiction).order_by("code").first()
    point = building.footprint.point_on_surface
    tab = open_page()
    tab.goto("/accounts/login/?next=/desk/new")
    tab.fill("input[name=username]", "dispatcher")
    tab.fill("input[name=password]", settings.DEMO_PASSWORD)
    tab.click("button.primary")
    tab.wait_for_url("**/desk/new")
    tab.wait_for_function("() => document.documentElement.dataset.readyIntake !== undefined")
    pick_category(tab, "私搭", "SJ0101")
    tab.evaluate("([lat, lon]) => window.__intakeMap.setView([lat, lon], 18, { animate: false })", [point.y, point.x])
    click_on_map(tab, point.x, point.y)
    tab.wait_for_selector("#route-unit")
    assert tab.inner_text("#route-unit") == desk.unit.name
    tab.fill("#in-description", "来电反映：楼顶私搭彩钢棚")
    tab.click("#intake-save")
    tab.wait_for_url(re.compile(r"/desk/cases/\d+/$"))
    case = Case.objects.get(pk=int(tab.url.rstrip("/").rsplit("/", 1)[1]))
    assert case.responsible_unit_id == desk.unit_id and case.description == "来电反映：楼顶私搭彩钢棚"
    shot(tab, "desk-intake-demo-case")
    tab.goto("/desk/")
    line = tab.inner_text(f"#queue tr[data-case='{case.pk}'] td.waits")
    assert line.startswith(f"待立案 · {desk.unit.name} · ")


def test_the_callers_full_phone_is_shown_only_after_a_reason_and_logged(open_page, geo):
    from django.contrib.auth.models import Permission

    west = dispatcher(geo.offices["W"], username="desk-west")
    west.user_permissions.add(Permission.objects.get(codename="reveal_person", content_type__app_label="grids"))
    case = report(geo.point("W1", "N"), "SJ0101", source=Source.VISIT, caller_name="李女士", caller_phone="13912345678")
    tab = open_page(PHONE)
    log_in(tab, west, f"/desk/cases/{case.pk}/")
    assert tab.inner_text("#caller-phone") == "139****5678" and "13912345678" not in tab.content()
    tab.click("#caller-reveal")
    tab.fill("#caller-reveal-reason", "回访来电人")
    tab.click("#caller-reveal-go")
    tab.wait_for_function("() => document.getElementById('caller-phone').textContent === '13912345678'")
    entry = AuditEntry.objects.get(action=AuditAction.REVEAL)
    assert entry.actor == "desk-west" and entry.target == f"cases.case:{case.pk}"
    assert entry.detail["reason"] == "回访来电人"
