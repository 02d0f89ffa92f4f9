"""The outbox sent by the service worker with the app closed (Background Sync, Chromium), and one sender at a time.

How the network comes and goes here: Playwright's `context.set_offline` emulates offline through DevTools for the
page and, since Playwright attaches to service workers too, for the worker's own fetches. Chromium's DevTools
network emulation of a service worker also holds back that worker's Background Sync (content/browser/devtools:
the Network handler's BackgroundSyncRestorer calls BackgroundSyncManager::EmulateServiceWorkerOffline), and going
back online releases it: headless Chromium (156 here) then fires the pending `sync` event by itself, as a real
reconnect does, and the first tests rely on that. Where a test needs the event at a moment of its choosing (page
and worker sending together), `fire_sync` dispatches it the way Chromium's own tests and DevTools' "Sync" button
do: the protocol's `ServiceWorker.dispatchSyncEvent`.

Playwright's contexts refuse permissions not granted, and Background Sync is one ("Permission denied" at
`sync.register`); a phone's Chrome allows it by default, so these phones are granted it.
"""

import hashlib
import json

import pytest

from tests.handheld import test_browser as base
from tests.handheld.test_browser import HERE, Phone, camera_jpeg, fill_report, street_office_category
from tests.live import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OUTBOX_VIEW = ".outbox-item"

# The fixtures of the app's other browser tests: one Chromium for the run, and phones closed after each test.
browser = base.browser
phone = base.phone


def background_phone(phone) -> Phone:
    """A phone whose browser allows Background Sync. Chrome allows it by default (its "background sync" site
    setting starts on); Playwright's fresh contexts refuse every permission not granted ("Permission denied")."""
    p = phone()
    p.context.grant_permissions(["background-sync"])
    return p


def new_page(p: Phone):
    """The app opened again in the same browser (same storage, same service worker)."""
    p.page = p.context.new_page()
    p.page.on("console", p._console)
    p.page.on("pageerror", lambda e: p.errors.append(f"pageerror: {e}"))
    return p.page


def worker_registration(page) -> dict:
    return page.evaluate(
        """async () => {
            const registration = await navigator.serviceWorker.getRegistration('/m/');
            return {script: registration.active.scriptURL, sync: 'sync' in registration};
        }"""
    )


def fire_sync(p: Phone, page, origin: str):
    """Fires the worker's `sync` event through DevTools, as Chromium's tests do (ServiceWorker.dispatchSyncEvent)."""
    cdp = p.context.new_cdp_session(page)
    registrations = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    ours = lambda: [r for r in registrations if r["scopeURL"] == origin + "/m/" and not r["isDeleted"]]  # noqa: E731
    for _ in range(100):  # events arrive while Playwright is called, not during a sleep
        if ours():
            break
        page.evaluate("() => new Promise((resolve) => setTimeout(resolve, 50))")
    registration = ours()[0]
    cdp.send(
        "ServiceWorker.dispatchSyncEvent",
        {"origin": origin, "registrationId": registration["registrationId"], "tag": "outbox", "lastChance": False},
    )
    return cdp


def test_report_made_offline_is_sent_by_the_service_worker_with_the_app_closed(phone, world, live_server):
    """A report with a photo is queued offline, the app's page is closed, the network comes back: the service
    worker sends it (Chromium fires `sync` when the emulated network returns, see the module's note) and the
    server has it exactly once, with its photo, while no page of the app is open. Opened again, the app shows
    it 已送达."""
    from cases.models import Case
    from mobileapi.models import CasePhoto

    p = background_phone(phone)
    p.login()
    page = p.page
    # Chromium has Background Sync: the page installed the module worker, which sends the outbox.
    assert worker_registration(page) == {"script": f"{live_server.url}/m/sw.js?type=module", "sync": True}
    category = street_office_category()
    photo = camera_jpeg(HERE["longitude"], HERE["latitude"])

    p.expect_console("ERR_INTERNET_DISCONNECTED")
    p.context.set_offline(True)
    fill_report(page, category_code=category.code, description="路灯不亮，夜间通行不便", photo=photo)
    item = page.locator(OUTBOX_VIEW).first
    assert item.locator(".badge").inner_text() == "待发送"
    assert page.locator("#keep-open").count() == 0  # no "keep the app open" hint where the app sends closed
    client_uuid = item.get_attribute("data-client-uuid")
    page.close()
    assert p.context.pages == []
    assert not Case.objects.filter(client_uuid=client_uuid).exists()

    p.context.set_offline(False)

    def arrived() -> bool:
        return CasePhoto.objects.filter(case__client_uuid=client_uuid).exists()

    assert wait_for(arrived, 30), "the service worker did not send the report with the app closed"
    assert p.context.pages == []  # sent with no page of the app open
    case = Case.objects.get(client_uuid=client_uuid)
    assert case.description == "路灯不亮，夜间通行不便"
    attached = CasePhoto.objects.get(case=case)
    assert attached.photo.sha256 == hashlib.sha256(photo).hexdigest()

    page = new_page(p)
    page.goto("/m/#/outbox")
    sent = page.wait_for_selector(f"{OUTBOX_VIEW}[data-client-uuid='{client_uuid}'][data-state=sent]", timeout=20_000)
    assert "已送达" in sent.inner_text() and case.number in sent.inner_text()
    assert Case.objects.filter(client_uuid=client_uuid).count() == 1
    assert CasePhoto.objects.filter(case=case).count() == 1


