"""The grid workers' app in a real browser: Debian's Chromium through Playwright, emulating a 390×844 phone with
touch, its geolocation inside the worker's grid, against a live server on http://127.0.0.1 (a secure context, so
the service worker, IndexedDB and WebCrypto work as on a phone reaching the app over HTTPS).

Offline is Playwright's `context.set_offline(True)`: the page's own fetches fail and `navigator.onLine` is false.
Whether the emulation also covers the service worker's own fetches depends on the version, so no test relies on
it: the reload while offline asserts that the page came from the service worker (`response.from_service_worker`),
and the server's database is checked to hold nothing while the page believes it is offline.
"""

import hashlib
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.browser import ARTIFACTS, plain_http_settings
from tests.maps.conftest import PASSWORD, X0, Y0, make_case
from tests.mobileapi.test_photos import camera_jpeg as camera_photo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Inside the worker's grid (grids[0] spans X0..X0+0.02, Y0..Y0+0.02), away from its buildings.
HERE = {"longitude": X0 + 0.0072, "latitude": Y0 + 0.0031, "accuracy": 12}


def camera_jpeg(lon: float, lat: float) -> bytes:
    """A photo as a phone's camera writes it, taken now (camera clocks keep local time) at this place."""
    return camera_photo(lon=lon, lat=lat, when=datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y:%m:%d %H:%M:%S"))


@pytest.fixture(scope="session")
def browser(chromium):
    with plain_http_settings():
        yield chromium


class Phone:
    """One worker's phone: a mobile browser context that fails the test on any console or page error."""

    def __init__(self, browser, base_url: str):
        self.context = browser.new_context(
            base_url=base_url,
            viewport={"width": 390, "height": 844},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale="zh-CN",
            geolocation=HERE,
            permissions=["geolocation"],
            service_workers="allow",
        )
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.expected: tuple[str, ...] = ()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

    def _console(self, message):
        if message.type == "error" and not any(text in message.text for text in self.expected):
            self.errors.append(f"console: {message.text}")

    def expect_console(self, *texts: str):
        """Errors the browser logs for what the test does on purpose (requests while offline, a refused replay)."""
        self.expected += texts

    def open(self):
        self.page.goto("/m/")
        self.page.wait_for_function("() => window.__ready !== undefined")

    def login(self, username: str = "t-worker", password: str = PASSWORD):
        self.open()
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", password)
        self.page.click("form.login button[type=submit]")
        self.page.wait_for_selector(".grid-card .minimap .leaflet-interactive")
        # The service worker is in control before anything relies on it.
        self.page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15_000)

    def outbox_states(self) -> list[str]:
        self.page.goto("/m/#/outbox")
        return self.page.eval_on_selector_all(".outbox-item", "cards => cards.map(c => c.dataset.state)")

    def shot(self, name: str):
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"handheld-{name}.png"), full_page=True)

    def close(self):
        self.context.close()
        assert not self.errors, "\n".join(self.errors)


@pytest.fixture
def phone(browser, live_server, world):
    opened: list[Phone] = []

    def make() -> Phone:
        opened.append(Phone(browser, live_server.url))
        return opened[-1]

    yield make
    for item in opened:
        item.close()


def test_login_shows_home_with_grids_counts_and_map(phone, world):
    p = phone()
    p.login()
    page = p.page
    assert page.locator(".grid-card h3").first.inner_text().startswith("第1网格")
    assert page.locator("#waiting-count b").inner_text() == "0"
    assert page.locator(".grid-card .figures").inner_text() == "楼栋 2 · 户 4 · 在办案件 0"
    p.shot("home")


def street_office_category():
    from cases.models import Category
    from grids.models import UnitType

    return (
        Category.objects.filter(children__isnull=True, handling_unit_type=UnitType.STREET_OFFICE, active=True)
        .order_by("code")
        .first()
    )


def fill_report(page, *, category_code: str, description: str, photo: bytes):
    page.goto("/m/#/report")
    page.wait_for_selector("form.report")
    for label in ("类别", "等级", "描述", "照片", "位置"):
        assert page.locator(".field .label", has_text=label).count() >= 1, label
    page.fill("input[name=category-search]", category_code)
    page.click(f".choice[data-code='{category_code}']")
    page.fill("textarea[name=description]", description)
    jpeg = {"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": photo}
    page.set_input_files("input[name=photos]", files=[jpeg])
    page.wait_for_selector(".thumbs img")
    page.wait_for_function("() => document.querySelector('#where').textContent.includes('精度')")
    assert page.locator("#send").inner_text() == "上报"
    page.click("#send")
    page.wait_for_selector(".outbox-item")


