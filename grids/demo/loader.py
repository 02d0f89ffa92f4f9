"""Writing the demo into the database: regions with the ORM, buildings, households and people with COPY.

One transaction for everything, so a failure leaves nothing behind. Grids go in before buildings (the
database assigns each building its grid from the footprint). Households and people are generated and
written one community at a time, so memory stays flat however large the scale.
"""

from __future__ import annotations

import io
import itertools
import random
import resource
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import shapely
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import GEOSGeometry
from django.db import connection, transaction
from django.utils.module_loading import import_string
from tqdm import tqdm

from audit import services as audit
from grids.demo import accounts
from grids.demo.geography import (
    Addresses,
    CommunityLayout,
    DistrictMap,
    district_map,
    district_plan,
    layout_community,
)
from grids.demo.people import People, protected
from grids.demo.plans import SCALES
from grids.demo.units import create_units
from grids.models import Building, Community, District, Grid, Household, Person, Staff, Street, Unit

DEFAULT_SEED = 20260101
REGISTRY = [Person, Household, Building, Grid, Community, Street, District, Unit, Staff.grids.through, Staff]


@dataclass
class Summary:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    peak_mb: float = 0.0

    def lines(self) -> list[str]:
        labels = [
            ("districts", "区"),
            ("streets", "街道/镇"),
            ("communities", "社区/村"),
            ("grids", "网格"),
            ("buildings", "楼栋"),
            ("households", "户"),
            ("people", "人"),
            ("units", "单位"),
            ("accounts", "演示账号"),
        ]
        out = [f"  {zh} {en}: {self.counts.get(en, 0):,}" for en, zh in labels]
        out.append(f"  用时 elapsed: {self.seconds:.1f} s, 峰值内存 peak memory: {self.peak_mb:.0f} MB")
        return out


def _dependents(registry: list[str]) -> dict[str, list[tuple[str, bool]]]:
    """Tables outside the registry with foreign keys into it: table -> [(column, NOT NULL)]."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.conrelid::regclass::text, a.attname, a.attnotnull
            FROM pg_constraint c
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
            WHERE c.contype = 'f' AND c.confrelid::regclass::text = ANY (%s)
              AND NOT c.conrelid::regclass::text = ANY (%s)
            ORDER BY 1, 2
            """,
            [registry, registry],
        )
        out: dict[str, list[tuple[str, bool]]] = {}
        for table, column, not_null in cursor.fetchall():
            out.setdefault(table, []).append((column, not_null))
        return out


def clear_registry() -> None:
    """Delete the registry (regions, buildings, households, people, units, staff records), fast and in FK order.

    Tables of other apps that cannot exist without it (a NOT NULL key into it: cases, their events, unit
    jurisdiction pieces, patrols) are truncated with everything that depends on them; rows of other tables
    that merely point into it (region-specific routing rules) are deleted, the rest of those tables is kept
    (default routing rules). Demo accounts stay and are reset by the loader. Sequences restart, so a new
    load gets the same ids.
    """
    quote = connection.ops.quote_name
    registry = [model._meta.db_table for model in REGISTRY]
    dependents = _dependents(registry)
    bound = [table for table, columns in dependents.items() if any(not_null for _, not_null in columns)]
    with connection.cursor() as cursor:
        # TRUNCATE refuses tables with deferred foreign-key checks still queued in this transaction.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        if bound:
            cursor.execute("SELECT EXISTS (SELECT 1 FROM cases_caseevent)")
            had_case_events = cursor.fetchone()[0]
            cursor.execute(f"TRUNCATE {', '.join(quote(t) for t in bound)} RESTART IDENTITY CASCADE")
            cursor.execute("SELECT EXISTS (SELECT 1 FROM cases_caseevent)")
            if had_case_events and not cursor.fetchone()[0]:
                audit.record_case_events_cleared()  # a deliberate wipe, signed: verify_audit forgets the old seals
        for table, columns in dependents.items():
            if table in bound:
                continue
            refers = " OR ".join(f"{quote(column)} IS NOT NULL" for column, _ in columns)
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {quote(table)} WHERE {refers})")
            if cursor.fetchone()[0]:
                cursor.execute(f"DELETE FROM {quote(table)} WHERE {refers}")
        big = [Person, Household, Building]
        cursor.execute(f"TRUNCATE {', '.join(quote(m._meta.db_table) for m in big)} RESTART IDENTITY CASCADE")
        staff = quote(Staff._meta.db_table)
        cursor.execute(f"DELETE FROM {quote(Staff.grids.through._meta.db_table)}")
        cursor.execute(
            f"DELETE FROM {staff} WHERE unit_id IS NOT NULL OR street_id IS NOT NULL OR community_id IS NOT NULL"
            f" OR user_id IN (SELECT id FROM {quote(get_user_model()._meta.db_table)} WHERE username = ANY (%s))",
            [accounts.USERNAMES],
        )
        for model in (Grid, Community, Street, District, Unit):
            cursor.execute(f"DELETE FROM {quote(model._meta.db_table)}")
        for model in (Grid, Community, Street, District, Unit):
            cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), 1, false)", [model._meta.db_table])
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _geos(geom) -> GEOSGeometry:
    return GEOSGeometry(shapely.to_wkb(geom, hex=True), srid=4326)