def test_a_refusal_met_by_the_service_worker_is_shown_and_not_retried(phone, world, live_server):
    """A report whose client_uuid the server already holds with other content is queued offline and the app is
    closed; back online, the worker meets the 409 with no page open. It is not retried (one POST only), and the
    app, opened again, shows it 被拒绝 with the server's message."""
    from cases.models import Case

    p = background_phone(phone)
    p.login()
    page = p.page
    category = street_office_category()
    fill_report(
        page,
        category_code=category.code,
        description="第一份",
        photo=camera_jpeg(HERE["longitude"], HERE["latitude"]),
    )
    first = page.wait_for_selector(f"{OUTBOX_VIEW}[data-state=sent]", timeout=20_000)
    client_uuid = first.get_attribute("data-client-uuid")

    p.expect_console("ERR_INTERNET_DISCONNECTED")
    p.context.set_offline(True)
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
    page.close()
    replays = []
    p.context.on(
        "request",
        lambda r: (
            replays.append(r.service_worker is not None)
            if r.method == "POST" and r.url.endswith("/api/mobile/v1/reports")
            else None
        ),
    )
    p.context.set_offline(False)
    # Still no page: the worker's own view of the outbox, read inside the worker.
    worker = p.context.service_workers[0]
    states = """() => new Promise((resolve) => {
        const open = indexedDB.open('gridmgmt-m');
        open.onsuccess = () => {
            const all = open.result.transaction('outbox').objectStore('outbox').getAll();
            const replays = () => all.result.filter((item) => item.label === 'replay');
            all.onsuccess = () => resolve(replays().map((item) => item.state));
        };
    })"""
    for _ in range(100):
        if worker.evaluate(states) == ["rejected"]:
            break
        worker.evaluate("() => new Promise((resolve) => setTimeout(resolve, 100))")
    assert worker.evaluate(states) == ["rejected"] and p.context.pages == []

    page = new_page(p)
    page.goto("/m/#/outbox")
    refused = page.wait_for_selector(f"{OUTBOX_VIEW}[data-state=rejected]", timeout=20_000)
    assert "被拒绝" in refused.inner_text() and "client_uuid" in refused.inner_text()
    assert replays == [True]  # sent once, by the worker; not retried, by the worker or by the page
    assert Case.objects.filter(client_uuid=client_uuid).get().description == "第一份"


@pytest.mark.parametrize(
    ("chosen", "refusal", "rejected"),
    [(None, "输入有误", "被拒绝"), ("en", "Invalid input", "Rejected")],
    ids=["chinese-by-default", "english-chosen"],
)
def test_the_service_worker_is_answered_in_the_language_the_worker_chose(
    phone, world, live_server, chosen, refusal, rejected
):
    """The service worker has no cookie of its own, yet sends in the worker's language: with English chosen in the
    app, a report the server refuses (an unknown category) is queued offline and the app closed; back online the
    worker sends it with no page open, and the app, opened again, shows the server's refusal in English, as it
    shows the page's own. Without a choice it is Chinese."""
    p = background_phone(phone)
    p.login()
    page = p.page
    if chosen == "en":
        page.click("#lang")
        page.wait_for_function("() => document.querySelector('#title').textContent === 'Home'")

    p.expect_console("ERR_INTERNET_DISCONNECTED")
    p.context.set_offline(True)
    page.evaluate(
        """async (report) => {
            const outbox = await import('/static/handheld/outbox.js');
            await outbox.enqueue('report', {body: {...report, captured_at: new Date().toISOString()}, label: 'bad'});
        }""",
        {
            "category": "NO-SUCH-CATEGORY",
            "description": "类别不存在",
            "location": {"type": "Point", "coordinates": [HERE["longitude"], HERE["latitude"]]},
        },
    )
    page.close()
    p.context.set_offline(False)
    worker = p.context.service_workers[0]
    states = """() => new Promise((resolve) => {
        const open = indexedDB.open('gridmgmt-m');
        open.onsuccess = () => {
            const all = open.result.transaction('outbox').objectStore('outbox').getAll();
            all.onsuccess = () => resolve(all.result.filter((item) => item.label === 'bad').map((i) => i.state));
        };
    })"""
    for _ in range(100):
        if worker.evaluate(states) == ["rejected"]:
            break
        worker.evaluate("() => new Promise((resolve) => setTimeout(resolve, 100))")
    assert worker.evaluate(states) == ["rejected"] and p.context.pages == []  # refused to the worker, app closed

    page = new_page(p)
    page.goto("/m/#/outbox")
    refused = page.wait_for_selector(f"{OUTBOX_VIEW}[data-state=rejected]", timeout=20_000)
    assert rejected in refused.inner_text()
    message = refused.query_selector(".server-message").inner_text()
    assert refusal in message, message
    assert ("输入有误" in message) == (chosen is None), message