def test_report_made_offline_survives_a_reload_and_arrives_once_with_its_photo(phone, world):
    from cases.models import Case
    from mobileapi.models import CasePhoto

    p = phone()
    p.login()
    page = p.page
    category = street_office_category()
    photo = camera_jpeg(HERE["longitude"], HERE["latitude"])

    p.expect_console("ERR_INTERNET_DISCONNECTED", "409 (Conflict)")
    p.context.set_offline(True)
    fill_report(page, category_code=category.code, description="井盖缺失，行人有跌落风险", photo=photo)
    item = page.locator(".outbox-item").first
    assert item.locator(".badge").inner_text() == "待发送"
    client_uuid = item.get_attribute("data-client-uuid")
    p.shot("outbox-offline")

    # Still offline: the page comes from the service worker, the item from IndexedDB.
    response = page.reload()
    assert response.from_service_worker
    page.wait_for_selector(".outbox-item[data-state=pending]")
    assert page.locator(".outbox-item .badge").first.inner_text() == "待发送"
    assert page.locator("#net").inner_text() == "离线"
    time.sleep(1)
    assert not Case.objects.filter(client_uuid=client_uuid).exists()

    p.context.set_offline(False)
    page.wait_for_selector(".outbox-item[data-state=sent]", timeout=20_000)
    assert page.locator(".outbox-item .badge").first.inner_text() == "已送达"
    case = Case.objects.get(client_uuid=client_uuid)
    assert case.category == category and case.description == "井盖缺失，行人有跌落风险"
    attached = CasePhoto.objects.get(case=case)
    assert attached.photo.sha256 == hashlib.sha256(photo).hexdigest()  # the original bytes, EXIF and all
    assert attached.photo.gps is not None and attached.distance_m < 5 and not attached.flagged
    assert page.locator(".outbox-item").first.inner_text().count(case.number) == 1
    page.goto("/m/#/home")
    assert page.locator("#waiting-count b").inner_text() == "0"
    page.click("text=刷新")
    page.goto("/m/#/reports")
    mine = page.wait_for_selector(f".my-report[data-case='{case.number}']")
    assert "已上报" in mine.inner_text() and world.office.name in mine.inner_text()

    # The desk registers and dispatches it: once the app has synced, its timeline shows those steps and the unit.
    from cases.services import apply_transition

    for action in ("register", "dispatch"):
        case = apply_transition(
            case_id=case.pk,
            actor=world.accounts["dispatcher"],
            action=action,
            version=case.version,
            note="内部意见：交城管中队",
            unit=world.office if action == "dispatch" else None,
        )
    page.reload()  # the app syncs as it starts (a 刷新 tap might join a sync begun before the desk acted)
    card = f".my-report[data-case='{case.number}']"
    dispatched = page.wait_for_selector(f"{card} .timeline li[data-action=dispatch]")
    assert dispatched.inner_text().endswith(f"派遣 · {world.office.name}")
    steps = page.locator(f"{card} .timeline li")
    assert [steps.nth(i).get_attribute("data-action") for i in range(steps.count())] == [
        "report",
        "register",
        "dispatch",
    ]
    assert "已派遣" in page.locator(card).inner_text() and "内部意见" not in page.locator(card).inner_text()
    p.shot("my-reports-steps")

    # The same client_uuid with other content: the server refuses it, and the app shows why.
    page.evaluate(
        """async (report) => {
            const outbox = await import('/static/handheld/outbox.js');
            await outbox.enqueue('report', {body: {...report, captured_at: new Date().toISOString()}, label: 'replay'});
        }""",
        {
            "client_uuid": client_uuid,
            "category": category.code,
            "description": "另一件事",
            "location": {"type": "Point", "coordinates": [HERE["longitude"], HERE["latitude"]]},
        },
    )
    page.goto("/m/#/outbox")
    rejected = page.wait_for_selector(".outbox-item[data-state=rejected]", timeout=20_000)
    assert "被拒绝" in rejected.inner_text()
    assert "client_uuid" in rejected.inner_text()  # the server's own message
    assert Case.objects.filter(client_uuid=client_uuid).count() == 1
    assert CasePhoto.objects.filter(case__client_uuid=client_uuid).count() == 1
    p.shot("outbox-rejected")