def _reserve_ids(model, count: int) -> list[int]:
    """`count` fresh primary keys from the table's own sequence."""
    if count == 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, count],
        )
        return [row[0] for row in cursor.fetchall()]


def _text(value) -> str:
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _copy(model, columns: list[str], rows: Iterable[tuple]) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(_text(v) for v in row))
        buffer.write("\n")
    buffer.seek(0)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)


def _bar(total: int, desc: str, enabled: bool, unit: str):
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=total > 10_000, disable=not enabled, dynamic_ncols=True)


def load(
    *, scale: str, seed: int, stdout, progress: bool = True, replace: bool = False, steps: list[str] | None = None
) -> Summary:
    """Generate and write the demo in one transaction (after deleting the registry if `replace`); returns counts."""
    started = time.monotonic()
    spec = SCALES[scale]
    rng = np.random.default_rng(seed)
    summary = Summary()
    counts = summary.counts

    maps: list[DistrictMap] = []
    for code in spec.districts:
        maps.append(district_map(district_plan(code, rng), spec, rng))

    with transaction.atomic():
        if replace:
            clear_registry()
        # Regions.
        for dmap in maps:
            district = District.objects.create(
                code=dmap.district.code, name=dmap.district.name, boundary=_geos(dmap.district.boundary)
            )
            streets = Street.objects.bulk_create(
                [Street(code=s.code, name=s.name, boundary=_geos(s.boundary), district=district) for s in dmap.streets]
            )
            street_id = {s.code: s.id for s in streets}
            Community.objects.bulk_create(
                [
                    Community(code=c.code, name=c.name, boundary=_geos(c.boundary), street_id=street_id[c.parent_code])
                    for c in dmap.communities
                ]
            )
        counts["districts"] = len(maps)
        counts["streets"] = sum(len(m.streets) for m in maps)
        counts["communities"] = sum(len(m.communities) for m in maps)

        # Pass 1: lay out each community's buildings to cut its grids; keep only the grids (and household
        # totals), so that memory does not grow with the number of buildings. Grids go in before any building.
        grids: list[Grid] = []
        total_households = 0
        community_id = dict(Community.objects.values_list("code", "id"))
        with _bar(counts["communities"], "社区与网格 communities", progress, " 社区") as bar:
            for layout in _layouts(maps, spec, seed, with_grids=True):
                grids.extend(
                    Grid(code=g.code, name=g.name, boundary=_geos(g.boundary), community_id=community_id[g.parent_code])
                    for g in layout.grids
                )
                total_households += sum(b.households for b in layout.buildings)
                bar.update()
        Grid.objects.bulk_create(grids, batch_size=500)
        counts["grids"] = len(grids)
        del grids

        # Pass 2: the same layouts again (same seeds, same order), then buildings, households and people,
        # generated and written one community at a time.
        people = People(maps[0].plan.code, [m.plan.code for m in maps])
        counts.update(buildings=0, households=0, people=0)
        with _bar(total_households, "楼栋住户人口 households", progress, " 户") as bar:
            for layout in _layouts(maps, spec, seed, with_grids=False):
                people.set_home(layout.community.code[:6])
                written = _write_community(layout, people, seed)
                counts["buildings"] += written[0]
                counts["households"] += written[1]
                counts["people"] += written[2]
                bar.update(written[1])

        counts["units"] = sum(create_units(dmap, seed) for dmap in maps)
        counts["accounts"] = len(accounts.create_accounts())

        for path in settings.DEMO_SEED_STEPS if steps is None else steps:
            step: Callable = import_string(path)
            step(scale=scale, seed=seed, stdout=stdout)

    with connection.cursor() as cursor:
        for model in REGISTRY:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    summary.seconds = time.monotonic() - started
    summary.peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return summary


