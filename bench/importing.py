"""Importing 100k buildings from a GeoPackage: `manage.py import_layer buildings FILE --commit` beside
`ogr2ogr -f PostgreSQL` on the same file into the same database.

    .venv/bin/python -m bench.importing [--n 100000] [--rounds 2] [--profile] [--phases]

The file is written by the bench from the city build (the first N buildings by id: code, name, address, floors,
use and footprint, EPSG:4326, 7 decimals as export_layer writes them). Both tools load it into a database of
their own beside the city's, `<bench database>_import`, which holds the city's districts, streets, communities
and grids (copied from the city build) and an empty building table: import_layer writes grids_building with
everything the product does on the way (checks and repairs, staging, duplicate and parent checks, the upsert,
every building's grid by the grid trigger's rule, every index and constraint); ogr2ogr writes a scratch table
of its own (`bench_ogr_buildings`, created anew each time with its GiST index), which is the floor. Each round
empties both first; the best round of each is kept. Both run as child processes, so their wall time includes
start-up, and the import's peak resident memory is that of its process (wait4).

`--phases` runs the import once more, after the rounds, in a child process that times each step of the
importer (seconds from the interpreter's start to the first row read, then reading, geometry, conversion,
COPY (sent in a thread while the next batch is read, so it overlaps) and each SQL statement, the commit) and
prints the table; its figures include the timers' own small cost.
"""

from __future__ import annotations

import argparse
import shutil
from dataclasses import dataclass
from pathlib import Path

import psycopg2.errors

from bench.common import (
    PYTHON,
    WORK_DIR,
    ChildRun,
    bench_url,
    child_env,
    connect,
    db_name,
    ensure_database,
    pg_dsn,
    run_child,
    with_name,
)

REGION_TABLES = ("grids_district", "grids_street", "grids_community", "grids_grid")
OGR_TABLE = "bench_ogr_buildings"


def import_url(city_url: str) -> str:
    return with_name(city_url, db_name(city_url) + "_import")


def _columns(cursor, table: str) -> list[str]:
    cursor.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND table_schema = 'public' "
        "ORDER BY ordinal_position",
        [table],
    )
    return [name for (name,) in cursor.fetchall()]


def prepare_import_database(city_url: str, stdout) -> str:
    """The import database: migrated, with the city's regions (every building gets its grid)."""
    url = import_url(city_url)
    ensure_database(url)
    with connect(city_url) as city, connect(url) as target:
        with city.cursor() as src, target.cursor() as dst:
            src.execute("SELECT count(*), coalesce(max(id), 0) FROM grids_grid")
            wanted = src.fetchone()
            dst.execute("SELECT count(*), coalesce(max(id), 0) FROM grids_grid")
            if dst.fetchone() == wanted:
                return url
            stdout.write(f"copying the city's regions into {db_name(url)}\n")
            dst.execute(
                "TRUNCATE grids_building, " + ", ".join(REGION_TABLES) + " RESTART IDENTITY CASCADE"
            )  # fmt: skip
            import io

            for table in REGION_TABLES:
                columns = ", ".join(c for c in _columns(src, table) if c in _columns(dst, table))
                buffer = io.BytesIO()
                src.copy_expert(f"COPY (SELECT {columns} FROM {table} ORDER BY id) TO STDOUT (FORMAT binary)", buffer)
                buffer.seek(0)
                dst.copy_expert(f"COPY {table} ({columns}) FROM STDIN (FORMAT binary)", buffer)
                dst.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
                dst.execute(f"ANALYZE {table}")
    return url


