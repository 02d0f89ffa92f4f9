"""The grid workers' phone app (/m/), measured in Debian's Chromium as a 390×844 phone against gunicorn.

    .venv/bin/python -m bench.handheld [--reports 200]

Prints: the first load's transfer (the page, its scripts and styles, Leaflet, the manifest and icons, the login
and the first data: profile, grid package, tasks, reports — compressed as sent, map tiles excluded as the app
uses none); the offline start (the time from navigation until the home screen is drawn, with the network off
and the shell in the service worker's cache); and an outbox of N reports made offline, drained after
reconnecting: how many arrived, how many twice, and the rate.

Database: `<BENCH_DATABASE_URL's server>/gridmgmt_bench_handheld`, created, migrated and given the small demo
here (never the dev database). Static files are collected first (compressed, as `make run` serves them).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid

from bench.common import BASE_DIR, WORK_DIR, bench_url, child_env, connect, ensure_database, manage, with_name
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.live import is_up, wait_for

WORKER = "worker1"
FIRST_LOAD_TARGET_KB = 300


def serve(url: str, port: int) -> subprocess.Popen:
    env = child_env(url, DEBUG="0", HTTPS="0", SECRET_KEY=os.environ.get("SECRET_KEY", "bench-only-secret-key"))
    return subprocess.Popen(
        [str(BASE_DIR / ".venv/bin/gunicorn"), "gridmgmt.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--threads", "4"],
        cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def worker_spot(url: str) -> tuple[float, float]:
    """A point inside the worker's first grid."""
    with connect(url) as conn, conn.cursor() as cursor:
        cursor.execute(
            """SELECT ST_X(p), ST_Y(p) FROM (
                   SELECT ST_PointOnSurface(g.boundary) AS p FROM grids_grid g
                   JOIN grids_staff_grids sg ON sg.grid_id = g.id JOIN grids_staff s ON s.id = sg.staff_id
                   JOIN auth_user u ON u.id = s.user_id WHERE u.username = %s ORDER BY g.code LIMIT 1) q""",
            [WORKER],
        )
        return cursor.fetchone()


def cases_with(url: str, uuids: list[str]) -> tuple[int, int]:
    with connect(url) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT client_uuid) FROM cases_case WHERE client_uuid = ANY(%s::uuid[])", [uuids]
        )
        return cursor.fetchone()