def test_check_task_passed_with_a_note_and_a_photo(phone, world):
    from cases.models import Case
    from mobileapi.models import TaskCompletion

    grid = world.grids[0]
    resolved = make_case(world=world, lon=HERE["longitude"], lat=HERE["latitude"], grid=grid, state="resolved")
    p = phone()
    p.login()
    page = p.page
    assert page.locator("#tasks-count b").inner_text() == "1"
    page.goto("/m/#/tasks")
    card = page.locator(f".task[data-task='{resolved.pk}']")
    assert card.locator("b").first.inner_text() == "核查"
    card.locator("textarea[name=note]").fill("井盖已更换，路面平整")
    jpeg = {"name": "after.jpg", "mimeType": "image/jpeg", "buffer": camera_jpeg(HERE["longitude"], HERE["latitude"])}
    card.locator(f"input[name=task-{resolved.pk}]").set_input_files(files=[jpeg])
    card.locator("button[data-result=pass]").click()
    page.goto("/m/#/outbox")
    page.wait_for_selector(".outbox-item[data-kind=task][data-state=sent]", timeout=20_000)
    resolved.refresh_from_db()
    assert resolved.state == "verified"
    completion = TaskCompletion.objects.get(case=resolved)
    assert completion.result == "pass" and completion.note == "井盖已更换，路面平整"
    event = Case.objects.get(pk=resolved.pk).events.order_by("-id").first()
    assert len(event.attachments) == 1
    page.goto("/m/#/home")
    page.wait_for_function("() => document.querySelector('#tasks-count b')?.textContent === '0'")


def test_patrol_records_a_scripted_walk_and_shows_its_coverage(phone, world):
    from mobileapi.models import Patrol

    p = phone()
    p.login()
    page = p.page
    # A walk across the grid: 12 fixes about 110 m apart, then two too close to the last one to be kept.
    walk = [(X0 + 0.002 + 0.0011 * i, Y0 + 0.006) for i in range(12)] + [(X0 + 0.0141, Y0 + 0.00601)] * 2
    p.context.set_geolocation({"longitude": walk[0][0], "latitude": walk[0][1], "accuracy": 8})
    page.goto("/m/#/patrol")
    page.click("#patrol-start")
    page.wait_for_selector("#patrol-stop")
    for lon, lat in walk[1:]:
        p.context.set_geolocation({"longitude": lon, "latitude": lat, "accuracy": 8})
        time.sleep(0.25)
    page.wait_for_function("() => document.querySelector('#patrol-status').textContent.includes('轨迹点 12')")
    page.click("#patrol-stop")
    coverage = page.wait_for_selector(".patrol-item[data-state=sent] .coverage", timeout=20_000)
    patrol = Patrol.objects.get()
    assert patrol.grid == world.grids[0]
    assert len(patrol.track.coords) == 12
    assert f"覆盖率 {round(patrol.coverage * 100)}%" in coverage.inner_text()
    assert 0 < patrol.coverage < 1


def stored_everything(page) -> dict:
    """What the app's origin holds in Cache Storage and IndexedDB, store by store."""
    return page.evaluate(
        """async () => {
            const found = {caches: await caches.keys(), databases: {}};
            for (const {name} of await indexedDB.databases()) {
                const db = await new Promise((ok, fail) => {
                    const r = indexedDB.open(name); r.onsuccess = () => ok(r.result); r.onerror = fail;
                });
                for (const store of db.objectStoreNames) {
                    const all = await new Promise((ok) => {
                        const r = db.transaction(store).objectStore(store).getAll(); r.onsuccess = () => ok(r.result);
                    });
                    found.databases[`${name}/${store}`] = all;
                }
                db.close();
            }
            return JSON.parse(JSON.stringify(found, (key, value) =>
                value instanceof ArrayBuffer || ArrayBuffer.isView(value) ? `<${value.byteLength} bytes>` : value));
        }"""
    )


def test_logout_revokes_the_token_and_leaves_nothing_of_the_worker_on_the_device(phone, world):
    from mobileapi.models import AccessToken

    p = phone()
    p.login()
    page = p.page
    before = stored_everything(page)
    assert before["caches"] and before["databases"]["gridmgmt-m/packages"]
    page.click("#logout")
    page.wait_for_selector("form.login")
    after = stored_everything(page)
    assert after["caches"] == []
    assert all(records == [] for records in after["databases"].values()), after
    assert AccessToken.objects.get(user__username="t-worker").revoked_at is not None