def write_geopackage(city_url: str, path: Path, n: int) -> int:
    """The first `n` buildings of the bench database as a GeoPackage (what a district would hand over). A database
    with fewer (the district demo has ~10k) gives its buildings again, each copy moved a few metres north-east
    (copy k by k × 3 m, so it stays in its grid) under a code of its own (`<code>-k`), until there are `n`."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    with connect(city_url) as conn, conn.cursor() as cursor:
        cursor.execute(
            """SELECT CASE WHEN k = 0 THEN code ELSE code || '-' || k END, name, address, floors, use,
                      ST_AsBinary(ST_Translate(footprint, k * 0.00003, k * 0.00003))
               FROM (SELECT b.*, k FROM generate_series(0, 99) k,
                     LATERAL (SELECT * FROM grids_building ORDER BY id) b) t
               ORDER BY k, id LIMIT %s""",
            [n],
        )
        rows = cursor.fetchall()
    frame = pd.DataFrame([row[:5] for row in rows], columns=["code", "name", "address", "floors", "use"])
    geometry = shapely.set_precision(shapely.from_wkb([bytes(row[5]) for row in rows]), 1e-7)
    path.unlink(missing_ok=True)
    gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326").to_file(path, layer="buildings", driver="GPKG")
    return len(rows)


@dataclass
class ImportResult:
    buildings: int
    importer: ChildRun
    ogr2ogr: ChildRun
    importer_runs: list[float]
    ogr2ogr_runs: list[float]
    in_grid: int


def _empty(url: str, statement: str) -> None:
    """Run `statement` (committed on its own), then a CHECKPOINT so that neither run pays for the other's dirty
    pages; CHECKPOINT needs pg_checkpoint (PostgreSQL 15) or a superuser, and without it the runs still alternate.
    Not `with conn`: psycopg2 makes that a transaction even in autocommit, and a refused CHECKPOINT would roll the
    statement back."""
    conn = connect(url)
    try:
        with conn.cursor() as cursor:
            cursor.execute(statement)
            try:
                cursor.execute("CHECKPOINT")
            except psycopg2.errors.InsufficientPrivilege:
                pass
    finally:
        conn.close()


def run_import(url: str, path: Path, *, profile: bool = False, log: Path | None = None) -> ChildRun:
    args = [PYTHON]
    if profile:
        args += ["-m", "cProfile", "-o", str(WORK_DIR / "import.prof")]
    args += ["manage.py", "import_layer", "buildings", str(path), "--commit", "--no-progress"]
    return run_child(args, env=child_env(url), log=log or WORK_DIR / "import.log", timeout=1800)


def run_ogr2ogr(url: str, path: Path) -> ChildRun:
    ogr2ogr = shutil.which("ogr2ogr") or "ogr2ogr"
    args = [ogr2ogr, "-f", "PostgreSQL", f"PG:{pg_dsn(url)}", str(path), "-nln", OGR_TABLE, "-overwrite"]
    return run_child(args, log=WORK_DIR / "ogr2ogr.log", timeout=1800)


PHASES_CHILD = r"""
import sys, time
from collections import defaultdict

t0 = time.perf_counter()
started = float(open("/proc/self/stat").read().split(")")[1].split()[19])  # start time, clock ticks after boot
import os

uptime = float(open("/proc/uptime").read().split()[0])
since_start = uptime - started / os.sysconf("SC_CLK_TCK") - 0  # seconds the process has run until t0
import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmgmt.settings")
django.setup()
from django.db import connection, transaction

from grids.gisio import geometry, importers, staging

phases = defaultdict(float)
marks = []


def timed(owner, name, label):
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            phases[label] += time.perf_counter() - start

    setattr(owner, name, wrapper)


def statement(execute, sql, params, many, context):
    start = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        words = " ".join(sql.split()[:3])
        phases["sql: " + words] += time.perf_counter() - start


timed(geometry, "prepare", "geometry checks and EWKB")
timed(importers.LayerImport, "_convert", "value conversion")
timed(staging.StagingTable, "copy_data", "COPY text built")
timed(staging.StagingTable, "send", "COPY sent (a thread, beside the reading)")
timed(importers.LayerImport, "_stage_columns", "staging columns")
path = sys.argv[1]
setup = time.perf_counter() - t0 + since_start
options = importers.ImportOptions(commit=True)
with connection.execute_wrapper(statement):
    start = time.perf_counter()
    job = importers.LayerImport("buildings", path, options)
    opening = time.perf_counter() - start
    source_batches = job.source.batches

    def batches(size):
        iterator = source_batches(size)
        while True:
            start = time.perf_counter()
            batch = next(iterator, None)
            phases["reading (the source's batches)"] += time.perf_counter() - start
            if batch is None:
                return
            yield batch

    job.source.batches = batches
    start = time.perf_counter()
    with transaction.atomic():
        report = job.run()
        before_commit = time.perf_counter()
    commit = time.perf_counter() - before_commit
    total_run = time.perf_counter() - start
print(f"{'interpreter and Django start-up':52} {setup:6.2f}")
print(f"{'opening the file (layers, fields, CRS)':52} {opening:6.2f}")
for label, seconds in phases.items():
    print(f"{label[:52]:52} {seconds:6.2f}")
