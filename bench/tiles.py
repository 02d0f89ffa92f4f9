"""Time the building-tile and heat-bin endpoints against the same SQL run raw, in one run.

    .venv/bin/python -m bench.tiles [--rounds 15] [--tiles 40]

Uses the database of DATABASE_URL (load the district demo first: `manage.py seed_demo`). Each round requests
every sample through Django's test client (middleware, authentication, view, response) and runs the same
ST_AsMVT / ST_HexagonGrid statement raw on a cursor, interleaved, then prints the medians and their ratio.
Everything runs inside one transaction that is rolled back (the bench's login session leaves nothing behind).
Beside them, `session`: the two reads every signed-in request makes before its view (its session row, then its
user), run raw, to show how much of an endpoint's time they are.
"""

import argparse
import math
import os
import statistics
import sys
import time
import warnings


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmgmt.settings")
    import django

    django.setup()


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def sample_tiles(count: int, z: int = 16) -> list[tuple[int, int, int]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_PointOnSurface(footprint) AS c FROM grids_building "
            "ORDER BY md5(id::text) LIMIT %s) t",
            [count * 4],
        )
        tiles = []
        for lon, lat in cursor.fetchall():
            tile = (z, *tile_of(lon, lat, z))
            if tile not in tiles:
                tiles.append(tile)
    return tiles[:count]


