"""The request rows of `make bench`: who asks what, the samples, each row's floor, and the measurement.

See bench/boundary.py for how a row is timed (HTTP through gunicorn, in-process, floor), and bench/README.md for
what each row means.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import random
import re
import statistics
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import DatabaseError

from bench.boundary import (
    Floor,
    Http,
    InProcess,
    Timed,
    floor_variant,
    http_variant,
    interleaved,
    pgbench,
    recorded_statements,
    wrk_get,
)

BENCH_WORKERS = 48  # grid workers whose tokens post reports and fetch packages (bench-worker-01 …)
MANAGER = "manager"  # the demo manager (district level): the dashboard, the map, the exports


@dataclass
class Scale:
    points: int  # locate / route samples
    rounds: int  # timed rounds over them
    tiles: int  # tiles per zoom
    tile_rounds: int
    throughput_s: int  # wrk / pgbench seconds per throughput row
    post_s: int  # report POST run
    export_rounds: int
    items_pages: int


SCALES = {
    "small": Scale(
        points=40, rounds=3, tiles=8, tile_rounds=3, throughput_s=5, post_s=8, export_rounds=1, items_pages=4
    ),
    "district": Scale(
        points=300, rounds=5, tiles=30, tile_rounds=5, throughput_s=15, post_s=20, export_rounds=2, items_pages=10
    ),
    "city": Scale(
        points=300, rounds=5, tiles=30, tile_rounds=5, throughput_s=15, post_s=20, export_rounds=2, items_pages=10
    ),
}


@dataclass
class Row:
    key: str
    label: str  # what is measured
    user: str
    http_ms: float | None = None  # p50
    http_p95_ms: float | None = None
    in_process_ms: float | None = None
    floor_ms: float | None = None
    floor_label: str = ""
    target: str = ""
    met: bool | None = None
    ratio: float | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)


# --- Users ------------------------------------------------------------------------------------------------------


def manager_session() -> dict[str, str]:
    """A signed-in session of the demo manager, as the browser holds after logging in: its cookie."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model

    user = get_user_model().objects.get(username=MANAGER)
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.set_expiry(6 * 3600)
    store.create()
    return {"Cookie": f"{settings.SESSION_COOKIE_NAME}={store.session_key}"}


@dataclass
class Worker:
    username: str
    grid_id: int
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}"}