print(f"{'commit':52} {commit:6.2f}")
print(f"{'total':52} {time.perf_counter() - t0 + since_start:6.2f}  (run {total_run:.2f})")
print(report.new, "new", report.changed, "changed", report.unchanged, "unchanged")
"""


def run_phases(url: str, path: Path) -> str:
    """The import once in a child process with a timer on each step; the table it prints."""
    result = run_child([PYTHON, "-c", PHASES_CHILD, str(path)], env=child_env(url), log=WORK_DIR / "phases.log")
    if result.returncode:
        raise RuntimeError(f"the timed import failed:\n{result.output[-3000:]}")
    return result.output


def run(city_url: str, *, n: int = 100_000, rounds: int = 2, stdout, profile: bool = False) -> ImportResult:
    WORK_DIR.mkdir(exist_ok=True)
    url = prepare_import_database(city_url, stdout)
    path = WORK_DIR / f"buildings_{n}.gpkg"
    count = write_geopackage(city_url, path, n)
    stdout.write(f"import: {count} buildings in {path.name} ({path.stat().st_size / 2**20:.1f} MiB)\n")
    best_import: ChildRun | None = None
    best_ogr: ChildRun | None = None
    import_runs, ogr_runs = [], []

    def ogr_round():
        nonlocal best_ogr
        _empty(url, f"DROP TABLE IF EXISTS {OGR_TABLE}")
        ogr = run_ogr2ogr(url, path)
        if ogr.returncode:
            raise RuntimeError(f"ogr2ogr failed:\n{ogr.output[-2000:]}")
        ogr_runs.append(ogr.seconds)
        best_ogr = ogr if best_ogr is None or ogr.seconds < best_ogr.seconds else best_ogr

    def import_round():
        nonlocal best_import
        _empty(url, "TRUNCATE grids_building RESTART IDENTITY CASCADE")
        result = run_import(url, path, profile=profile)
        if result.returncode:
            raise RuntimeError(f"import_layer failed:\n{result.output[-3000:]}")
        import_runs.append(result.seconds)
        best_import = result if best_import is None or result.seconds < best_import.seconds else best_import

    # Which goes first alternates from round to round: the first reads the file from a colder page cache.
    for round_no in range(rounds):
        for step in (ogr_round, import_round) if round_no % 2 == 0 else (import_round, ogr_round):
            step()
    with connect(url) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT count(*), count(grid_id) FROM grids_building")
        written, in_grid = cursor.fetchone()
        cursor.execute(f"SELECT count(*) FROM {OGR_TABLE}")
        (copied,) = cursor.fetchone()
    # Untimed: otherwise autovacuum takes up the 200k new rows while the next measurements run. (Outside
    # `with conn`, which psycopg2 makes a transaction even in autocommit, and VACUUM refuses one.)
    conn = connect(url)
    try:
        conn.cursor().execute(f"VACUUM ANALYZE grids_building, {OGR_TABLE}")
    finally:
        conn.close()
    if written != count or copied != count:
        raise RuntimeError(f"import wrote {written} and ogr2ogr {copied} of {count} buildings")
    return ImportResult(count, best_import, best_ogr, import_runs, ogr_runs, in_grid)


def main(argv=None) -> None:
    import sys

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="cProfile the import into bench/output/import.prof")
    parser.add_argument("--phases", action="store_true", help="then the import once more with a timer on each step")
    args = parser.parse_args(argv)
    result = run(bench_url(), n=args.n, rounds=args.rounds, stdout=sys.stdout, profile=args.profile)
    runs = ", ".join(f"{s:.2f}" for s in result.importer_runs)
    print(f"import_layer: {runs} s, peak {result.importer.max_rss_mib:.0f} MiB")
    print(f"ogr2ogr:      {', '.join(f'{s:.2f}' for s in result.ogr2ogr_runs)} s")
    print(f"ratio (best): {result.importer.seconds / result.ogr2ogr.seconds:.2f}; {result.in_grid} in a grid")
    print(result.importer.output[-1500:])
    if args.phases:
        url = import_url(bench_url())
        _empty(url, "TRUNCATE grids_building RESTART IDENTITY CASCADE")
        print(run_phases(url, WORK_DIR / f"buildings_{args.n}.gpkg"))


if __name__ == "__main__":
    main()
