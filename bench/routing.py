"""Routing benchmark: 10k lookups through the resolver beside the bare point-in-jurisdiction SQL, in one run.

    .venv/bin/python -m bench.routing [--n 10000] [--seed 1]

Uses the database in DATABASE_URL. Random points inside the district (ST_GeneratePoints) and random leaf
categories. With no district or no units there, it builds a small geography from the real 西区 outline in
fixtures/ (streets, communities and police precincts as strips of it, a department and the command centre)
inside a transaction that is rolled back at the end, so the database is left as it was.

Timed per lookup, each a separate query from Python:
  resolver     cases.routing.resolve(point, category): rules of the category and its ancestors, units found on
               the subdivided jurisdictions (cases_unitarea), plus loading the unit rows
  bare SQL     SELECT id FROM grids_unit WHERE type = ANY(types) AND ST_Covers(jurisdiction, point)
               for the category's handling and co-handling unit types: the least a lookup can do
  subdivided   the same bare query on cases_unitarea, to show what ST_Subdivide buys
  units query  the resolver's one statement alone (cases.routing._units_at: the units of the rules' types at the
               point and the rules' stamp), without choosing among the rules in Python
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

from bench.common import percentile

BASE_DIR = Path(__file__).resolve().parent.parent


def setup_django() -> None:
    sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmgmt.settings")
    import django

    django.setup()


BARE_SQL = """
SELECT u.id FROM grids_unit u
WHERE u.type = ANY(%s) AND ST_Covers(u.jurisdiction, ST_SetSRID(ST_MakePoint(%s, %s), 4326))
"""
SUBDIVIDED_SQL = """
SELECT DISTINCT a.unit_id FROM cases_unitarea a
WHERE a.unit_type = ANY(%s) AND ST_Covers(a.geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326))
"""


def build_small_geography(stdout) -> None:
    """西区 from the real outline, cut into 6 streets × 4 communities and 4 police precincts across them."""
    from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
    from django.db import connection

    from grids.models import Community, District, Street, Unit, UnitType

    with open(BASE_DIR / "fixtures" / "panzhihua_districts.geojson", encoding="utf-8") as fh:
        features = json.load(fh)["features"]
    feature = next(f for f in features if "西区" in json.dumps(f["properties"], ensure_ascii=False))
    outline = GEOSGeometry(json.dumps(feature["geometry"]), srid=4326)
    if outline.geom_type == "Polygon":
        outline = MultiPolygon(outline, srid=4326)
    district = District.objects.create(code="510403", name="西区", boundary=outline)
    min_x, min_y, max_x, max_y = outline.extent

    def strip(geom, x0, y0, x1, y1):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT ST_AsEWKT(ST_Multi(ST_CollectionExtract(ST_Intersection(ST_GeomFromEWKT(%s), "
                "ST_MakeEnvelope(%s, %s, %s, %s, 4326)), 3)))",
                [geom.ewkt, x0, y0, x1, y1],
            )
            return GEOSGeometry(cursor.fetchone()[0])

    centre = Unit.objects.create(code="BENCH-CC", name="指挥中心", type=UnitType.COMMAND_CENTRE, jurisdiction=outline)
    Unit.objects.create(code="BENCH-DP", name="区住建局", type=UnitType.DEPARTMENT, jurisdiction=outline, parent=centre)
    width = (max_x - min_x) / 6
    for s in range(6):
        boundary = strip(outline, min_x + s * width, min_y, min_x + (s + 1) * width, max_y)
        if boundary.empty:
            continue
        street = Street.objects.create(
            district=district, code=f"510403{s + 1:03d}", name=f"街道{s + 1}", boundary=boundary
        )
        office = Unit.objects.create(
            code=f"BENCH-SO{s}", name=f"街道{s + 1}办事处", type=UnitType.STREET_OFFICE, jurisdiction=boundary,
            parent=centre,
        )  # fmt: skip
        height = (max_y - min_y) / 4
        for c in range(4):
            part = strip(boundary, min_x, min_y + c * height, max_x, min_y + (c + 1) * height)
            if part.empty:
                continue
            Community.objects.create(street=street, code=f"{street.code}{c + 1:03d}", name=f"社区{s}{c}", boundary=part)
            Unit.objects.create(
                code=f"BENCH-CM{s}{c}", name=f"社区{s}{c}居委会", type=UnitType.COMMUNITY_COMMITTEE,
                jurisdiction=part, parent=office,
            )  # fmt: skip
    height = (max_y - min_y) / 4
    for p in range(4):
        precinct = strip(outline, min_x, min_y + p * height, max_x, min_y + (p + 1) * height)
        if not precinct.empty:
            Unit.objects.create(
                code=f"BENCH-PS{p}", name=f"派出所{p}", type=UnitType.POLICE_STATION, jurisdiction=precinct,
                parent=centre,
            )  # fmt: skip
    stdout.write(f"built a small geography from the 西区 outline: {Unit.objects.count()} units\n")


def run(n: int, seed: int, stdout=sys.stdout) -> dict:
    from django.contrib.gis.geos import Point
    from django.db import connection, transaction

    from cases.models import Category, UnitArea
    from cases.routing import resolve
    from grids.models import District, Unit

    with transaction.atomic():
        built = not District.objects.exists() or not Unit.objects.exists()
        if built:
            build_small_geography(stdout)
        district = District.objects.order_by("code").first()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT ST_X(p.geom), ST_Y(p.geom) FROM "
                "ST_Dump(ST_GeneratePoints((SELECT boundary FROM grids_district WHERE id = %s), %s, %s)) AS p",
                [district.pk, n, seed],
            )
            points = cursor.fetchall()
        leaves = list(Category.objects.filter(children__isnull=True, active=True).order_by("code"))
        rng = random.Random(seed)
        lookups = [(lon, lat, rng.choice(leaves)) for lon, lat in points]
        stdout.write(
            f"{len(lookups)} lookups in {district.name} ({district.code}): {Unit.objects.count()} units, "
            f"{UnitArea.objects.count()} jurisdiction pieces, {len(leaves)} leaf categories\n"
        )

        def time_resolver(lon, lat, category):
            started = time.perf_counter()
            resolve(point=Point(lon, lat, srid=4326), category=category)
            return time.perf_counter() - started

        def time_sql(sql):
            def timed(lon, lat, category):
                types = [category.handling_unit_type, *category.co_unit_types]
                started = time.perf_counter()
                with connection.cursor() as cursor:
                    cursor.execute(sql, [types, lon, lat])
                    cursor.fetchall()
                return time.perf_counter() - started

            return timed

        from cases import routing as routing_module

        def time_units_query(lon, lat, category):
            rules = routing_module._book.by_category.get(category.pk, ())
            started = time.perf_counter()
            routing_module._units_at(lon, lat, rules, [])
            return time.perf_counter() - started

        timers = {
            "resolver": time_resolver,
            "bare SQL": time_sql(BARE_SQL),
            "subdivided": time_sql(SUBDIVIDED_SQL),
            "units query": time_units_query,
        }
        for timer in timers.values():  # warm caches and plans
            for lookup in lookups[:200]:
                timer(*lookup)
        samples: dict[str, list[float]] = {name: [] for name in timers}
        # Interleave, so that drift in the machine's load touches every variant alike, and rotate which goes
        # first: the first query at a point meets colder caches (index pages, geometries) than those after it.
        names = list(timers)
        for i, lookup in enumerate(lookups):
            for name in names[i % len(names) :] + names[: i % len(names)]:
                samples[name].append(timers[name](*lookup))
        results = {
            name: {
                "median_ms": statistics.median(values) * 1000,
                "p95_ms": percentile(values, 0.95) * 1000,
                "total_s": sum(values),
            }
            for name, values in samples.items()
        }
        if built:
            transaction.set_rollback(True)  # leave the database as it was
    return results


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=10_000, help="lookups (default 10000)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    setup_django()
    results = run(args.n, args.seed)
    print(f"{'':12} {'median ms':>10} {'p95 ms':>10} {'total s':>9}")
    for name, figures in results.items():
        print(f"{name:12} {figures['median_ms']:10.3f} {figures['p95_ms']:10.3f} {figures['total_s']:9.2f}")
    resolver, bare = results["resolver"], results["bare SQL"]
    print(
        f"resolver / bare SQL: median ×{resolver['median_ms'] / bare['median_ms']:.2f}, "
        f"p95 ×{resolver['p95_ms'] / bare['p95_ms']:.2f}; "
        f"subdivided / bare SQL median ×{results['subdivided']['median_ms'] / bare['median_ms']:.2f}"
    )


if __name__ == "__main__":
    main()