def _layouts(maps: list[DistrictMap], spec, seed: int, *, with_grids: bool) -> Iterator[CommunityLayout]:
    """Every community's layout, in a fixed order; building codes and house numbers restart each time."""
    building_seq = itertools.count(1)
    for offset, dmap in enumerate(maps):
        addresses = Addresses(dmap.plan.name, offset * 5)

        def next_code(code=dmap.plan.code) -> str:
            return f"{code}{next(building_seq):07d}"

        for community in dmap.communities:
            yield layout_community(dmap, community, spec, seed, addresses, next_code, with_grids=with_grids)


def _write_community(layout, people: People, seed: int) -> tuple[int, int, int]:
    rng = random.Random(seed * 10**13 + int(layout.community.code) + 7)
    specs = layout.buildings
    building_ids = _reserve_ids(Building, len(specs))
    _copy(
        Building,
        ["id", "code", "name", "address", "floors", "use", "footprint"],
        (
            (bid, b.code, b.name, b.address, b.floors, b.use, b.ewkt())
            for bid, b in zip(building_ids, specs, strict=True)
        ),
    )
    homes = []
    for bid, b in zip(building_ids, specs, strict=True):
        if b.households:
            homes.extend(
                (bid, h)
                for h in people.households(rng, style=b.style, floors=b.floors, units=b.units, per_floor=b.per_floor)
            )
    household_ids = _reserve_ids(Household, len(homes))
    _copy(
        Household,
        ["id", "building_id", "unit_no", "floor", "room", "type"],
        ((hid, bid, h.unit_no, h.floor, h.room, h.type) for hid, (bid, h) in zip(household_ids, homes, strict=True)),
    )
    rows = []
    for hid, (_, h) in zip(household_ids, homes, strict=True):
        for p in h.people:
            stored = protected(p)
            rows.append(
                (
                    hid,
                    p.name,
                    p.sex,
                    p.birth_date.isoformat(),
                    p.relation,
                    p.residency,
                    "{" + ",".join(p.care_tags) + "}",
                    stored["id_number_cipher"],
                    stored["id_number_digest"],
                    stored["id_number_masked"],
                    stored["phone_cipher"],
                    stored["phone_digest"],
                    stored["phone_masked"],
                )
            )
    _copy(
        Person,
        [
            "household_id",
            "name",
            "sex",
            "birth_date",
            "relation",
            "residency",
            "care_tags",
            "id_number_cipher",
            "id_number_digest",
            "id_number_masked",
            "phone_cipher",
            "phone_digest",
            "phone_masked",
        ],
        rows,
    )
    return len(specs), len(homes), len(rows)
