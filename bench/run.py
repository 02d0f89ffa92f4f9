"""`make bench`: every row measured through gunicorn over HTTP as `make run` serves it, beside its floor measured in
the same run, and the same request in-process; one table.

    make bench [SCALE=small|district|city] [BENCH_WRITE=1]
    .venv/bin/python -m bench.run [--scale district] [--only requests,posts,export,import,handheld] [--write]

Database: `<BENCH_DATABASE_URL or .env's owner role>/gridmgmt_bench_<scale>`, created, made ready by `manage.py
prepare --scale <scale>` (what `make run` does: migrate, grant the runtime role, collect static files, load the
demo `seed_demo --scale <scale>`), then synthetic cases (bench/synthetic_cases.py) up to the scale's count (a
million at district scale, for the export). Both are done once and reused; --rebuild drops the database first.
The web server connects as .env's runtime role, as under `make run`. See bench/README.md.
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

MEMORY_LIMIT_MIB = 1024
README = BASE_DIR / "bench" / "README.md"
TABLE_START, TABLE_END = "<!-- bench table -->", "<!-- /bench table -->"
PROFILES_START, PROFILES_END = "<!-- bench profiles -->", "<!-- /bench profiles -->"


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


def exact_count(cursor, table: str) -> int:
    cursor.execute(f"SELECT count(*) FROM {table}")
    return cursor.fetchone()[0]


def ensure_cases(*, count: int) -> dict:
    """Synthetic cases (SYN-…) beside the demo's until the database holds `count` cases, once."""
    from django.db import connection

    from bench.synthetic_cases import SYN_PREFIX, generate_cases, routing_agreement

    with connection.cursor() as cursor:
        done = marker(cursor, "cases")
        cursor.execute("SELECT count(*) FILTER (WHERE number LIKE %s), count(*) FROM cases_case", [SYN_PREFIX + "%"])
        synthetic, total = cursor.fetchone()
    if done and total >= count:
        return done
    wanted = synthetic + count - total
    say(f"Writing {count - total:,} synthetic cases in SQL (routed, with events; minutes)")
    written = generate_cases(wanted, stdout=sys.stdout)
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

CASES_FOR_SCALE = {"small": 20_000, "district": 1_000_000, "city": 1_000_000}


def fmt_ms(value: float | None) -> str:
    if value is None or value != value:
        return ""
    if value >= 10_000:
        return f"{value / 1000:,.1f} s"
    if value >= 100:
        return f"{value:,.0f} ms"
    return f"{value:.2f} ms"


def table_lines(rows: list[tuple]) -> list[str]:
    headers = ("row (what is measured)", "user", "HTTP", "in-process", "floor", "ratio", "target", "met")
    return [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
        *("| " + " | ".join(str(c) for c in r) + " |" for r in rows),
    ]