def first_load(base: str, url: str) -> dict:
    """The phone app's first load against a server already running at `base` on the database of `url`: bytes
    received (compressed bodies as sent, plus headers) from opening /m/ through the log-in as worker1 until the
    grid is drawn and the service worker controls the page; and the wall time of it."""
    from playwright.sync_api import sync_playwright

    lon, lat = worker_spot(url)
    password = os.environ.get("DEMO_PASSWORD", "gridmgmt-demo")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(
                base_url=base, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                locale="zh-CN", geolocation={"longitude": lon, "latitude": lat, "accuracy": 10},
                permissions=["geolocation"], service_workers="allow",
            )  # fmt: skip
            page = context.new_page()
            transferred: dict[str, int] = {}

            def count(response):
                sizes = response.request.sizes()
                transferred[response.url] = sizes["responseBodySize"] + sizes["responseHeadersSize"]

            page.on("response", count)
            started = time.perf_counter()
            page.goto("/m/")
            page.fill("input[name=username]", WORKER)
            page.fill("input[name=password]", password)
            page.click("form.login button[type=submit]")
            page.wait_for_selector(".grid-card .minimap path", state="attached")
            page.wait_for_function("() => navigator.serviceWorker.controller !== null")
            page.wait_for_load_state("networkidle")
            seconds = time.perf_counter() - started
            page.remove_listener("response", count)
        finally:
            browser.close()
    total = sum(transferred.values())
    shell = sum(size for address, size in transferred.items() if "/api/" not in address)
    largest = sorted(transferred.items(), key=lambda item: -item[1])[:8]
    return {
        "kb": total / 1024,
        "app_kb": shell / 1024,
        "data_kb": (total - shell) / 1024,
        "responses": len(transferred),
        "seconds": seconds,
        "target_kb": FIRST_LOAD_TARGET_KB,
        "largest": [(address.removeprefix(base), size) for address, size in largest],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=200)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    WORK_DIR.mkdir(parents=True, exist_ok=True)
    url = with_name(bench_url(), "gridmgmt_bench_handheld")
    ensure_database(url)
    for step in (
        ("migrate", "--noinput"),
        ("seed_demo", "--scale", "small", "--if-empty"),
        ("collectstatic", "--noinput"),
    ):
        run = manage(*step, url=url)
        if run.returncode:
            sys.exit(f"{' '.join(step)} failed:\n{run.output[-2000:]}")
    lon, lat = worker_spot(url)
    server = serve(url, args.port)
    base = f"http://127.0.0.1:{args.port}"
    password = os.environ.get("DEMO_PASSWORD", "gridmgmt-demo")
    try:
        if not wait_for(lambda: is_up(base)):
            sys.exit("the server did not come up")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            context = browser.new_context(
                base_url=base, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                locale="zh-CN", geolocation={"longitude": lon, "latitude": lat, "accuracy": 10},
                permissions=["geolocation"], service_workers="allow",
            )  # fmt: skip
            page = context.new_page()
            transferred: dict[str, int] = {}

            def count(response):
                sizes = response.request.sizes()
                transferred[response.url] = sizes["responseBodySize"] + sizes["responseHeadersSize"]

            page.on("response", count)
            page.goto("/m/")
            page.fill("input[name=username]", WORKER)
            page.fill("input[name=password]", password)
            page.click("form.login button[type=submit]")
            page.wait_for_selector(".grid-card .minimap path", state="attached")
            page.wait_for_function("() => navigator.serviceWorker.controller !== null")
            page.wait_for_load_state("networkidle")
            page.remove_listener("response", count)
            total = sum(transferred.values())
            shell = sum(size for address, size in transferred.items() if "/api/" not in address)
            data = total - shell
            print(
                f"first load: {total / 1024:.0f} KB transferred ({shell / 1024:.0f} KB app, {data / 1024:.0f} KB data)"
                f" in {len(transferred)} responses; target ≤ {FIRST_LOAD_TARGET_KB} KB"
            )
            for address, size in sorted(transferred.items(), key=lambda item: -item[1])[:8]:
                print(f"    {size / 1024:7.1f} KB  {address.removeprefix(base)}")

            context.set_offline(True)
            starts = []
            for _ in range(5):
                response = page.reload()
                assert response.from_service_worker
                page.wait_for_function("() => window.__ready && window.__ready.home")
                starts.append(page.evaluate("window.__ready.home"))
            print(f"offline start to home screen: median {sorted(starts)[2]:.0f} ms (runs: "
                  f"{', '.join(f'{value:.0f}' for value in starts)}); target < 1000 ms")  # fmt: skip

            uuids = [str(uuid.uuid4()) for _ in range(args.reports)]
            page.goto("/m/#/outbox")
            page.evaluate(
                """async ({uuids, lon, lat}) => {
                    const outbox = await import('/static/handheld/outbox.js');
                    const category = window.gridApp.packages.values().next().value.body.categories[0].code;
                    for (const [n, client_uuid] of uuids.entries()) {
                        await outbox.enqueue('report', {label: `bench ${n}`, body: {client_uuid, category,
                            description: `bench report ${n}`, location: {type: 'Point', coordinates: [lon, lat]},
                            captured_at: new Date().toISOString()}});
                    }
                }""",
                {"uuids": uuids, "lon": lon, "lat": lat},
            )
            waiting = page.evaluate(
                "async () => (await import('/static/handheld/outbox.js')).items().then((all) => "
                "all.filter((item) => item.state === 'pending').length)"
            )
            print(f"outbox: {waiting} reports made offline and waiting")
            started = time.perf_counter()
            context.set_offline(False)
            sent = 0
            while sent < args.reports and time.perf_counter() - started < 600:
                time.sleep(0.2)
                sent = page.evaluate(
                    "async () => (await (await import('/static/handheld/outbox.js')).items())"
                    ".filter((item) => item.state === 'sent' && item.label.startsWith('bench')).length"
                )
            seconds = time.perf_counter() - started
            rows, distinct = cases_with(url, uuids)
            print(f"drained {sent} of {args.reports} in {seconds:.1f} s ({args.reports / seconds:.1f} reports/s): "
                  f"{args.reports - distinct} lost, {rows - distinct} doubled")  # fmt: skip
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
