"""Ordinary requests while 12 worst-case dashboard requests run: do the per-request bounds keep the service up?

    .venv/bin/python -m bench.worst_case [--seconds 20] [--heavy 12] [--database-url URL]

Serves the project the way `make run` does (gunicorn gridmgmt.wsgi, 3 workers × 4 threads, over HTTP on a free
loopback port) on the database of DATABASE_URL (or .env; a demo loaded with `seed_demo`, any scale). Signs in as
the demo `manager`, then measures the ordinary requests — /api/v1/locate at a point of the district and the first
page of /api/v1/cases — first alone, then while --heavy clients each fire the largest heat-bin request the bounds
still allow, one after another (after a 503, waiting as its Retry-After asks): the district's bbox at the highest
zoom under the bins limit, per 1,000 residents, over the longest date window. Prints p50/p95 of both runs and
what the heavy requests got, with the commit.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter

from bench.common import BASE_DIR, percentile
from tests.live import free_port, is_up, wait_for

WORKERS, THREADS = 3, 4  # as the Makefile's `make run`
RETRY_AFTER_S = 2


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmgmt.settings")
    import django

    django.setup()


def worst_case_query() -> tuple[str, int, int]:
    """(query string, zoom, bins) of the largest heat-bin request the bounds allow over the district."""
    from django.db import connection

    from gridmgmt.limits import HEX_BINS_PER_REQUEST
    from maps.selectors import hex_bins_needed

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
            "FROM (SELECT ST_Extent(boundary) e FROM grids_district) t"
        )
        bbox = tuple(round(v, 5) for v in cursor.fetchone())
    zoom = max(z for z in range(3, 21) if hex_bins_needed(bbox=bbox, zoom=z) <= HEX_BINS_PER_REQUEST)
    bins = hex_bins_needed(bbox=bbox, zoom=zoom)
    query = urllib.parse.urlencode({"in_bbox": ",".join(map(str, bbox)), "zoom": zoom, "measure": "per_1000"})
    return query, zoom, bins


def district_point() -> tuple[float, float]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_X(p), ST_Y(p) "
            "FROM (SELECT ST_PointOnSurface(footprint) p FROM grids_building ORDER BY code LIMIT 1) t"
        )
        return cursor.fetchone()


def commit() -> str:
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=BASE_DIR, capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=BASE_DIR, capture_output=True, text=True
    )
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


class Server:
    def __init__(self, url: str, *, slots: int | None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "DATABASE_URL": url, "DEBUG": "0", "HTTPS": "0"}
        if slots:
            env["HEAVY_REQUESTS_AT_ONCE"] = str(slots)
        command = [
            str(BASE_DIR / ".venv/bin/gunicorn"), "gridmgmt.wsgi", "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(WORKERS), "--threads", str(THREADS), "--timeout", "120",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def up(self) -> bool:
        return is_up(self.base)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def call(base: str, path: str, token: str, *, data: dict | None = None) -> tuple[int, float, bytes]:
    headers = {"Authorization": f"Token {token}"} if token else {}
    request = urllib.request.Request(base + path, headers=headers)  # noqa: S310 (http on loopback)
    if data is not None:
        request.data = urllib.parse.urlencode(data).encode()
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 (http on loopback)
            body, status = response.read(), response.status
    except urllib.error.HTTPError as error:
        body, status = error.read(), error.code
    return status, (time.perf_counter() - started) * 1000, body


def ordinary_run(base: str, token: str, paths: list[str], seconds: float) -> tuple[list[float], Counter]:
    """One client asking the ordinary requests in turn for `seconds`; their times in ms and their statuses."""
    times, statuses = [], Counter()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for path in paths:
            status, ms, _ = call(base, path, token)
            times.append(ms)
            statuses[status] += 1
    return times, statuses


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20, help="length of each measured run (default 20)")
    parser.add_argument("--heavy", type=int, default=12, help="concurrent worst-case clients (default 12)")
    parser.add_argument("--database-url", default=None, help="default: DATABASE_URL or .env")
    parser.add_argument(
        "--slots", type=int, default=None, help="HEAVY_REQUESTS_AT_ONCE for the server (default: its own)"
    )
    args = parser.parse_args(argv)

    from dotenv import load_dotenv

    load_dotenv(BASE_DIR / ".env")
    url = args.database_url or os.environ.get("DATABASE_URL", "postgis://gridmgmt:gridmgmt@127.0.0.1:5432/gridmgmt")
    setup_django(url)
    from django.conf import settings
    from django.db import connection

    from gridmgmt.limits import HEX_BINS_PER_REQUEST

    heavy_query, zoom, bins = worst_case_query()
    lon, lat = district_point()
    with connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT count(*) FROM cases_case), (SELECT count(*) FROM grids_person)")
        cases, people = cursor.fetchone()
    connection.close()

    server = Server(url, slots=args.slots)
    try:
        if not wait_for(server.up, 60):
            print("the server did not come up", file=sys.stderr)
            return 1
        status, _, body = call(
            server.base, "/api/v1/auth/token", "", data={"username": "manager", "password": settings.DEMO_PASSWORD}
        )
        if status != 200:
            print(f"cannot sign in as the demo manager: {status} {body[:200]!r}", file=sys.stderr)
            return 1
        token = json.loads(body)["token"]
        heavy_path = "/api/v1/dashboard/hexbins?" + heavy_query
        ordinary = [f"/api/v1/locate?lon={lon}&lat={lat}", "/api/v1/cases?page_size=20"]
        for path in [heavy_path, *ordinary]:  # warm every worker's connection and caches; check they answer
            for _ in range(WORKERS * 2):
                status, _, body = call(server.base, path, token)
                if status != 200:
                    print(f"{path}: {status} {body[:300]!r}", file=sys.stderr)
                    return 1
        single = [call(server.base, heavy_path, token)[1] for _ in range(5)]

        alone, alone_statuses = ordinary_run(server.base, token, ordinary, args.seconds)

        stop = threading.Event()
        heavy_times, heavy_statuses, lock = [], Counter(), threading.Lock()

        def hammer():
            while not stop.is_set():
                status, ms, _ = call(server.base, heavy_path, token)
                with lock:
                    heavy_times.append(ms)
                    heavy_statuses[status] += 1
                if status == 503:
                    stop.wait(RETRY_AFTER_S)  # as the 503's Retry-After asks

        clients = [threading.Thread(target=hammer, daemon=True) for _ in range(args.heavy)]
        for client in clients:
            client.start()
        time.sleep(1)  # all of them in flight
        loaded, loaded_statuses = ordinary_run(server.base, token, ordinary, args.seconds)
        stop.set()
        for client in clients:
            client.join(timeout=130)
    finally:
        server.stop()

    def ms(value: float) -> str:
        return f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"

    lines = [
        f"worst-case load, commit {commit()}, {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, "
        f"{os.cpu_count()} CPUs",
        f"database: {connection.settings_dict['NAME']} ({cases:,} cases, {people:,} people); "
        f"gunicorn {WORKERS} workers × {THREADS} threads, {args.slots or settings.HEAVY_REQUESTS_AT_ONCE} heavy "
        f"request(s) at once; runs of {args.seconds:.0f} s",
        f"worst case: GET /api/v1/dashboard/hexbins, district bbox at zoom {zoom} (~{bins:,} bins of the "
        f"{HEX_BINS_PER_REQUEST:,} allowed), per_1000, longest date window; alone p50 {ms(percentile(single, 0.5))}",
        "",
        "| ordinary requests (locate, case list page) | n | p50 | p95 | max | statuses |",
        "|---|---|---|---|---|---|",
        f"| alone | {len(alone)} | {ms(percentile(alone, 0.5))} | {ms(percentile(alone, 0.95))} | {ms(max(alone))} | "
        f"{dict(alone_statuses)} |",
        f"| with {args.heavy} worst-case requests running | {len(loaded)} | {ms(percentile(loaded, 0.5))} | "
        f"{ms(percentile(loaded, 0.95))} | {ms(max(loaded))} | {dict(loaded_statuses)} |",
        f"| (the worst-case requests themselves) | {len(heavy_times)} | {ms(percentile(heavy_times, 0.5))} | "
        f"{ms(percentile(heavy_times, 0.95))} | {ms(max(heavy_times, default=0))} | {dict(heavy_statuses)} |",
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