def test_page_and_service_worker_sending_at_once_send_each_item_once(phone, world, live_server):
    """Six reports with photos wait; then the page and the service worker start sending at the same moment (the
    page's own drain and a `sync` fired through DevTools). Every request the browser makes is counted, the
    worker's included: each report and each photo is posted once (the lock shared by page and worker), though the
    server's idempotency would have hidden a double in the database. The open outbox view shows them all 已送达."""
    from cases.models import Case

    p = background_phone(phone)
    p.login()
    page = p.page
    assert worker_registration(page)["script"].endswith("/m/sw.js?type=module")
    category = street_office_category()

    # Queued without sending: the page is offline, the worker's sync is held back by the same emulation.
    p.expect_console("ERR_INTERNET_DISCONNECTED")
    p.context.set_offline(True)
    photo = list(camera_jpeg(HERE["longitude"], HERE["latitude"]))
    uuids = page.evaluate(
        """async ({category, photo, here}) => {
            const outbox = await import('/static/handheld/outbox.js');
            const uuids = [];
            for (let n = 0; n < 6; n++) {
                const item = await outbox.enqueue('report', {
                    label: `concurrent ${n}`,
                    body: {category, description: `同时发送 ${n}`, captured_at: new Date().toISOString(),
                           location: {type: 'Point', coordinates: [here.longitude, here.latitude]}},
                    files: [{role: 'before', type: 'image/jpeg', name: `n${n}.jpg`,
                             bytes: new Uint8Array(photo).buffer}],
                });
                uuids.push(item.body.client_uuid);
            }
            return uuids;
        }""",
        {"category": category.code, "photo": photo, "here": HERE},
    )
    page.goto("/m/#/outbox")
    page.wait_for_selector(f"{OUTBOX_VIEW}[data-state=pending]")
    assert not Case.objects.filter(client_uuid__in=uuids).exists()

    posts: list[tuple[str, str, bool]] = []

    def seen(request):
        if request.method == "POST" and "/api/mobile/v1/reports" in request.url:
            body = request.post_data_buffer or b""
            key = json.loads(body)["client_uuid"] if request.url.endswith("/reports") else request.url.split("/")[-2]
            kind = "report" if request.url.endswith("/reports") else "photo"
            posts.append((kind, key, request.service_worker is not None))

    p.context.on("request", seen)
    # Back online: the page's `online` handler and the browser's own sync start at once, and both are started
    # here again, together.
    p.context.set_offline(False)
    fire_sync(p, page, live_server.url)
    page.evaluate("async () => { await (await import('/static/handheld/outbox.js')).drain(); }")

    assert wait_for(lambda: Case.objects.filter(client_uuid__in=uuids).count() == 6, 30)
    page.wait_for_selector(f"{OUTBOX_VIEW}[data-state=sent] >> nth=5", timeout=20_000)
    assert page.locator(f"{OUTBOX_VIEW}[data-state=sent]").count() == 6
    reports = sorted(key for kind, key, _ in posts if kind == "report")
    photos = sorted(key for kind, key, _ in posts if kind == "photo")
    assert reports == sorted(uuids), posts
    assert photos == sorted(uuids), posts


def test_without_background_sync_the_app_says_to_keep_it_open_and_sends_while_open(phone, world, live_server):
    """A browser without Background Sync (iOS Safari; here Chromium with the API removed before the app starts):
    the classic worker is installed, the outbox screen says to keep the app open while items wait, and the
    page sends them itself when the network returns, as before."""
    from cases.models import Case

    p = phone()
    p.context.add_init_script("delete window.SyncManager; delete ServiceWorkerRegistration.prototype.sync;")
    p.login()
    page = p.page
    assert worker_registration(page) == {"script": f"{live_server.url}/m/sw.js", "sync": False}

    p.expect_console("ERR_INTERNET_DISCONNECTED")
    p.context.set_offline(True)
    fill_report(
        page,
        category_code=street_office_category().code,
        description="垃圾满溢",
        photo=camera_jpeg(HERE["longitude"], HERE["latitude"]),
    )
    hint = page.wait_for_selector("#keep-open")
    assert "请保持应用打开" in hint.inner_text()
    client_uuid = page.locator(OUTBOX_VIEW).first.get_attribute("data-client-uuid")

    p.context.set_offline(False)
    page.wait_for_selector(f"{OUTBOX_VIEW}[data-state=sent]", timeout=20_000)
    assert page.locator("#keep-open").count() == 0  # nothing waits any more
    assert Case.objects.filter(client_uuid=client_uuid).count() == 1