def test_unsent_items_are_kept_encrypted_over_a_logout_and_sent_after_the_next_login(phone, world):
    from cases.models import Case

    p = phone()
    p.expect_console("ERR_INTERNET_DISCONNECTED")
    p.login()
    page = p.page
    page.on("dialog", lambda dialog: dialog.accept())
    p.context.set_offline(True)
    secret = "楼道堆放杂物，堵塞消防通道"
    fill_report(
        page,
        category_code=street_office_category().code,
        description=secret,
        photo=camera_jpeg(HERE["longitude"], HERE["latitude"]),
    )
    page.goto("/m/#/home")
    page.click("#logout")
    page.wait_for_selector("form.login")
    kept = stored_everything(page)["databases"]
    assert [item["state"] for item in kept["gridmgmt-m/outbox"]] == ["locked"]
    assert secret not in str(kept) and "coordinates" not in str(kept)
    assert kept["gridmgmt-m/packages"] == [] and kept["gridmgmt-m/kv"] != []  # the wrapped key only

    p.context.set_offline(False)
    page.fill("input[name=username]", "t-worker")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.login button[type=submit]")
    page.wait_for_selector(".grid-card")
    page.goto("/m/#/outbox")
    page.wait_for_selector(".outbox-item[data-state=sent]", timeout=20_000)
    assert Case.objects.get().description == secret


def test_an_expired_token_sends_the_worker_to_login_and_keeps_the_outbox(phone, world):
    from django.utils import timezone

    from cases.models import Case
    from mobileapi.models import AccessToken

    p = phone()
    p.expect_console("ERR_INTERNET_DISCONNECTED", "401 (Unauthorized)")
    p.login()
    page = p.page
    p.context.set_offline(True)
    fill_report(
        page,
        category_code=street_office_category().code,
        description="路灯不亮",
        photo=camera_jpeg(HERE["longitude"], HERE["latitude"]),
    )
    AccessToken.objects.update(revoked_at=timezone.now())
    p.context.set_offline(False)
    page.wait_for_selector("form.login", timeout=20_000)
    assert "重新登录" in page.locator("form.login .error").inner_text()
    page.fill("input[name=username]", "t-worker")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.login button[type=submit]")
    page.wait_for_selector(".grid-card")
    page.goto("/m/#/outbox")
    page.wait_for_selector(".outbox-item[data-state=sent]", timeout=20_000)
    assert Case.objects.get().description == "路灯不亮"


def test_language_switch_is_the_sites_own(phone, world):
    p = phone()
    p.login()
    page = p.page
    page.click("#lang")
    page.wait_for_function("() => document.querySelector('#title').textContent === 'Home'")
    assert page.locator("a[data-tab=report]").inner_text() == "Report"
    assert "django_language=en" in page.evaluate("document.cookie")
    page.goto("/accounts/login/")
    assert page.locator("button.primary").inner_text() == "Log in"
    p.open()
    page.click("#lang")
    page.wait_for_function("() => document.querySelector('#title').textContent === '首页'")
    page.goto("/accounts/login/")
    assert page.locator("button.primary").inner_text() == "登录"


def test_registry_change_from_the_phone_is_approved_at_the_desk_and_the_person_shows_masked(phone, world, browser):
    from grids import pii
    from grids.models import Person
    from tests.factories import fake_id_number

    new_id = fake_id_number(124, birth="19900215")
    household = world.buildings[0].households.get(room="1101")
    p = phone()
    p.login()
    page = p.page
    page.goto("/m/#/collect")
    card = page.locator(f".household[data-household='{household.pk}']")
    card.locator("button.add-person").click()
    form = page.locator("form.collect-form")
    form.locator("input[name=name]").fill("李娟")
    form.locator("select[name=sex]").select_option("F")
    form.locator("input[name=birth_date]").fill("1990-02-15")
    form.locator("input[name=id_number]").fill(new_id[:-1] + ("0" if new_id[-1] != "0" else "1"))  # a typo first
    form.locator("input[name=phone]").fill("13912345678")
    form.locator("select[name=residency]").select_option("floating")
    form.locator("input[value=veteran]").check()
    form.locator("button[type=submit]").click()
    assert "校验位" in form.locator(".error").inner_text()  # caught on the phone, nothing queued
    form.locator("input[name=id_number]").fill(new_id)
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".outbox-item[data-kind=registry][data-state=sent]", timeout=20_000)
    # Delivered: what was typed has left the device.
    assert new_id not in str(stored_everything(page)) and "13912345678" not in str(stored_everything(page))

    desk = browser.new_context(base_url=page.url.split("/m/")[0], viewport={"width": 1280, "height": 900})
    tab = desk.new_page()
    tab.goto("/accounts/login/?next=/desk/registry/")
    tab.fill("input[name=username]", "t-dispatcher")
    tab.fill("input[name=password]", PASSWORD)
    tab.click("button.primary")
    tab.wait_for_url("**/desk/registry/")
    change = tab.locator("article.change")
    assert "新增人员" in change.inner_text() and pii.mask_id_number(new_id) in change.inner_text()
    change.locator("button.approve").click()
    tab.wait_for_selector(".flash.success")
    desk.close()
    added = Person.objects.get(household=household, name="李娟")
    assert added.care_tags == ["veteran"]

    page.goto("/m/#/home")
    page.click("text=刷新")
    page.goto("/m/#/collect")
    page.wait_for_selector(".registry-request[data-state=approved]")
    card = page.locator(f".household[data-household='{household.pk}']")
    card.locator("button", has_text="人员").last.click()
    shown = page.wait_for_selector(f".person[data-person='{added.pk}']")
    assert "李娟" in shown.inner_text() and pii.mask_id_number(new_id) in shown.inner_text()
    assert new_id not in page.content()
    p.shot("collect")