def build_rows(results: dict) -> list[tuple]:
    out = []

    def met(value):
        return "" if value is None else ("yes" if value else "**NO**")

    for row in results.get("requests", []):
        extra = row.get("extra", {})
        if row.get("http_ms") is None and "per_second" not in extra:  # the requests failed
            out.append((row["label"], row["user"], row["note"], "", "", "", row["target"], met(row["met"])))
            continue
        if "per_second" in extra:
            out.append((
                row["label"], row["user"], f"{extra['per_second']:,.0f} /s (p99 {extra['p99_ms']:.0f} ms, "
                f"{extra['errors']} errors)", "", f"{extra['floor_per_second']:,.0f} /s {row['floor_label']}",
                f"{row['ratio']:.2f}" if row["ratio"] else "", row["target"], met(row["met"]),
            ))  # fmt: skip
            continue
        size = f", {extra['bytes'] / 1024:.1f} KiB" if extra.get("bytes") else ""
        http = fmt_ms(row["http_ms"]) + (f" (p95 {fmt_ms(row['http_p95_ms'])})" if row.get("http_p95_ms") else "")
        out.append((
            f"{row['label']} (n={extra.get('n', '?')}{size})", row["user"], http, fmt_ms(row["in_process_ms"]),
            f"{fmt_ms(row['floor_ms'])} {row['floor_label']}".strip(), f"{row['ratio']:.2f}" if row["ratio"] else "",
            row["target"], met(row["met"]),
        ))  # fmt: skip
    posts = results.get("posts")
    if posts:
        ok = posts["per_second"] >= 400 and posts["p99_ms"] < 100 and posts["errors"] == 0
        out.append((
            f"POST /api/mobile/v1/reports, 12 connections ({posts['requests']:,} in {posts['seconds']:.0f} s)",
            f"{posts['workers']} workers (tokens)",
            f"{posts['per_second']:,.0f} /s; p50 / p95 / p99 {posts['p50_ms']:.0f} / {posts['p95_ms']:.0f} / "
            f"{posts['p99_ms']:.0f} ms; {posts['errors']} errors",
            f"{posts['in_process_ms']:.2f} ms a report" if posts.get("in_process_ms") else "", "", "",
            "≥ 400 /s, p99 < 100 ms, 0 errors", met(ok),
        ))  # fmt: skip
    if results.get("export"):
        out.extend(build_rows({"requests": [results["export"]]}))
    imp = results.get("import")
    if imp:
        ratio = imp["import_s"] / imp["ogr2ogr_s"]
        out.append((
            f"import {imp['buildings']:,} buildings (GeoPackage), best of {imp['rounds']}, order alternated",
            "manage.py import_layer", f"{imp['import_s']:.2f} s (peak {imp['max_rss_mib']:.0f} MiB)", "",
            f"{imp['ogr2ogr_s']:.2f} s ogr2ogr", f"{ratio:.2f}", "≤ 1.5× ogr2ogr, < 1 GiB",
            met(ratio <= 1.5 and imp["max_rss_mib"] < MEMORY_LIMIT_MIB),
        ))  # fmt: skip
    seed = results.get("seed") or {}
    if seed.get("max_rss_mib"):
        out.append((
            f"peak memory of `manage.py prepare --scale {results['scale']}` (seed_demo; {seed['seconds']:.0f} s, "
            f"{seed['at']})", "", f"{seed['max_rss_mib']:.0f} MiB", "", "", "", "< 1 GiB",
            met(seed["max_rss_mib"] < MEMORY_LIMIT_MIB),
        ))  # fmt: skip
    hand = results.get("handheld")
    if hand:
        out.append((
            f"phone app first load (/m/, log-in to grid drawn; {hand['responses']} responses)", "worker1 (Chromium)",
            f"{hand['kb']:.0f} KB ({hand['app_kb']:.0f} app, {hand['data_kb']:.0f} data) in {hand['seconds']:.1f} s",
            "", "", "", f"≤ {hand['target_kb']} KB", met(hand["kb"] <= hand["target_kb"]),
        ))  # fmt: skip
    return out


def machine_lines(info: dict, results: dict) -> list[str]:
    memory = f"{info['memory_gib']:.1f} GiB" if info.get("memory_gib") else "?"
    git = results["git"]
    counts = results["counts"]
    seed = results.get("seed", {})
    try:
        busiest = max(float(part) for part in (results["load_before"] + " " + results["load_after"]).split()[::3])
    except ValueError:
        busiest = 0.0
    quiet = busiest <= 0.5 * (info["nproc"] or 1)
    return [
        (
            "quiet machine"
            if quiet
            else f"MEASURED UNDER LOAD (1-minute load average up to {busiest:.1f} on "
            f"{info['nproc']} CPUs): not figures to judge the targets by"
        ),
        f"commit {git['commit']} ({'clean tree' if git['clean'] else 'tree with uncommitted changes'}); "
        f"run {results['started']}, {results['seconds'] / 60:.1f} min (set-up {results['setup_seconds'] / 60:.1f} min)",
        f"machine: {info['nproc']} CPUs ({info['cpu']}), {memory} RAM; load average before / after: "
        f"{results['load_before']} / {results['load_after']}",
        f"PostgreSQL {info['postgresql']} (shared_buffers {info['shared_buffers']}), PostGIS {info['postgis']}; "
        f"{info['gdal']}; Python {info['python']}",
        f"server: {results.get('server', '')}",
        f"database {results['database']} (seed_demo --scale {results['scale']}"
        + (f", {seed['seconds']:.0f} s, peak {seed['max_rss_mib']:.0f} MiB" if seed.get("seconds") else "")
        + "), exact counts: "
        + ", ".join(
            f"{counts[k]:,} {k}" for k in ("grids", "buildings", "households", "people", "cases", "case events")
        ),
    ]