def bench_workers(count: int = BENCH_WORKERS) -> list[Worker]:
    """Grid workers of the bench, one grid each (the grids in code order, round the district), each with a fresh
    access token, as many phones would hold: the committee of their grid's community is their unit."""
    from django.contrib.auth import get_user_model

    from grids.models import Grid, Role, Staff, Unit, UnitType
    from mobileapi.models import AccessToken

    grids = list(Grid.objects.select_related("community").order_by("code"))
    committees = {
        unit.code: unit for unit in Unit.objects.filter(type=UnitType.COMMUNITY_COMMITTEE).defer("jurisdiction")
    }
    fallback = next(iter(sorted(committees.values(), key=lambda u: u.code)))
    workers = []
    for n in range(count):
        grid = grids[n * max(1, len(grids) // count) % len(grids)]
        committee = (
            next(
                (unit for code, unit in committees.items() if grid.community.code in code),
                None,
            )
            or Unit.objects.filter(
                type=UnitType.COMMUNITY_COMMITTEE, jurisdiction__covers=grid.boundary.point_on_surface
            )
            .defer("jurisdiction")
            .first()
            or fallback
        )
        user, _ = get_user_model().objects.update_or_create(
            username=f"bench-worker-{n + 1:02d}", defaults={"first_name": f"压测网格员{n + 1}", "is_active": True}
        )
        if user.has_usable_password():
            user.set_unusable_password()
            user.save(update_fields=["password"])
        staff, _ = Staff.objects.update_or_create(user=user, defaults={"role": Role.WORKER, "unit": committee})
        staff.grids.set([grid])
        _, key = AccessToken.issue(user=user, device_id=f"bench-{n + 1}", lifetime=timedelta(hours=4))
        workers.append(Worker(user.username, grid.pk, key))
    return workers


# --- Samples ----------------------------------------------------------------------------------------------------


def sample_points(count: int, seed: int = 7) -> list[tuple[float, float]]:
    """Points inside grids (where the registry is): a few random points in every grid, shuffled, `count` kept."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM grids_grid")
        (grids,) = cursor.fetchone()
        per_grid = max(1, math.ceil(count / max(1, grids)))
        cursor.execute(
            "SELECT ST_X(p.geom), ST_Y(p.geom) FROM grids_grid g, "
            "LATERAL ST_Dump(ST_GeneratePoints(g.boundary, %s, %s + g.id::int)) p "
            "ORDER BY md5(g.id || ':' || p.path[1]::text)",
            [per_grid, seed],
        )
        return cursor.fetchall()[:count]


def _runtime_user() -> str | None:
    """The web server's role on the bench database (run.py sets DATABASE_OWNER_URL to that database)."""
    import dj_database_url

    from bench.common import runtime_url

    return dj_database_url.parse(runtime_url(os.environ["DATABASE_OWNER_URL"]))["USER"]


def store_points(points: list[tuple[float, float]], categories: list) -> None:
    """bench_points: the samples, for the floors' statements (the same point read the same way by every floor)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_points")
        cursor.execute(
            "CREATE TABLE bench_points (id int PRIMARY KEY, lon float8, lat float8, category text, types text[])"
        )
        cursor.executemany(
            "INSERT INTO bench_points VALUES (%s, %s, %s, %s, %s)",
            [
                (i + 1, lon, lat, category.code, [category.handling_unit_type, *category.co_unit_types])
                for i, ((lon, lat), category) in enumerate(zip(points, categories, strict=True))
            ],
        )
        cursor.execute("ANALYZE bench_points")
        cursor.execute("SELECT current_user")
        owner = cursor.fetchone()[0]
        runtime = _runtime_user()
        if runtime and runtime != owner:
            cursor.execute(f'GRANT SELECT ON bench_points TO "{runtime}"')


POINT_OF = (
    "pt AS (SELECT ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326) AS g, p.types FROM bench_points p WHERE p.id = {id})"
)

# What /api/v1/locate answers — the grid and its community, street and district, the building, the units whose
# jurisdiction covers the point (on their subdivided pieces, cases_unitarea) — and nothing else, in one statement.
LOCATE_FLOOR = """
WITH {pt},
grid AS (SELECT g.id, g.code, g.name, g.community_id FROM grids_grid g, pt WHERE ST_Covers(g.boundary, pt.g)
         ORDER BY g.code LIMIT 1)
SELECT grid.id, grid.code, grid.name, c.id, c.code, c.name, s.id, s.code, s.name, d.id, d.code, d.name,
    (SELECT row(b.id, b.code, b.name, b.address, b.floors, b.use) FROM grids_building b, pt
     WHERE ST_Covers(b.footprint, pt.g) ORDER BY b.code LIMIT 1),
    ARRAY(SELECT row(u.id, u.code, u.name, u.type) FROM grids_unit u
          WHERE u.id IN (SELECT a.unit_id FROM cases_unitarea a, pt WHERE ST_Covers(a.geom, pt.g))
          ORDER BY u.type, u.code)
FROM grid JOIN grids_community c ON c.id = grid.community_id JOIN grids_street s ON s.id = c.street_id
     JOIN grids_district d ON d.id = s.district_id
"""

# What /api/v1/route answers — the point's district, street, community and grid, and the units of the category's
# handling and co-handling types covering it (subdivided pieces), with their codes and names — in one statement.
ROUTE_FLOOR = """
WITH {pt}
SELECT
    (SELECT d.id FROM grids_district d, pt WHERE ST_Covers(d.boundary, pt.g) ORDER BY d.code LIMIT 1),
    (SELECT s.id FROM grids_street s, pt WHERE ST_Covers(s.boundary, pt.g) ORDER BY s.code LIMIT 1),
    (SELECT c.id FROM grids_community c, pt WHERE ST_Covers(c.boundary, pt.g) ORDER BY c.code LIMIT 1),
    (SELECT g.id FROM grids_grid g, pt WHERE ST_Covers(g.boundary, pt.g) ORDER BY g.code LIMIT 1),
    ARRAY(SELECT row(u.id, u.code, u.name, u.type, u.parent_id) FROM grids_unit u
          WHERE u.id IN (SELECT a.unit_id FROM cases_unitarea a, pt
                         WHERE a.unit_type = ANY(pt.types) AND ST_Covers(a.geom, pt.g)))
FROM pt
"""


def floor_sql(template: str, *, pgbench_var: bool = False) -> str:
    return template.replace("{pt}", POINT_OF.replace("{id}", ":i" if pgbench_var else "%(id)s"))


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def sample_tiles(count: int, z: int, *, skip: int = 0) -> list[tuple[int, int, int]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_PointOnSurface(footprint) AS c FROM grids_building "
            "ORDER BY md5(id::text)) t"
        )
        tiles: list[tuple[int, int, int]] = []
        for lon, lat in cursor.fetchall():
            tile = (z, *tile_of(lon, lat, z))
            if tile not in tiles:
                tiles.append(tile)
            if len(tiles) >= count + skip:
                break
    return tiles[skip:]


def heat_views() -> list[tuple[tuple[float, float, float, float], int]]:
    """The whole district at zoom 12 and 13, and four communities at zoom 14 (as the dashboard asks)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
            "FROM (SELECT ST_Extent(boundary) e FROM grids_street) t"
        )
        district = tuple(round(v, 6) for v in cursor.fetchone())
        cursor.execute(
            "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM "
            "(SELECT Box2D(boundary) b FROM grids_community ORDER BY code LIMIT 4) t"
        )
        communities = [tuple(round(v, 6) for v in row) for row in cursor.fetchall()]
    return [(district, 12), (district, 13), *[(box, 14) for box in communities]]


# --- Measuring ----------------------------------------------------------------------------------------------------


def three_ways(
    samples: list[dict],
    *,
    http: Http,
    local: InProcess,
    floor: Floor,
    rounds: int,
    warm: bool = True,
    expect=(200,),
    headers_of=None,
) -> Timed:
    return interleaved(
        samples,
        {
            "http": http_variant(http, expect=expect, headers_of=headers_of),
            "in-process": http_variant(local, expect=expect, headers_of=headers_of),
            "floor": floor_variant(floor),
        },
        rounds=rounds,
        warm=warm,
    )


def to_row(row: Row, timed: Timed, *, target_ratio: float | None = None, plus_ms: float | None = None) -> Row:
    row.http_ms, row.http_p95_ms = timed.p("http"), timed.p("http", 0.95)
    row.in_process_ms, row.floor_ms = timed.p("in-process"), timed.p("floor")
    row.ratio = row.http_ms / row.floor_ms if row.floor_ms else None
    row.extra["n"] = len(timed.seconds["http"])
    row.extra["statuses"] = dict(timed.statuses)
    if timed.bytes:
        row.extra["bytes"] = int(statistics.median(timed.bytes))
    if plus_ms is not None:
        row.target = f"≤ floor + {plus_ms:g} ms"
        row.met = row.http_ms <= row.floor_ms + plus_ms
    elif target_ratio is not None:
        row.target = f"≤ {target_ratio:g}× floor"
        row.met = row.ratio <= target_ratio
    return row


def failed(key: str, label: str, user: str, error: Exception) -> Row:
    """A row whose requests did not all answer as expected: what they answered, marked missed."""
    text = str(error)
    status = re.search(r": (\d{3}) ", text)
    note = f"answered {status.group(1)}" if status else text.splitlines()[0][:120]
    if "database limit" in text or "statement timeout" in text:
        note += " (the request's 5 s database limit)"
    return Row(key, label, user, met=False, note=note, target="answers")


def three(row: Row) -> str:
    return (
        f"{row.key}: {row.http_ms:.2f} ms over HTTP, {row.in_process_ms:.2f} ms in-process, floor {row.floor_ms:.2f} ms"
    )


def measure_requests(url: str, base: str, scale: Scale, *, workers: list[Worker], stdout) -> list[Row]:
    from django.contrib.auth import get_user_model

    from cases.models import Category

    session = manager_session()
    rows: list[Row] = []
    floor = Floor(url)
    rng = random.Random(3)

    def say(text: str) -> None:
        stdout.write(f"  {text}\n")
        stdout.flush()

    # Locate and route: points inside grids, a random leaf category each.
    points = sample_points(scale.points)
    leaves = list(Category.objects.filter(children__isnull=True, active=True).order_by("code"))
    categories = [rng.choice(leaves) for _ in points]
    store_points(points, categories)
    manager_http, manager_local = Http(base, session), InProcess(session)
    locate_floor, route_floor = floor_sql(LOCATE_FLOOR), floor_sql(ROUTE_FLOOR)
    locate = [
        {"path": f"/api/v1/locate?lon={lon:.7f}&lat={lat:.7f}", "floor": [(locate_floor, {"id": i + 1})]}
        for i, (lon, lat) in enumerate(points)
    ]
    PROFILED["locate"] = PROFILED["locate/s"] = (locate, session)
    timed = three_ways(locate, http=manager_http, local=manager_local, floor=floor, rounds=scale.rounds)
    rows.append(to_row(Row("locate", "GET /api/v1/locate, p50", "manager (session)"), timed, plus_ms=2))
    say(three(rows[-1]))
    route = [
        {
            "path": f"/api/v1/route?lon={lon:.7f}&lat={lat:.7f}&category={category.code}",
            "floor": [(route_floor, {"id": i + 1})],
        }
        for i, ((lon, lat), category) in enumerate(zip(points, categories, strict=True))
    ]
    PROFILED["route"] = PROFILED["route/s"] = (route, session)
    timed = three_ways(route, http=manager_http, local=manager_local, floor=floor, rounds=scale.rounds)
    rows.append(to_row(Row("route", "GET /api/v1/route, p50", "manager (session)"), timed, plus_ms=2))
    say(three(rows[-1]))

    # Throughput with 8 connections: wrk against gunicorn, pgbench with the floor statement.
    for key, samples, template in (("locate", locate, LOCATE_FLOOR), ("route", route, ROUTE_FLOOR)):
        served = wrk_get(base, [s["path"] for s in samples], [session], connections=8, seconds=scale.throughput_s)
        script = f"\\set i random(1, {len(points)})\n" + " ".join(floor_sql(template, pgbench_var=True).split()) + ";\n"
        bare = pgbench(url, script, clients=8, seconds=scale.throughput_s)
        row = Row(
            f"{key}/s", f"GET /api/v1/{key}, 8 connections (wrk {scale.throughput_s} s)", "manager (session)",
            target="≥ 330 /s", floor_label="pgbench -M prepared, 8 clients",
        )  # fmt: skip
        row.extra = {"per_second": served["per_second"], "floor_per_second": bare["per_second"],
                     "errors": served["bad"] + served["socket_errors"], "p99_ms": served["p99_us"] / 1000,
                     "first_error": served["first_error"]}  # fmt: skip
        row.ratio = bare["per_second"] / served["per_second"] if served["per_second"] else None
        row.met = served["per_second"] >= 330 and row.extra["errors"] == 0
        rows.append(row)
        say(f"{key} with 8 connections: {served['per_second']:.0f}/s (floor {bare['per_second']:.0f}/s)")

    # Building tiles z14–z16: first (never asked before by anyone) and repeated (the same tiles again).
    from maps import selectors as map_selectors

    for z in (14, 15, 16):
        warm_tiles = sample_tiles(scale.tiles, z, skip=scale.tiles)
        tiles = sample_tiles(scale.tiles, z)

        def tile_samples(tile_list):
            return [
                {
                    "path": f"/api/v1/tiles/buildings/{tz}/{tx}/{ty}.pbf",
                    "floor": [(map_selectors.TILE_SQL, {"z": tz, "x": tx, "y": ty, "dx": 0.0, "dy": 0.0})],
                }
                for tz, tx, ty in tile_list
            ]

        # warm the code paths and prepared statements on other tiles; then the samples, once, unseen
        three_ways(tile_samples(warm_tiles), http=manager_http, local=manager_local, floor=floor, rounds=0)
        PROFILED[f"tile z{z} first"] = PROFILED[f"tile z{z} repeated"] = (tile_samples(tiles), session)
        first = three_ways(
            tile_samples(tiles), http=manager_http, local=manager_local, floor=floor, rounds=1, warm=False
        )
        rows.append(
            to_row(
                Row(f"tile z{z} first", f"GET building tile z{z}, first request, p50", "manager (session)"),
                first,
                target_ratio=1.5,
            )
        )
        again = three_ways(
            tile_samples(tiles),
            http=manager_http,
            local=manager_local,
            floor=floor,
            rounds=scale.tile_rounds,
            warm=False,
        )
        rows.append(
            to_row(
                Row(f"tile z{z} repeated", f"GET building tile z{z}, repeated, p50", "manager (session)"),
                again,
                target_ratio=1.5,
            )
        )
        for row in rows[-2:]:
            row.floor_label = "TILE_SQL (ST_AsMVT) prepared"
        say(three(rows[-2]))
        say(three(rows[-1]))

    # Heat bins, dashboard summary: the manager; floors are the endpoints' own statements, prepared.
    try:
        hex_samples = []
        for bbox, zoom in heat_views():
            path = f"/api/v1/dashboard/hexbins?in_bbox={','.join(f'{v:.6f}' for v in bbox)}&zoom={zoom}"
            hex_samples.append({"path": path, "floor": recorded_statements(manager_local, "GET", path)})
        PROFILED["heat bins"] = (hex_samples, session)
        timed = three_ways(hex_samples, http=manager_http, local=manager_local, floor=floor, rounds=scale.rounds)
        rows.append(
            to_row(
                Row(
                    "heat bins",
                    "GET /api/v1/dashboard/hexbins (district z12, z13; 4 communities z14), p50",
                    "manager (session)",
                ),
                timed,
                target_ratio=1.5,
            )
        )
        rows[-1].floor_label = "its statements prepared"
        say(f"heat bins: {rows[-1].http_ms:.1f} ms (floor {rows[-1].floor_ms:.1f})")
    except (RuntimeError, DatabaseError) as error:  # e.g. a 503 at the request's database limit
        rows.append(
            failed(
                "heat bins",
                "GET /api/v1/dashboard/hexbins (district z12, z13; 4 communities z14), p50",
                "manager (session)",
                error,
            )
        )
        say(f"heat bins: failed: {str(error)[:200]}")

    try:
        summary_paths = [
            "/api/v1/dashboard/summary",
            "/api/v1/dashboard/summary?level=1",
            "/api/v1/dashboard/summary?level=2",
        ]
        summary = [{"path": p, "floor": recorded_statements(manager_local, "GET", p)} for p in summary_paths]
        PROFILED["summary"] = (summary, session)
        timed = three_ways(summary, http=manager_http, local=manager_local, floor=floor, rounds=scale.rounds)
        rows.append(
            to_row(Row("summary", "GET /api/v1/dashboard/summary, p50", "manager (session)"), timed, target_ratio=1.5)
        )
        rows[-1].floor_label = "its statements prepared"
        say(f"dashboard summary: {rows[-1].http_ms:.1f} ms (floor {rows[-1].floor_ms:.1f})")
    except (RuntimeError, DatabaseError) as error:  # e.g. a 503 at the request's database limit
        rows.append(failed("summary", "GET /api/v1/dashboard/summary, p50", "manager (session)", error))
        say(f"summary: failed: {str(error)[:200]}")

    # OGC API items pages (buildings, 100 a page), as a GIS client asks them, signed in as the manager.
    try:
        items, path = [], "/ogc/collections/buildings/items?limit=100"
        while path and len(items) < scale.items_pages:  # the first pages, following each page's `next` link
            _, data, _, _ = manager_local.request("GET", path)
            items.append({"path": path, "floor": recorded_statements(manager_local, "GET", path)})
            body = json.loads(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
            following = next((link["href"] for link in body.get("links", []) if link.get("rel") == "next"), None)
            path = following and "/ogc/" + following.split("/ogc/", 1)[1]
        timed = three_ways(items, http=manager_http, local=manager_local, floor=floor, rounds=scale.rounds)
        rows.append(
            to_row(Row("ogc items", "GET /ogc/collections/buildings/items?limit=100, p50", "manager (session)"), timed)
        )
        rows[-1].floor_label = "its statements prepared"
        say(f"OGC items page: {rows[-1].http_ms:.1f} ms (floor {rows[-1].floor_ms:.1f})")
    except (RuntimeError, DatabaseError) as error:  # e.g. a 503 at the request's database limit
        rows.append(
            failed("ogc items", "GET /ogc/collections/buildings/items?limit=100, p50", "manager (session)", error)
        )
        say(f"ogc items: failed: {str(error)[:200]}")

    # The grid package of each bench worker's own grid: 200, then 304 with the ETag the phone keeps.
    try:
        package = []
        worker_http, worker_local = Http(base, {}), InProcess({})
        for worker in workers:
            path = f"/api/mobile/v1/grids/{worker.grid_id}/package"
            statements = recorded_statements(worker_local, "GET", path, headers=worker.headers)
            package.append({"path": path, "headers": worker.headers, "floor": statements})
        timed = three_ways(
            package,
            http=worker_http,
            local=worker_local,
            floor=floor,
            rounds=max(1, scale.rounds // 2),
            headers_of=lambda s: s["headers"],
        )
        rows.append(
            to_row(Row("package 200", "GET grid package (200), p50", f"{len(workers)} workers (tokens)"), timed)
        )
        rows[-1].floor_label = "its statements prepared"
        for sample in package:
            _, _, headers, _ = worker_http.request("GET", sample["path"], headers=sample["headers"])
            sample["etag"] = headers.get("ETag")
        timed = three_ways(
            package,
            http=worker_http,
            local=worker_local,
            floor=floor,
            rounds=max(1, scale.rounds // 2),
            expect=(304,),
            headers_of=lambda s: {**s["headers"], "If-None-Match": s["etag"]},
        )
        rows.append(
            to_row(
                Row(
                    "package 304", "GET grid package with If-None-Match (304), p50", f"{len(workers)} workers (tokens)"
                ),
                timed,
            )
        )
        rows[-1].floor_label = "its statements prepared"
        say(three(rows[-2]))
        say(three(rows[-1]))
    except (RuntimeError, DatabaseError) as error:  # e.g. a 503 at the request's database limit
        rows.append(failed("package 200", "GET grid package (200), p50", "workers (tokens)", error))
        say(f"package 200: failed: {str(error)[:200]}")

    manager_http.close()
    worker_http.close()
    floor.close()
    get_user_model()  # keep the import used
    return rows


def first_chunk_statements(local: InProcess, path: str) -> list[tuple[str, object]]:
    """The statements a streamed export runs until its first rows (its SELECT), without reading all of it."""
    from django.db import connection

    statements: list[tuple[str, object]] = []

    def record(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        response = local.client.get(path, **local.meta)
        chunks = iter(response.streaming_content)
        for _ in range(3):  # the CSV head comes before the first rows
            if any("cases_case" in sql for sql, _ in statements if sql.lstrip().upper().startswith(("SELECT", "WITH"))):
                break
            next(chunks, None)
        response.close()
    return statements


def measure_export(url: str, base: str, scale: Scale, *, stdout) -> Row:
    """GET /api/v1/export/cases.csv as the manager, the whole body read; floor: COPY of the same SELECT as CSV."""
    from bench.common import connect, runtime_url

    session = manager_session()
    http, local = Http(base, session), InProcess(session)
    path = "/api/v1/export/cases.csv"
    statements = first_chunk_statements(local, path)
    selects = [
        (sql, params)
        for sql, params in statements
        if "cases_case" in sql and sql.lstrip().upper().startswith(("SELECT", "DECLARE", "WITH"))
    ]
    main_sql, main_params = max(selects, key=lambda item: len(item[0]))
    main_sql = re.sub(r"^\s*DECLARE .*? CURSOR .*? FOR ", "", main_sql, flags=re.S | re.I)
    conn = connect(runtime_url(url))
    cursor = conn.cursor()
    copy_sql = "COPY (" + cursor.mogrify(main_sql, main_params).decode() + ") TO STDOUT WITH (FORMAT csv, HEADER)"

    class Sink:
        size = 0

        def write(self, data):
            Sink.size += len(data)

    def floor_copy(sample, timed, record):
        started = time.perf_counter()
        Sink.size = 0
        cursor.copy_expert(copy_sql, Sink())
        seconds = time.perf_counter() - started
        if record:
            timed.extra_floor_bytes = Sink.size
        return seconds

    timed = interleaved(
        [{"path": path}],
        {"http": http_variant(http), "in-process": http_variant(local), "floor": floor_copy},
        rounds=scale.export_rounds,
        warm=False,
    )
    with connection_cursor() as count_cursor:
        count_cursor.execute("SELECT count(*) FROM cases_case")
        (cases,) = count_cursor.fetchone()
    row = Row("export csv", f"GET /api/v1/export/cases.csv ({cases:,} cases), whole body", "manager (session)")
    to_row(row, timed)
    row.http_ms, row.in_process_ms, row.floor_ms = (
        min(timed.seconds[n]) * 1000 for n in ("http", "in-process", "floor")
    )
    row.ratio = row.http_ms / row.floor_ms
    row.floor_label = "COPY (its SELECT) TO STDOUT CSV"
    row.label += f", best of {scale.export_rounds}"
    row.extra["cases"] = cases
    row.extra["floor_bytes"] = getattr(timed, "extra_floor_bytes", None)
    stdout.write(
        f"  export: {row.http_ms / 1000:.1f} s over HTTP, {row.in_process_ms / 1000:.1f} s in-process, "
        f"COPY {row.floor_ms / 1000:.1f} s\n"
    )
    http.close()
    conn.close()
    return row


def connection_cursor():
    from django.db import connection

    return connection.cursor()


def post_in_process(workers: list[Worker], *, n: int = 100, profile: bool = False) -> tuple[float, str]:
    """Median ms of a report POST through Django's test client in this process (no HTTP): where the time goes;
    with `profile`, the cProfile of those POSTs as well (top functions by their own time)."""
    import cProfile
    import io
    import pstats
    import uuid

    from django.utils import timezone

    from bench.load import leaf_categories
    from bench.load import sample_points as building_points

    points = building_points(n)
    categories = leaf_categories()
    rng = random.Random(5)
    times = []
    profiler = cProfile.Profile() if profile else None
    local = InProcess({})  # one client (Django's handler loads the middleware once, as a server process does)
    for i, (lon, lat) in enumerate(points):
        worker = workers[i % len(workers)]
        body = json.dumps(
            {
                "client_uuid": str(uuid.uuid4()),
                "category": rng.choice(categories),
                "description": f"bench in-process report {i}",
                "location": {"type": "Point", "coordinates": [lon, lat]},
                "address": "bench",
                "captured_at": (timezone.now() - timedelta(minutes=1)).isoformat(),
            }
        ).encode()
        if profiler and i >= 10:
            profiler.enable()
        status, data, _, seconds = local.request("POST", "/api/mobile/v1/reports", body=body, headers=worker.headers)
        if profiler:
            profiler.disable()
        if status != 201:
            raise RuntimeError(f"in-process report POST: {status} {data[:300]!r}")
        if i >= 10:  # the first few warm the process
            times.append(seconds)
    text = ""
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(14)
        lines = [line for line in out.getvalue().splitlines() if line.strip()]
        start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
        text = "\n".join(
            [f"{len(times)} report POSTs in-process under cProfile", *(line for line in lines[start:])]
        ).replace(str(BASE_DIR()) + "/", "")
    return statistics.median(times) * 1000, text


# --- Profiles of the rows that miss their targets -------------------------------------------------------------------

PROFILED: dict[str, tuple[list[dict], dict[str, str]]] = {}  # row key → (samples, headers), filled while measuring


def profile_in_process(samples: list[dict], headers: dict[str, str], *, requests: int = 60, top: int = 14) -> str:
    """cProfile of `requests` of the samples through Django's test client in this process: the functions with the
    most time of their own (where a request's time goes, below the HTTP server), as pstats prints them."""
    import cProfile
    import io
    import pstats

    local = InProcess(headers)
    for sample in samples[:5]:
        local.request("GET", sample["path"], headers=sample.get("headers"))
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for i in range(requests):
        sample = samples[i % len(samples)]
        local.request("GET", sample["path"], headers=sample.get("headers"))
    profiler.disable()
    elapsed = time.perf_counter() - started
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
    head = f"{requests} requests in-process under cProfile, {elapsed / requests * 1000:.1f} ms each (profiled)"
    return "\n".join([head, *(line.replace(str(BASE_DIR()) + "/", "") for line in lines[start:])])


def BASE_DIR():
    from bench.common import BASE_DIR as base

    return base