def test_every_screen_fits_a_360_px_phone_with_large_targets(phone, world):
    make_case(world=world, lon=HERE["longitude"], lat=HERE["latitude"], grid=world.grids[0], state="resolved")
    p = phone()
    p.login()
    page = p.page
    page.set_viewport_size({"width": 360, "height": 740})
    for screen in ("home", "report", "tasks", "outbox", "reports", "patrol", "collect"):
        page.goto(f"/m/#/{screen}")
        page.wait_for_selector(f"main[data-screen={screen}] > *", state="attached")
        page.wait_for_timeout(300)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, screen
        small = page.evaluate(
            """() => [...document.querySelectorAll('main button, main a.button, nav.tabs a, main select, main input')]
                .filter((el) => el.offsetParent && el.type !== 'file' && el.type !== 'radio' && el.type !== 'checkbox')
                .filter((el) => el.getBoundingClientRect().height < 40)
                .map((el) => el.outerHTML.slice(0, 80))"""
        )
        assert small == [], (screen, small)
        p.shot(f"360-{screen}")


def test_level_one_report_solved_on_the_spot_closes_with_its_after_photo(phone, world):
    from cases.models import Case

    p = phone()
    p.login()
    page = p.page
    code = street_office_category().code
    page.goto("/m/#/report")
    page.fill("input[name=category-search]", code)
    page.click(f".choice[data-code='{code}']")
    assert not page.locator("input[name=resolved_on_site]").is_visible()  # only for level 1
    page.check("input[name=level][value='1']")
    page.check("input[name=resolved_on_site]")
    page.fill("textarea[name=description]", "路边垃圾已清理")
    shot = {"name": "before.jpg", "mimeType": "image/jpeg", "buffer": camera_jpeg(HERE["longitude"], HERE["latitude"])}
    page.set_input_files("input[name=photos]", files=[shot])
    page.click("#send")
    assert "处置后照片" in page.locator("form.report .error").inner_text()  # the after-photo is required
    after = {
        "name": "after.jpg",
        "mimeType": "image/jpeg",
        "buffer": camera_jpeg(HERE["longitude"] + 1e-5, HERE["latitude"]),
    }
    page.set_input_files("input[name=after]", files=[after])
    page.wait_for_function("() => document.querySelector('#where').textContent.includes('精度')")
    page.click("#send")
    page.wait_for_selector(".outbox-item[data-state=sent]", timeout=20_000)
    case = Case.objects.get()
    assert case.level == 1 and case.resolved_on_site and case.state == "closed"
    assert sorted(case.photos.values_list("kind", flat=True)) == ["after", "before"]


# The strict policy being introduced for every response (scripts, styles and connections from this site only).
STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; "
    "connect-src 'self'; worker-src 'self'; manifest-src 'self'; frame-src 'none'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def test_the_app_runs_under_a_strict_content_security_policy(phone, world):
    p = phone()

    def with_policy(route):
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": STRICT_CSP})

    p.context.route("**/m/", with_policy)
    page = p.page
    page.add_init_script(
        "window.__violations = []; document.addEventListener('securitypolicyviolation', "
        "(e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));"
    )
    p.login()
    fill_report(
        page,
        category_code=street_office_category().code,
        description="消防通道被占用",
        photo=camera_jpeg(HERE["longitude"], HERE["latitude"]),
    )
    page.wait_for_selector(".outbox-item[data-state=sent]", timeout=20_000)
    for screen in ("home", "tasks", "reports", "patrol", "collect"):
        page.goto(f"/m/#/{screen}")
        page.wait_for_timeout(300)
    assert page.evaluate("window.__violations") == []
    # The policy was in force: an inline style is refused.
    p.expect_console("Applying inline style violates")
    page.evaluate("document.body.setAttribute('style', 'color: red')")
    page.wait_for_function("() => window.__violations.length === 1")
