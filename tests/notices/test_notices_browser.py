"""Notifications live, in Chromium against a real gunicorn: a dispatcher's desk shows a new case's notice without a
reload when a worker reports a case routed to that unit through the handheld API, while a manager (no unit) sees
none of it; opening the notice marks it read; 全部标为已读 on the notices page; and the worker's phone app shows a
badge when the case comes back to verify. No console error is allowed; screenshots go to test-artifacts/."""

import json
import urllib.request
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from cases.models import Case
from grids.models import Role
from tests import live
from tests.browser import ARTIFACTS
from tests.cases.helpers import act, dispatcher, person, resolve

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "notice-test-password-1"


def with_password(user):
    user.set_password(PASSWORD)
    user.save()
    return user


def api(base: str, path: str, *, body: dict | None = None, token: str | None = None) -> dict:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", "Accept": "application/json"}
        | ({"Authorization": f"Token {token}"} if token else {}),
        method="POST" if body is not None else "GET",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def handheld_report(base: str, token: str, point) -> str:
    answer = api(
        base,
        "/api/mobile/v1/reports",
        token=token,
        body={
            "client_uuid": str(uuid.uuid4()),
            "category": "SJ0101",
            "description": "通知测试：楼顶新搭建彩钢棚",
            "location": {"type": "Point", "coordinates": [point.x, point.y]},
            "captured_at": (timezone.now() - timedelta(minutes=1)).isoformat(),
        },
    )
    return answer["case_no"]


class Browser:
    def __init__(self, chromium, base: str, **options):
        self.context = chromium.new_context(base_url=base, locale="zh-CN", **options)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("response", lambda r: self.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    def login(self, username: str, then: str):
        self.page.goto(f"/accounts/login/?next={then}")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("button.primary")
        self.page.wait_for_url(f"**{then}")
        self.page.wait_for_function("() => document.getElementById('notice-bell').dataset.ready === '1'")

    def count(self) -> str:
        return self.page.eval_on_selector("#notice-count", "b => b.hidden ? '0' : b.dataset.count")

    def shot(self, name: str):
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"notices-{name}.png"), full_page=True)

    def close(self):
        self.context.close()
        assert not self.errors, "\n".join(self.errors)


def test_a_new_case_appears_on_the_units_desk_without_a_reload_and_nowhere_else(geo, chromium):
    west = with_password(dispatcher(geo.offices["W"], username="notice-west"))
    with_password(person(Role.MANAGER, username="notice-manager"))
    worker = with_password(person(Role.WORKER, grids=[geo.grids["W1"]], username="notice-worker"))

    with live.gunicorn(
        db_url=live.database_url(),
        workers=1,
        NOTICE_POLL_SECONDS="1",
        DEBUG="1",  # static files from the finders: no collectstatic in a test
    ) as base:
        token = api(base, "/api/mobile/v1/auth/token", body={"username": worker.username, "password": PASSWORD})[
            "token"
        ]
        desk = Browser(chromium, base, viewport={"width": 1280, "height": 900})
        boss = Browser(chromium, base, viewport={"width": 360, "height": 740})
        desk.login("notice-west", "/desk/")
        boss.login("notice-manager", "/notices/")
        assert desk.count() == "0" and boss.count() == "0"
        desk.page.evaluate("() => { window.sameDocument = true; }")

        number = handheld_report(base, token, geo.point("W1", "N"))
        desk.page.wait_for_function("() => document.getElementById('notice-count').dataset.count === '1'")
        assert desk.page.evaluate("() => window.sameDocument === true")  # no reload
        assert not desk.page.is_hidden("#notice-count")
        desk.page.click("#notice-bell-link")
        item = desk.page.locator("#notice-latest li").first
        assert number in item.inner_text() and "新案件" in item.inner_text()
        desk.shot("01-desk-bell")

        # The manager's page polls on and is told nothing changed; the API says the same.
        with boss.page.expect_response(lambda r: r.url.endswith("/api/v1/notices/unread")) as polled:
            pass
        assert polled.value.status == 304 and boss.count() == "0"
        assert boss.page.evaluate("async () => (await (await fetch('/api/v1/notices/unread')).json()).unread") == 0
        boss.page.reload()
        assert boss.page.locator("#notices li.notice-row").count() == 0
        boss.shot("02-manager-none")

        # Opening the notice marks it read and opens the case.
        item.locator("a").click()
        desk.page.wait_for_url("**/desk/cases/*/")
        desk.page.wait_for_function("() => document.getElementById('notice-bell').dataset.ready === '1'")
        assert desk.count() == "0"
        desk.page.goto("/notices/")
        assert desk.page.locator("#notices li.notice-row.read").count() == 1
        assert number in desk.page.inner_text("#notices")

        # Two more arrive while the list is open; 全部标为已读 clears them.
        second = handheld_report(base, token, geo.point("W1", "N"))
        third = handheld_report(base, token, geo.point("W2", "N"))
        desk.page.wait_for_function("() => document.getElementById('notice-count').dataset.count === '2'")
        desk.page.reload()
        assert desk.page.locator("#notices li.notice-row.unread").count() == 2
        assert desk.count() == "2"  # with the page, and its list as the panel opens
        desk.page.click("#notice-bell-link")
        assert desk.page.locator("#notice-latest li").count() == 2
        desk.page.click("#notice-bell-link")
        assert desk.page.locator("#notice-latest li").count() == 0  # closed: no hidden copies of case numbers
        assert second in desk.page.inner_text("#notices") and third in desk.page.inner_text("#notices")
        desk.shot("03-list")
        desk.page.click("#read-all")
        desk.page.wait_for_function("() => document.getElementById('notice-bell').dataset.ready === '1'")
        assert desk.page.locator("#notices li.notice-row.unread").count() == 0
        assert desk.page.locator("#notices li.notice-row.read").count() == 3
        assert desk.count() == "0"

        # The worker's phone: a badge when the case comes back to verify.
        phone = Browser(chromium, base, viewport={"width": 390, "height": 844}, is_mobile=True, service_workers="block")
        phone.page.goto("/m/")
        phone.page.wait_for_function("() => window.__ready !== undefined")
        phone.page.fill("input[name=username]", worker.username)
        phone.page.fill("input[name=password]", PASSWORD)
        phone.page.click("form.login button[type=submit]")
        phone.page.wait_for_selector("#notices-link:not([hidden])")
        assert phone.page.is_hidden("#notice-badge")
        case = Case.objects.get(number=number)
        act(case, west, "register")
        act(case, west, "dispatch")
        resolve(case, west)  # its open co-handling tasks released first
        phone.page.wait_for_function("() => document.getElementById('notice-badge').dataset.count === '1'")
        phone.page.click("#notices-link")
        phone.page.wait_for_selector(".card.notice")
        assert number in phone.page.inner_text(".card.notice")
        phone.shot("04-phone-badge")
        phone.page.click("#notices-read-all")
        phone.page.wait_for_selector("#no-notices")
        assert phone.page.is_hidden("#notice-badge")

        for browser in (desk, boss, phone):
            browser.close()
