"""Synthetic cases over a loaded registry, for timing the map and the heatmap at district scale.

Cases are placed near buildings (weighted by their households), spread over the last twelve months, in every
state with lights in proportion; they are written with bulk_create (no events, no routing), which is all the
map, the tiles and the heat bins read. Not for a database that real people use.
"""

import random
from datetime import timedelta

from django.contrib.gis.geos import Point
from django.db import connection
from django.utils import timezone

STATES = [
    ("closed", 0.55),
    ("processing", 0.12),
    ("dispatched", 0.08),
    ("registered", 0.05),
    ("reported", 0.05),
    ("resolved", 0.05),
    ("verified", 0.03),
    ("rejected", 0.04),
    ("suspended", 0.03),
]


def add_synthetic_cases(count: int, *, seed: int = 5) -> int:
    from cases.models import Case, Category
    from grids.models import Unit, UnitType

    rng = random.Random(seed)
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT b.id, b.grid_id, g.community_id, c.street_id, ST_X(p), ST_Y(p), count(h.id)
               FROM (SELECT id, grid_id, ST_PointOnSurface(footprint) AS p FROM grids_building) b
               JOIN grids_grid g ON g.id = b.grid_id JOIN grids_community c ON c.id = g.community_id
               LEFT JOIN grids_household h ON h.building_id = b.id
               GROUP BY b.id, b.grid_id, g.community_id, c.street_id, p"""
        )
        buildings = cursor.fetchall()
    if not buildings:
        return 0
    leaves = list(Category.objects.filter(children__isnull=True, active=True))
    units = list(Unit.objects.filter(type=UnitType.STREET_OFFICE)) or list(Unit.objects.all())
    weights = [max(1, row[6]) for row in buildings]
    now = timezone.now()
    states, state_weights = zip(*STATES, strict=True)
    start = Case.objects.count()
    batch = []
    for n, row in enumerate(rng.choices(buildings, weights=weights, k=count)):
        _bid, grid_id, community_id, street_id, lon, lat, _households = row
        received = now - timedelta(minutes=rng.randint(10, 365 * 24 * 60))
        state = rng.choices(states, weights=state_weights)[0]
        category = rng.choice(leaves)
        limit = timedelta(hours=rng.choice([8, 24, 48, 72]))
        running = state not in ("closed", "rejected")
        # Open cases: most green, some yellow, some red.
        step_start = now - limit * rng.choice([0.2, 0.5, 0.7, 0.9, 1.3]) if running else received
        closed_at = received + limit * rng.choice([0.5, 0.9, 1.5, 2.5]) if state == "closed" else None
        batch.append(
            Case(
                number=f"XQ-SYN-{start + n + 1:07d}",
                point=Point(lon + rng.uniform(-0.0003, 0.0003), lat + rng.uniform(-0.0003, 0.0003), srid=4326),
                address="演示地址",
                category=category,
                level=category.default_level,
                description="演示案件",
                source="handheld",
                captured_at=received,
                received_at=received,
                responsible_unit=rng.choice(units),
                street_id=street_id,
                community_id=community_id,
                grid_id=grid_id,
                state=state,
                step="process" if running else "",
                step_started_at=step_start if running else None,
                step_limit_hours=limit.total_seconds() / 3600 if running else None,
                step_yellow_at=step_start + limit * 0.8 if running else None,
                step_deadline_at=step_start + limit if running else None,
                deadline_at=received + limit * 2,
                closed_at=closed_at,
            )
        )
        if len(batch) >= 5000:
            Case.objects.bulk_create(batch)
            batch = []
    Case.objects.bulk_create(batch)
    return count