def sample_views() -> list[tuple[tuple[float, float, float, float], int]]:
    """The whole district at zoom 12 and 13, and a few street-sized views at zoom 14."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
            "FROM (SELECT ST_Extent(boundary) e FROM grids_street) t"
        )
        district = cursor.fetchone()
        cursor.execute(
            "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM "
            "(SELECT Box2D(boundary) b FROM grids_community ORDER BY code LIMIT 4) t"
        )
        communities = cursor.fetchall()
    views = [(tuple(district), 12), (tuple(district), 13)]
    views += [(tuple(box), 14) for box in communities]
    return views


def in_turn(a, b, *, a_first: bool) -> tuple[tuple[object, float], tuple[object, float]]:
    """Call a and b one after the other, in the order given, and return ((a's result, seconds), (b's, seconds)).
    The bench alternates the order: the first to read a tile or an area meets colder caches than the second."""
    timed = {}
    for call in (a, b) if a_first else (b, a):
        started = time.perf_counter()
        timed[call] = (call(), time.perf_counter() - started)
    return timed[a], timed[b]


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def run(*, rounds: int = 15, tile_count: int = 40, stdout=sys.stdout) -> dict:
    """Time the endpoints and the raw SQL, interleaved; {"tile": {...}, "hexbins": {...}} with medians in ms."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.test import Client

    from maps import selectors

    with transaction.atomic():
        user = get_user_model().objects.create_user("bench-tiles-user", password=None, is_superuser=True)
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        tiles = sample_tiles(tile_count)
        views = sample_views()
        cases = selectors.CaseFilter()
        results: dict[str, dict[str, list[float]]] = {
            "tile": {"endpoint": [], "raw": []},
            "hexbins": {"endpoint": [], "raw": []},
            "session": {"raw": []},  # what every signed-in request reads before its view: session, then user
        }
        session_key = client.session.session_key
        tile_bytes = hex_count = 0
        with connection.cursor() as cursor:
            for round_no in range(rounds):
                for i, (z, x, y) in enumerate(tiles):

                    def endpoint(z=z, x=x, y=y):
                        return client.get(f"/api/v1/tiles/buildings/{z}/{x}/{y}.pbf", secure=True)

                    def raw_sql(z=z, x=x, y=y):
                        cursor.execute(selectors.TILE_SQL, {"z": z, "x": x, "y": y, "dx": 0.0, "dy": 0.0})
                        return cursor.fetchone()[0]

                    (response, endpoint_s), (raw, raw_s) = in_turn(endpoint, raw_sql, a_first=(i + round_no) % 2 == 0)
                    assert response.status_code == 200 and len(response.content) == len(bytes(raw or b""))
                    tile_bytes += len(response.content)
                    results["tile"]["endpoint"].append(endpoint_s)
                    results["tile"]["raw"].append(raw_s)
                    t2 = time.perf_counter()
                    cursor.execute(
                        "SELECT session_data FROM django_session WHERE session_key = %s AND expire_date > now()",
                        [session_key],
                    )
                    cursor.fetchone()
                    cursor.execute("SELECT * FROM auth_user WHERE id = %s", [user.pk])
                    cursor.fetchone()
                    results["session"]["raw"].append(time.perf_counter() - t2)
                for j, (bbox, zoom) in enumerate(views):
                    in_bbox = ",".join(f"{v:.6f}" for v in bbox)
                    rounded = tuple(float(f"{v:.6f}") for v in bbox)
                    sql, params = selectors.hex_bins_sql(bbox=rounded, zoom=zoom, cases=cases, per_1000=False)

                    def hex_endpoint(in_bbox=in_bbox, zoom=zoom):
                        return client.get(f"/api/v1/dashboard/hexbins?in_bbox={in_bbox}&zoom={zoom}", secure=True)

                    def hex_sql(sql=sql, params=params):
                        cursor.execute(sql, params)
                        return cursor.fetchone()

                    (response, endpoint_s), (_, raw_s) = in_turn(hex_endpoint, hex_sql, a_first=(j + round_no) % 2 == 0)
                    assert response.status_code == 200, response.content[:200]
                    hex_count += len(response.json()["features"])
                    results["hexbins"]["endpoint"].append(endpoint_s)
                    results["hexbins"]["raw"].append(raw_s)
        transaction.set_rollback(True)

    summary = {
        name: {
            "endpoint_ms": median_ms(timing["endpoint"]) if "endpoint" in timing else None,
            "raw_ms": median_ms(timing["raw"]),
            "samples": len(timing["raw"]),
        }
        for name, timing in results.items()
    }
    summary["tile"]["kib"] = tile_bytes / max(1, len(results["tile"]["raw"])) / 1024
    summary["tile"]["count"] = len(tiles)
    summary["hexbins"]["hexagons"] = hex_count / max(1, len(results["hexbins"]["raw"]))
    summary["hexbins"]["views"] = len(views)
    stdout.write(
        f"tiles: {len(tiles)} z16 tiles ({summary['tile']['kib']:.1f} KiB on average) and {len(views)} heat-bin "
        f"views ({summary['hexbins']['hexagons']:.0f} hexagons on average), {rounds} rounds\n"
    )
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--tiles", type=int, default=40)
    parser.add_argument(
        "--synthetic-cases",
        type=int,
        default=0,
        metavar="N",
        help="when the database has no cases, first write N synthetic ones (bench/synthetic_cases.py; kept)",
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="No directory at")
    setup_django()

    from maps import selectors

    if not selectors.Building.objects.exists():
        print("No buildings in this database: load the demo first (manage.py seed_demo).", file=sys.stderr)
        return 1
    from cases.models import Case

    if args.synthetic_cases and not Case.objects.exists():
        from bench.synthetic_cases import add_synthetic_cases

        print(f"writing {add_synthetic_cases(args.synthetic_cases)} synthetic cases")
    print(f"database: {Case.objects.count()} cases, {selectors.Building.objects.count()} buildings")
    results = run(rounds=args.rounds, tile_count=args.tiles)
    print(f"{'':10}{'endpoint median':>18}{'raw SQL median':>18}{'ratio':>8}")
    for name, figures in results.items():
        endpoint, raw = figures["endpoint_ms"], figures["raw_ms"]
        if endpoint is None:
            print(f"{name:10}{'':>18}{raw:>15.2f} ms")
            continue
        print(f"{name:10}{endpoint:>15.2f} ms{raw:>15.2f} ms{endpoint / raw:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