def update_readme(text: str, start: str = TABLE_START, end: str = TABLE_END, section: str | None = None) -> None:
    """Put `section` (default: `text`) between the markers `start` and `end` of bench/README.md."""
    section = text if section is None else section
    readme = README.read_text(encoding="utf-8")
    if start not in readme or end not in readme:
        return
    head, rest = readme.split(start, 1)
    _, tail = rest.split(end, 1)
    README.write_text(f"{head}{start}\n{section}\n{end}{tail}", encoding="utf-8")


# --- The run ------------------------------------------------------------------------------------------------


def exact_counts(cursor) -> dict:
    counts = {}
    for key, table in (
        ("grids", "grids_grid"),
        ("buildings", "grids_building"),
        ("households", "grids_household"),
        ("people", "grids_person"),
        ("cases", "cases_case"),
        ("case events", "cases_caseevent"),
    ):
        counts[key] = exact_count(cursor, table)
    return counts


def prepare_database(url: str, scale: str, *, rebuild: bool) -> dict:
    """The database as `make run` leaves it (manage.py prepare --scale), once; its seed time and peak memory."""
    from bench.common import connect, db_name, with_name

    if rebuild:
        admin = connect(with_name(url, "postgres"))
        with admin.cursor() as cursor:
            say(f"Dropping {db_name(url)} (--rebuild)")
            cursor.execute(f'DROP DATABASE IF EXISTS "{db_name(url)}" WITH (FORCE)')
        admin.close()
    ensure_database(url)
    conn = connect(url)
    with conn.cursor() as cursor:
        built = marker(cursor, "seed")
    if built:
        conn.close()
        say(f"Demo already loaded ({built['at']}, {built['seconds']:.0f} s)")
        return built
    say(f"manage.py prepare --scale {scale} (migrate, static files, seed_demo --scale {scale})")
    run = manage("prepare", "--scale", scale, url=url, log=WORK_DIR / "prepare.log", timeout=3 * 3600)
    if run.returncode:
        raise SystemExit(f"manage.py prepare failed (exit {run.returncode}):\n{run.output[-2000:]}")
    record = {
        "seconds": run.seconds,
        "max_rss_mib": run.max_rss_mib,
        "at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    with conn.cursor() as cursor:
        set_marker(cursor, "seed", record)
    conn.close()
    return record


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scale", default=os.environ.get("SCALE") or "district", choices=list(CASES_FOR_SCALE))
    parser.add_argument(
        "--rebuild", action="store_true", default=os.environ.get("BENCH_REBUILD") == "1",
        help="drop the scale's database and build it again (also BENCH_REBUILD=1)",
    )  # fmt: skip
    parser.add_argument(
        "--only", default="requests,posts,export,import,handheld", help="parts (comma-separated; also: worst)"
    )
    parser.add_argument("--cases", type=int, default=None, help="cases in the database (default: by scale)")
    parser.add_argument(
        "--write", action="store_true", default=os.environ.get("BENCH_WRITE") == "1",
        help="write the table into bench/README.md (also BENCH_WRITE=1)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    only = {part.strip() for part in args.only.split(",") if part.strip()}
    from bench import rows as request_rows
    from bench.common import git_state

    started = time.monotonic()
    results: dict = {
        "started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_before": load_average(),
        "git": git_state(),
        "scale": args.scale,
    }
    url = bench_url(args.scale)
    results["database"] = db_name(url)
    WORK_DIR.mkdir(exist_ok=True)
    say(f"Bench database {db_name(url)}, scale {args.scale}")
    results["seed"] = prepare_database(url, args.scale, rebuild=args.rebuild)
    os.environ["DATABASE_URL"] = url
    os.environ["DATABASE_OWNER_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmgmt.settings")
    sys.path.insert(0, str(BASE_DIR))
    import warnings

    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()
    from django.db import connection

    results["cases_written"] = ensure_cases(count=args.cases or CASES_FOR_SCALE[args.scale])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        results["counts"] = exact_counts(cursor)
    info = machine()
    results["setup_seconds"] = time.monotonic() - started
    scale = request_rows.SCALES[args.scale]

    from bench.server import Gunicorn

    if only & {"requests", "posts", "export", "handheld"}:
        workers = request_rows.bench_workers()
        with Gunicorn(url) as server:
            results["server"] = server.describe()
            from gridmgmt import dblimits

            dblimits.enable()  # in-process requests run under the web's database limits, as the server's do
            connection.close()
            if "requests" in only:
                say("Requests: HTTP through gunicorn, in-process, floor (interleaved)")
                rows = request_rows.measure_requests(url, server.base, scale, workers=workers, stdout=sys.stdout)
                results["requests"] = [row.__dict__ for row in rows]
                for row in rows:
                    if row.met is False and row.http_ms is not None and row.key in request_rows.PROFILED:
                        samples, headers = request_rows.PROFILED[row.key]
                        if row.key.endswith("/s") and row.key[:-2] in results.get("profiles", {}):
                            continue  # the same requests as the row before
                        say(f"Profile of {row.key} (missed its target): cProfile, in-process")
                        profile = request_rows.profile_in_process(samples, headers)
                        results.setdefault("profiles", {})[row.key] = profile
            if "posts" in only:
                from bench import load

                say(f"Report POSTs: wrk, 12 connections, {len(workers)} workers' tokens, {scale.post_s} s")
                posts = load.run_against(server.base, [w.token for w in workers], seconds=scale.post_s)
                results["posts"] = {**posts.__dict__, "workers": len(workers)}
                missed = posts.per_second < 400 or posts.p99_ms >= 100 or posts.errors
                results["posts"]["in_process_ms"], profile = request_rows.post_in_process(workers, profile=missed)
                if profile:
                    results.setdefault("profiles", {})["report POST"] = profile
                print(f"  {posts.per_second:.0f}/s, p99 {posts.p99_ms:.0f} ms, statuses {posts.statuses}"
                      + (f"; first error: {posts.first_error}" if posts.first_error else ""))  # fmt: skip
            if "export" in only:
                say("Export: all cases as CSV, HTTP vs in-process vs COPY")
                results["export"] = request_rows.measure_export(url, server.base, scale, stdout=sys.stdout).__dict__
            if "handheld" in only:
                from bench import handheld

                say("Phone app first load: Chromium as worker1")
                results["handheld"] = handheld.first_load(server.base, url)
                print(f"  {results['handheld']['kb']:.0f} KB in {results['handheld']['seconds']:.1f} s")
    if "import" in only:
        from bench import importing

        say("Import: 100,000 buildings from a GeoPackage, import_layer vs ogr2ogr (order alternated)")
        imp = importing.run(url, n=100_000, rounds=2, stdout=sys.stdout)
        results["import"] = {
            "buildings": imp.buildings,
            "rounds": 2,
            "import_s": imp.importer.seconds,
            "ogr2ogr_s": imp.ogr2ogr.seconds,
            "import_runs": imp.importer_runs,
            "ogr2ogr_runs": imp.ogr2ogr_runs,
            "max_rss_mib": imp.importer.max_rss_mib,
            "in_grid": imp.in_grid,
        }
        print(f"  import_layer runs {imp.importer_runs}, ogr2ogr runs {imp.ogr2ogr_runs}; {imp.in_grid:,} in a grid")
        if imp.importer.seconds > 1.5 * imp.ogr2ogr.seconds:
            say("Profile of the import (missed its target): each step timed, `bench.importing --phases`")
            target = importing.import_url(url)
            importing._empty(target, "TRUNCATE grids_building RESTART IDENTITY CASCADE")
            phases = importing.run_phases(target, WORK_DIR / "buildings_100000.gpkg")
            results.setdefault("profiles", {})["import"] = "the import once more, a timer on each step (s):\n" + phases
    if "worst" in only:
        from bench import worst_case

        say("Worst case: ordinary requests while 12 heat-bin requests run, gunicorn on loopback")
        worst_case.main(["--database-url", url])

    results["load_after"] = load_average()
    results["seconds"] = time.monotonic() - started
    text = "\n".join(["```", *machine_lines(info, results), "```", "", *table_lines(build_rows(results))])
    profiles = "\n".join(
        f"**{key}** (missed its target)\n\n```\n{profile}\n```\n"
        for key, profile in results.get("profiles", {}).items()
    )
    print()
    print(text)
    if profiles:
        print("\nProfiles of the rows that missed their targets:\n" + profiles)
    (WORK_DIR / "latest.md").write_text(text + "\n\n" + profiles, encoding="utf-8")
    (WORK_DIR / "latest.json").write_text(
        json.dumps({"machine": info, **results}, indent=1, default=str), encoding="utf-8"
    )
    if args.write:
        update_readme(text, PROFILES_START, PROFILES_END, profiles or "(every target met)")
        update_readme(text)
        print(f"\nwritten into {README.relative_to(BASE_DIR)} (Latest table)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
