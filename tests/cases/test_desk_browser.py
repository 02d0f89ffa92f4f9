"""The desk in a real browser (Debian's Chromium driven by Playwright against a live server): a dispatcher logs
in, opens a case from the queue, registers and dispatches it and sees the timeline grow; a stale page gets the
refusal and the case as it now is. No console error is allowed; screenshots go to test-artifacts/."""

import pytest

from cases.models import Source
from tests.browser import ARTIFACTS, plain_http_settings
from tests.cases.helpers import act, dispatcher, report

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "desk-test-password-1"


@pytest.fixture
def expected_errors() -> list[str]:
    """Console messages a test expects (e.g. the browser's log line for a 409 it provokes)."""
    return []


@pytest.fixture
def page(live_server, expected_errors, chromium):
    errors: list[str] = []
    with plain_http_settings():
        context = chromium.new_context(
            base_url=live_server.url, viewport={"width": 1400, "height": 1000}, locale="zh-CN"
        )
        tab = context.new_page()
        tab.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
        tab.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
        tab.on("requestfailed", lambda r: errors.append(f"request failed: {r.url} {r.failure}"))
        yield tab
        context.close()
    unexpected = [error for error in errors if not any(text in error for text in expected_errors)]
    assert not unexpected, "\n".join(unexpected)


def shot(tab, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def timeline_rows(tab) -> list[str]:
    return tab.eval_on_selector_all("#timeline-table tbody tr", "rows => rows.map(r => r.dataset.step)")


def test_a_dispatcher_registers_and_dispatches_a_case_and_the_timeline_grows(page, geo):
    user = dispatcher(geo.offices["W"], username="desk-west")
    user.set_password(PASSWORD)
    user.save()
    case = report(geo.point("W1", "N"), "SJ0101", source=Source.HOTLINE, description="楼顶新搭建彩钢棚")
    other = report(geo.point("E1", "N"), "SJ0101", description="东街道的案件")

    page.goto("/accounts/login/?next=/desk/")
    page.fill("input[name=username]", "desk-west")
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")
    page.wait_for_url("**/desk/")
    rows = page.eval_on_selector_all("#queue tbody tr a", "links => links.map(a => a.textContent)")
    assert rows == [case.number] and other.number not in page.content()
    shot(page, "desk-01-queue")

    page.click(f"text={case.number}")
    page.wait_for_selector("#timeline-chart")
    page.wait_for_function("() => document.documentElement.dataset.readyDesk !== undefined")
    assert page.inner_text("#case-description") == "楼顶新搭建彩钢棚"
    assert timeline_rows(page) == ["register"]
    actions = page.eval_on_selector_all("#action-buttons button", "b => b.map(x => x.dataset.action)")
    assert "register" in actions and "dispatch" not in actions and "close" not in actions
    assert page.locator("#case-map .leaflet-interactive").count() == 1  # the case's point
    shot(page, "desk-02-case")

    page.fill("#action-note", "符合立案条件")
    page.click("#action-buttons button[data-action=register]")
    page.wait_for_selector("#flash:not([hidden])")
    assert "操作成功" in page.inner_text("#flash")
    assert page.inner_text("#case-state") == "已立案"
    assert timeline_rows(page) == ["register", "dispatch"]

    page.select_option("#action-unit", str(geo.committees["W1"].pk))
    page.click("#action-buttons button[data-action=dispatch]")
    page.wait_for_function("() => document.querySelectorAll('#timeline-table tbody tr').length === 4")
    assert timeline_rows(page) == ["register", "dispatch", "process", "cohandle"]  # and the co-handling unit's bar
    assert page.inner_text("#case-state") == "已派遣"
    assert geo.committees["W1"].name in page.inner_text("#timeline-table")
    assert geo.department.name in page.inner_text("#timeline-table tr[data-step=cohandle]")
    assert page.locator("#timeline-chart").bounding_box()["height"] > 100
    shot(page, "desk-03-dispatched")


def test_a_stale_page_shows_the_refusal_and_the_case_as_it_is(page, geo, expected_errors):
    user = dispatcher(geo.offices["W"], username="desk-west")
    user.set_password(PASSWORD)
    user.save()
    colleague = dispatcher(geo.offices["W"], username="desk-west-2")
    case = report(geo.point("W2", "N"), "SJ0101", source=Source.HOTLINE)
    page.goto("/accounts/login/?next=/desk/")
    page.fill("input[name=username]", "desk-west")
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")
    page.goto(f"/desk/cases/{case.pk}/")
    page.wait_for_function("() => document.documentElement.dataset.readyDesk !== undefined")
    act(case, colleague, "register")  # meanwhile, at the next desk
    expected_errors.append("409 (Conflict)")  # the browser logs the refused request
    with page.expect_response(lambda r: r.url.endswith("/transitions")) as response:
        page.click("#action-buttons button[data-action=register]")
    assert response.value.status == 409
    page.wait_for_selector("#flash.warn:not([hidden])")
    assert "操作未执行" in page.inner_text("#flash")
    assert page.inner_text("#case-state") == "已立案"
    assert "dispatch" in page.eval_on_selector_all("#action-buttons button", "b => b.map(x => x.dataset.action)")
    shot(page, "desk-04-refused")


@pytest.mark.parametrize(("language", "words"), [("zh-hans", "小于或者等于 720"), ("en", "less than or equal to 720")])
def test_bad_input_shows_the_servers_field_message_in_the_pages_language(page, geo, expected_errors, language, words):
    user = dispatcher(geo.offices["W"], username="desk-west")
    user.set_password(PASSWORD)
    user.save()
    case = report(geo.point("W2", "N"), "SJ0101", source=Source.HOTLINE)
    act(case, user, "register")
    act(case, user, "dispatch")
    page.goto("/accounts/login/?next=/desk/")
    page.fill("input[name=username]", "desk-west")
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")
    page.context.add_cookies([{"name": "django_language", "value": language, "url": page.url}])
    page.goto(f"/desk/cases/{case.pk}/")
    page.wait_for_function("() => document.documentElement.dataset.readyDesk !== undefined")
    page.fill("#action-hours", "1000")  # past the 720 hours the server takes
    expected_errors.append("400 (Bad Request)")  # the browser logs the refused request
    with page.expect_response(lambda r: r.url.endswith("/transitions")) as response:
        page.click("#action-buttons button[data-action=extend]")
    assert response.value.status == 400
    assert response.value.headers["content-type"] == "application/problem+json"
    shown = page.wait_for_selector("#action-error:not([hidden])").inner_text()
    assert "hours" in shown and words in shown, shown  # the problem's field message, in the page's language
    shot(page, f"desk-05-bad-input-{language}")
