"""`make bench`: build city scale once in a database of the bench's own, then measure everything in one run and
print one table, each figure beside its floor.

    .venv/bin/python -m bench.run [--rebuild] [--only import,routing,tiles,posts] [--post-seconds 20]
                                  [--update-readme]

Database: BENCH_DATABASE_URL, else .env's owner role on the database gridmgmt_bench (bench/common.py; created and
migrated here; never the dev database). The import runs into `<that name>_import`. City scale (seed_demo
--scale city, then 1M synthetic cases) is built once and recorded in the table `bench_marker`; later runs reuse
it. --rebuild builds it again. See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

from bench.common import BASE_DIR, WORK_DIR, bench_url, db_name, ensure_database, manage

CITY_FLOORS = {"buildings": 100_000, "households": 500_000, "people": 1_500_000, "cases": 1_000_000}
MEMORY_LIMIT_MIB = 1024
README = BASE_DIR / "bench" / "README.md"
TABLE_START, TABLE_END = "<!-- bench table -->", "<!-- /bench table -->"


def say(text: str) -> None:
    print(f"\033[1m==> {text}\033[0m", flush=True)


# --- The city, built once -----------------------------------------------------------------------------------


def marker(cursor, key: str) -> dict | None:
    cursor.execute("CREATE TABLE IF NOT EXISTS bench_marker (key text PRIMARY KEY, value jsonb, at timestamptz)")
    cursor.execute("SELECT value FROM bench_marker WHERE key = %s", [key])
    row = cursor.fetchone()
    if not row:
        return None
    return json.loads(row[0]) if isinstance(row[0], str) else row[0]  # Django leaves jsonb as text


def set_marker(cursor, key: str, value: dict) -> None:
    cursor.execute(
        "INSERT INTO bench_marker VALUES (%s, %s, now()) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, "
        "at = now()",
        [key, json.dumps(value)],
    )


def city_counts(cursor) -> dict:
    counts = {}
    for key, table in (
        ("buildings", "grids_building"),
        ("households", "grids_household"),
        ("people", "grids_person"),
        ("grids", "grids_grid"),
        ("cases", "cases_case"),
        ("case events", "cases_caseevent"),
    ):
        cursor.execute(f"SELECT reltuples::bigint FROM pg_class WHERE relname = '{table}'")
        estimate = cursor.fetchone()[0]
        if estimate < 0 or key in ("grids",):
            cursor.execute(f"SELECT count(*) FROM {table}")
            estimate = cursor.fetchone()[0]
        counts[key] = int(estimate)
    return counts


def exact_count(cursor, table: str) -> int:
    cursor.execute(f"SELECT count(*) FROM {table}")
    return cursor.fetchone()[0]


def ensure_city(url: str, *, rebuild: bool, full_seed: bool = False) -> dict:
    """City scale, once: bench/build_city.py (seed_demo's registry and its steps that write no cases) or, with
    `full_seed`, `manage.py seed_demo --scale city` as it is; a child process, for its own time and peak memory."""
    from django.db import connection

    from bench.common import PYTHON, child_env, run_child

    with connection.cursor() as cursor:
        built = marker(cursor, "city")
        if built and not rebuild and exact_count(cursor, "grids_building") >= CITY_FLOORS["buildings"]:
            say(
                f"City scale already built on {built['at']} "
                f"({built['seconds']:.0f} s, peak {built['max_rss_mib']:.0f} MiB)"
            )
            return built
        cursor.execute("SELECT EXISTS (SELECT 1 FROM grids_district)")
        replace = cursor.fetchone()[0]
    flags = ["--replace"] if replace else []
    log = WORK_DIR / "seed_demo.log"
    if full_seed:
        command = "manage.py seed_demo --scale city --no-progress " + " ".join(flags)
        say(f"Building city scale: {command}")
        run = manage("seed_demo", "--scale", "city", "--no-progress", *flags, url=url, log=log, timeout=3 * 3600)
    else:
        command = "python -m bench.build_city " + " ".join(flags)
        say(f"Building city scale: {command} (seed_demo --scale city without the demo cases; 5–10 min)")
        run = run_child([PYTHON, "-m", "bench.build_city", *flags], env=child_env(url), log=log, timeout=3 * 3600)
    print(run.output.strip()[-1500:])
    if run.returncode:
        raise SystemExit(f"the city build failed (exit {run.returncode}); see bench/output/seed_demo.log")
    with connection.cursor() as cursor:
        record = {
            "seconds": run.seconds,
            "max_rss_mib": run.max_rss_mib,
            "at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "command": command.strip(),
            "buildings": exact_count(cursor, "grids_building"),
            "households": exact_count(cursor, "grids_household"),
            "people": exact_count(cursor, "grids_person"),
        }
        cursor.execute("DELETE FROM bench_marker WHERE key = 'cases'")
        set_marker(cursor, "city", record)
    return record


def ensure_cases(*, count: int = CITY_FLOORS["cases"]) -> dict:
    from django.db import connection

    from bench.synthetic_cases import SYN_PREFIX, generate_cases, routing_agreement

    with connection.cursor() as cursor:
        done = marker(cursor, "cases")
        cursor.execute("SELECT count(*) FROM cases_case WHERE number LIKE %s", [SYN_PREFIX + "%"])
        have = cursor.fetchone()[0]
    if done and have >= count:
        return done
    say(f"Writing {count - have:,} synthetic cases in SQL (routed, with events; a few minutes)")
    written = generate_cases(count, stdout=sys.stdout)
    agree, checked = routing_agreement(300)
    print(f"  routing check: {agree} of {checked} sampled cases carry the units cases.routing.resolve gives")
    record = {**written, "routing_agree": agree, "routing_checked": checked}
    with connection.cursor() as cursor:
        set_marker(cursor, "cases", record)
    return record


# --- The machine --------------------------------------------------------------------------------------------


def machine() -> dict:
    from django.db import connection

    info = {"nproc": os.cpu_count()}
    try:
        meminfo = Path("/proc/meminfo").read_text()
        info["memory_gib"] = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1)) / 2**20
    except (OSError, AttributeError):
        info["memory_gib"] = None
    cpu = ""
    try:
        cpu = next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if "model name" in line
            ),
            "",
        )
    except OSError:
        pass
    info["cpu"] = cpu or platform.processor() or platform.machine()
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        info["postgresql"] = cursor.fetchone()[0]
        cursor.execute("SELECT postgis_lib_version(), postgis_geos_version()")
        postgis, geos = cursor.fetchone()
        info["postgis"] = f"{postgis} (GEOS {geos})"
        cursor.execute("SHOW shared_buffers")
        info["shared_buffers"] = cursor.fetchone()[0]
    try:
        info["gdal"] = subprocess.run(["ogr2ogr", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        info["gdal"] = "?"
    info["python"] = platform.python_version()
    info["os"] = platform.platform()
    return info


def load_average() -> str:
    try:
        return " ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "?"


# --- The table ------------------------------------------------------------------------------------------------


def row(measure: str, figure: str, floor: str, ratio: float | None, target: str, met: bool | None) -> tuple:
    ratio_text = "" if ratio is None else f"{ratio:.2f}"
    met_text = "" if met is None else ("yes" if met else "NO")
    return measure, figure, floor, ratio_text, target, met_text


def table_lines(rows: list[tuple]) -> list[str]:
    headers = ("measure", "figure", "floor", "ratio", "target", "met")
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *(line(r) for r in rows)]


def build_rows(results: dict) -> list[tuple]:
    rows = []
    city = results.get("city")
    if city:
        for key in ("buildings", "households", "people", "cases"):
            have = results["counts"][key]
            rows.append(
                row(f"city scale: {key}", f"{have:,}", f"≥ {CITY_FLOORS[key]:,}", None, "", have >= CITY_FLOORS[key])
            )
    imp = results.get("import")
    if imp:
        ratio = imp["import_s"] / imp["ogr2ogr_s"]
        rows.append(
            row(
                f"import {imp['buildings'] // 1000}k buildings (gpkg), best of {imp['rounds']}",
                f"{imp['import_s']:.2f} s import_layer --commit",
                f"{imp['ogr2ogr_s']:.2f} s ogr2ogr",
                ratio,
                "≤ 1.5×",
                ratio <= 1.5,
            )
        )
    routing = results.get("routing")
    if routing:
        resolver, bare = routing["resolver"], routing["bare SQL"]
        ratio = resolver["median_ms"] / bare["median_ms"]
        rows.append(
            row(
                f"routing lookup, median of {routing['n']:,}",
                f"{resolver['median_ms']:.3f} ms resolve()",
                f"{bare['median_ms']:.3f} ms raw SQL",
                ratio,
                "≤ 1.5×",
                ratio <= 1.5,
            )
        )
        own = routing["units query"]
        rows.append(
            row(
                "  the resolver's one query alone",
                f"{own['median_ms']:.3f} ms",
                f"{bare['median_ms']:.3f} ms raw SQL",
                own["median_ms"] / bare["median_ms"],
                "",
                None,
            )
        )
        ratio95 = resolver["p95_ms"] / bare["p95_ms"]
        rows.append(
            row(
                "routing lookup, p95",
                f"{resolver['p95_ms']:.3f} ms",
                f"{bare['p95_ms']:.3f} ms",
                ratio95,
                "",
                None,
            )
        )
    posts = results.get("posts")
    if posts:
        rows.append(
            row(
                "report POSTs/s (gunicorn 3×4, wrk 12 conn.)",
                f"{posts['per_second']:.0f} /s ({posts['requests']:,} in {posts['seconds']:.0f} s)",
                "200 /s",
                posts["per_second"] / 200,
                "≥ 200 /s",
                posts["per_second"] >= 200,
            )
        )
        rows.append(
            row(
                "report POST latency p50 / p95 / p99",
                f"{posts['p50_ms']:.0f} / {posts['p95_ms']:.0f} / {posts['p99_ms']:.0f} ms",
                "",
                None,
                "",
                None,
            )
        )
        rows.append(
            row("report POST errors (non-201, socket)", f"{posts['errors']}", "0", None, "0", posts["errors"] == 0)
        )
    tiles = results.get("tiles")
    if tiles:
        for name, label in (("tile", "building tile z16"), ("hexbins", "heat bins (city, z12–14)")):
            figures = tiles[name]
            ratio = figures["endpoint_ms"] / figures["raw_ms"]
            rows.append(
                row(
                    f"{label}, median",
                    f"{figures['endpoint_ms']:.2f} ms endpoint",
                    f"{figures['raw_ms']:.2f} ms raw SQL",
                    ratio,
                    "≤ 1.5×",
                    ratio <= 1.5,
                )
            )
            if name == "tile":
                session = tiles["session"]["raw_ms"]
                rows.append(
                    row(
                        "  session + user reads of any signed-in request",
                        f"{session:.2f} ms raw SQL",
                        "",
                        None,
                        "",
                        None,
                    )
                )
    if city:
        peak = city["max_rss_mib"]
        rows.append(
            row(
                "peak memory, city build (registry)",
                f"{peak:.0f} MiB",
                f"{MEMORY_LIMIT_MIB} MiB",
                peak / MEMORY_LIMIT_MIB,
                "< 1 GiB",
                peak < MEMORY_LIMIT_MIB,
            )
        )
    if imp:
        peak = imp["max_rss_mib"]
        rows.append(
            row(
                "peak memory, import of 100k buildings",
                f"{peak:.0f} MiB",
                f"{MEMORY_LIMIT_MIB} MiB",
                peak / MEMORY_LIMIT_MIB,
                "< 1 GiB",
                peak < MEMORY_LIMIT_MIB,
            )
        )
    return rows


def machine_lines(info: dict, results: dict) -> list[str]:
    memory = f"{info['memory_gib']:.1f} GiB" if info.get("memory_gib") else "?"
    lines = [
        f"machine: {info['nproc']} CPUs ({info['cpu']}), {memory} RAM; {info['os']}",
        f"PostgreSQL {info['postgresql']} (shared_buffers {info['shared_buffers']}), PostGIS {info['postgis']}; "
        f"{info['gdal']}; Python {info['python']}",
        f"load average before / after: {results['load_before']} / {results['load_after']}; "
        f"run {results['started']}, {results['seconds']:.0f} s",
    ]
    city = results.get("city")
    if city:
        counts = results["counts"]
        lines.append(
            f"city: {counts['grids']:,} grids, {counts['buildings']:,} buildings, {counts['households']:,} households, "
            f"{counts['people']:,} people, {counts['cases']:,} cases, {counts['case events']:,} case events "
            f"(built {city['at']} in {city['seconds']:.0f} s)"
        )
    return lines


def update_readme(text: str) -> None:
    readme = README.read_text(encoding="utf-8")
    if TABLE_START not in readme or TABLE_END not in readme:
        return
    head, rest = readme.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    README.write_text(f"{head}{TABLE_START}\n{text}\n{TABLE_END}{tail}", encoding="utf-8")


# --- The run ------------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rebuild", action="store_true", help="build city scale again (seed_demo --replace)")
    parser.add_argument(
        "--full-seed", action="store_true", help="build with manage.py seed_demo --scale city as it is (demo cases too)"
    )
    parser.add_argument(
        "--only", default="import,routing,tiles,posts", help="which measurements (comma-separated; also: worst)"
    )
    parser.add_argument("--post-seconds", type=int, default=20, help="length of the measured POST run (default 20)")
    parser.add_argument("--routing-n", type=int, default=10_000)
    parser.add_argument("--tile-rounds", type=int, default=15)
    parser.add_argument("--import-rounds", type=int, default=2)
    parser.add_argument("--update-readme", action="store_true", help="write the table into bench/README.md")
    args = parser.parse_args(argv)
    only = {part.strip() for part in args.only.split(",") if part.strip()}

    started = time.monotonic()
    results: dict = {
        "started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_before": load_average(),
    }
    url = bench_url()
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmgmt.settings")
    WORK_DIR.mkdir(exist_ok=True)
    say(f"Bench database {db_name(url)} (create and migrate when needed)")
    ensure_database(url)
    sys.path.insert(0, str(BASE_DIR))
    import warnings

    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()
    from django.db import connection

    results["city"] = ensure_city(url, rebuild=args.rebuild, full_seed=args.full_seed)
    results["cases"] = ensure_cases()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        results["counts"] = city_counts(cursor)
        results["counts"]["cases"] = exact_count(cursor, "cases_case")
    info = machine()

    if "import" in only:
        from bench import importing

        say(f"Import: 100,000 buildings from a GeoPackage, import_layer vs ogr2ogr ({args.import_rounds} rounds each)")
        imp = importing.run(url, n=100_000, rounds=args.import_rounds, stdout=sys.stdout)
        results["import"] = {
            "buildings": imp.buildings,
            "rounds": args.import_rounds,
            "import_s": imp.importer.seconds,
            "ogr2ogr_s": imp.ogr2ogr.seconds,
            "import_runs": imp.importer_runs,
            "ogr2ogr_runs": imp.ogr2ogr_runs,
            "max_rss_mib": imp.importer.max_rss_mib,
            "in_grid": imp.in_grid,
        }
        print(f"  import_layer runs {imp.importer_runs}, ogr2ogr runs {imp.ogr2ogr_runs}; {imp.in_grid:,} in a grid")
    if "routing" in only:
        from bench import routing

        say(f"Routing: {args.routing_n:,} lookups, resolve() vs raw SQL, interleaved")
        results["routing"] = {**routing.run(args.routing_n, 1), "n": args.routing_n}
    if "tiles" in only:
        from bench import tiles

        say(f"Tiles and heat bins: endpoints vs raw SQL, {args.tile_rounds} rounds")
        results["tiles"] = tiles.run(rounds=args.tile_rounds)
    if "worst" in only:
        from bench import worst_case

        say("Worst case: ordinary requests while 12 heat-bin requests run, gunicorn on loopback")
        worst_case.main(["--database-url", url])
    if "posts" in only:
        from bench import load

        say(f"Report POSTs: gunicorn on loopback, wrk for {args.post_seconds} s after a 5 s warm-up")
        posts = load.run(url, seconds=args.post_seconds)
        results["posts"] = posts.__dict__
        print(
            f"  statuses {posts.statuses}; {posts.written:,} cases written"
            + (f"; first error: {posts.first_error}" if posts.first_error else "")
        )
        if posts.written < posts.statuses["c201"]:
            results["posts"]["errors"] += posts.statuses["c201"] - posts.written

    results["load_after"] = load_average()
    results["seconds"] = time.monotonic() - started
    rows = build_rows(results)
    text = "\n".join(["```", *machine_lines(info, results), "```", "", *table_lines(rows)])
    print()
    print(text)
    (WORK_DIR / "latest.md").write_text(text + "\n", encoding="utf-8")
    (WORK_DIR / "latest.json").write_text(
        json.dumps({"machine": info, **results}, indent=1, default=str), encoding="utf-8"
    )
    if args.update_readme:
        update_readme(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
