"""Synthetic cases over a loaded registry. Not for a database that real people use.

add_synthetic_cases(count): for timing the map and the heatmap at district scale (tests/maps/test_browser.py).
Cases are placed near buildings (weighted by their households), spread over the last twelve months, in every
state with lights in proportion; they are written with bulk_create (no events, no routing), which is all the
map, the tiles and the heat bins read.

generate_cases(count): the million cases of `make bench`, written in SQL a hundred thousand per statement, routed
by the rules (as the resolver would at their building), with co-handling units and one event per step; see
bench/README.md.
"""

import random
import time
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


# --- A million cases in SQL (make bench) -----------------------------------------------------------------------

SYN_PREFIX = "SYN-"  # case numbers SYN-000000001 …: never those the product hands out (XQ-YYYYMMDD-NNNNN)

# state: (share, window in days over which such cases were received, actions from the report on, states after them)
SQL_STATES = (
    ("closed", 0.935, 1095, ("report", "register", "dispatch", "start", "resolve", "verify", "close")),
    ("rejected", 0.04, 1095, ("report", "reject")),
    ("processing", 0.008, 12, ("report", "register", "dispatch", "start")),
    ("dispatched", 0.005, 5, ("report", "register", "dispatch")),
    ("registered", 0.002, 2, ("report", "register")),
    ("reported", 0.002, 1, ("report",)),
    ("resolved", 0.003, 6, ("report", "register", "dispatch", "start", "resolve")),
    ("verified", 0.002, 3, ("report", "register", "dispatch", "start", "resolve", "verify")),
    ("suspended", 0.003, 60, ("report", "register", "dispatch", "start", "suspend")),
)  # three years of a city: about 330k cases a year, 2.5 % of them still open
ACTION_STATE = {
    "report": "reported",
    "register": "registered",
    "dispatch": "dispatched",
    "start": "processing",
    "resolve": "resolved",
    "verify": "verified",
    "close": "closed",
    "reject": "rejected",
    "suspend": "suspended",
}
SOURCES = (("handheld", 0.6), ("hotline", 0.2), ("desk", 0.15), ("open311", 0.05))
UNIT_TYPES = ("community", "street_office", "police_station", "department", "command_centre")


def _rule_types(categories, rules) -> dict[int, tuple[list[str], list[str]]]:
    """category id -> (responsible unit types, co-handling unit types) in the resolver's order of preference
    (the category's own rules before its group's, then higher priority, then older), for region-free rules."""
    parent = {c.pk: c.parent_id for c in categories}
    by_category: dict[int, list] = {}
    for rule in rules:
        by_category.setdefault(rule.category_id, []).append(rule)
    out = {}
    for category in categories:
        chain, node, distance = [], category.pk, 0
        while node is not None:
            chain.extend((distance, -r.priority, r.pk, r) for r in by_category.get(node, ()))
            node, distance = parent[node], distance + 1
        chain.sort(key=lambda item: item[:3])
        responsible = list(dict.fromkeys(r.unit_type for *_, r in chain if r.role == "responsible"))
        co = list(dict.fromkeys(r.unit_type for *_, r in chain if r.role == "co_handling"))
        out[category.pk] = (responsible, co)
    return out


def _unit_of(type_sql: str) -> str:
    return "CASE " + type_sql + "".join(f" WHEN '{t}' THEN b.u_{t}" for t in UNIT_TYPES) + " END"


def prepare_case_tables(cursor, stdout) -> dict:
    """Temporary tables the generator draws from: buildings with the unit of each type covering them (found as
    the resolver finds units: the subdivided jurisdictions, smallest unit first), weighted by households;
    leaf categories with their routing; the states."""
    from cases.models import Category, RoutingRule

    started = time.perf_counter()
    cursor.execute("DROP TABLE IF EXISTS bench_bu, bench_pick, bench_cat, bench_state, bench_bp")
    cursor.execute("""
        CREATE TEMP TABLE bench_bp AS
        SELECT b.id, ST_PointOnSurface(b.footprint) AS pt FROM grids_building b WHERE b.grid_id IS NOT NULL
    """)
    cursor.execute("CREATE INDEX ON bench_bp USING gist (pt)")
    cursor.execute("ANALYZE bench_bp")
    # Unit pieces outside, building points inside: each piece is prepared once for all the points it covers.
    covering = "".join(
        f"""
        LEFT JOIN (
            SELECT DISTINCT ON (p.id) p.id, a.unit_id FROM cases_unitarea a JOIN bench_bp p ON ST_Covers(a.geom, p.pt)
            WHERE a.unit_type = '{t}' ORDER BY p.id, a.unit_area, a.unit_id
        ) {t} ON {t}.id = b.id"""
        for t in UNIT_TYPES
    )
    cursor.execute(f"""
        CREATE TEMP TABLE bench_bu AS
        SELECT b.id, b.grid_id, g.community_id, c.street_id, b.address,
               ST_XMin(b.footprint) AS x0, ST_YMin(b.footprint) AS y0,
               ST_XMax(b.footprint) AS x1, ST_YMax(b.footprint) AS y1,
               {", ".join(f"{t}.unit_id AS u_{t}" for t in UNIT_TYPES)}
        FROM grids_building b
        JOIN grids_grid g ON g.id = b.grid_id JOIN grids_community c ON c.id = g.community_id
        {covering}
    """)
    cursor.execute("ALTER TABLE bench_bu ADD PRIMARY KEY (id)")
    # One ticket per household and one per building: cases come mostly from where people live.
    cursor.execute("""
        CREATE TEMP TABLE bench_pick AS
        SELECT row_number() OVER (ORDER BY building_id) AS n, building_id FROM (
            SELECT h.building_id FROM grids_household h JOIN bench_bu b ON b.id = h.building_id
            UNION ALL SELECT id FROM bench_bu
        ) t
    """)
    cursor.execute("ALTER TABLE bench_pick ADD PRIMARY KEY (n)")
    cursor.execute("SELECT count(*) FROM bench_pick")
    (tickets,) = cursor.fetchone()

    leaves = list(Category.objects.filter(children__isnull=True, active=True).order_by("code"))
    categories = list(Category.objects.all())
    rules = list(RoutingRule.objects.filter(active=True))
    skipped = sum(1 for r in rules if r.street_id or r.community_id or r.area is not None or r.unit_id)
    rules = [r for r in rules if not (r.street_id or r.community_id or r.area is not None or r.unit_id)]
    routes = _rule_types(categories, rules)
    cursor.execute("""
        CREATE TEMP TABLE bench_cat (n integer PRIMARY KEY, id bigint, name text, level integer,
                                     limits float8[], total float8, resp text[], co text[])
    """)
    from cases.models import STEPS
    from cases.workflow import STEP_OF_STATE

    for n, category in enumerate(leaves, start=1):
        limits = [category.limit_hours(step) for step in STEPS]
        responsible, co = routes[category.pk]
        cursor.execute(
            "INSERT INTO bench_cat VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [n, category.pk, category.name_zh, category.default_level, limits, sum(limits), responsible, co],
        )
    cursor.execute("""
        CREATE TEMP TABLE bench_state (state text, lo float8, hi float8, days float8, actions text[], states text[],
                                       step text)
    """)
    step_of = STEP_OF_STATE | {"suspended": "process"}  # a suspended case keeps its step, the clock stopped
    lo = 0.0
    for state, share, days, actions in SQL_STATES:
        hi = 1.0 if state == SQL_STATES[-1][0] else lo + share
        states = [ACTION_STATE[a] for a in actions]
        cursor.execute(
            "INSERT INTO bench_state VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [state, lo, hi, days, list(actions), states, step_of.get(state, "")],
        )
        lo = hi
    cursor.execute("ANALYZE bench_bu")
    cursor.execute("ANALYZE bench_pick")
    stdout.write(
        f"  case sources: {tickets:,} tickets over the buildings, {len(leaves)} leaf categories "
        f"({skipped} region-limited or named rules left out), {time.perf_counter() - started:.0f} s\n"
    )
    return {"tickets": tickets, "categories": len(leaves)}


CASES_SQL = """
WITH s AS (
    SELECT i, u(i, 1) AS u_pick, u(i, 2) AS u_state, u(i, 3) AS u_cat, u(i, 4) AS u_x, u(i, 5) AS u_y,
           u(i, 6) AS u_time, u(i, 7) AS u_src, u(i, 8) AS u_step, u(i, 9) AS u_end, u(i, 10) AS u_eval
    FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS i
), src AS (
    SELECT s.*, b.*, c.id AS category_id, c.name AS category_name, c.level, c.limits, c.total, c.resp, c.co,
           st.state, st.days, st.actions, st.states, st.step,
           now() - st.days * s.u_time * interval '1 day' - interval '5 minutes' AS received
    FROM s
    JOIN bench_pick pk ON pk.n = 1 + floor(s.u_pick * %(tickets)s)::bigint
    JOIN bench_bu b ON b.id = pk.building_id
    JOIN bench_cat c ON c.n = 1 + floor(s.u_cat * %(categories)s)::integer
    JOIN bench_state st ON s.u_state >= st.lo AND s.u_state < st.hi
), routed AS (
    SELECT src.*,
        COALESCE((SELECT {unit_resp} FROM unnest(src.resp) WITH ORDINALITY t(typ, k)
                  WHERE {unit_resp} IS NOT NULL ORDER BY k LIMIT 1), src.u_command_centre) AS responsible,
        CASE WHEN src.step = '' THEN NULL
             ELSE src.limits[array_position(ARRAY['register','dispatch','process','verify','close'], src.step)]
        END AS step_limit,
        CASE WHEN src.u_src < 0.6 THEN 'handheld' WHEN src.u_src < 0.8 THEN 'hotline'
             WHEN src.u_src < 0.95 THEN 'desk' ELSE 'open311' END AS source
    FROM src
), timed AS (
    SELECT routed.*,
        CASE WHEN step_limit IS NULL THEN NULL
             ELSE greatest(received, now() - step_limit * (0.2 + 1.1 * u_step) * interval '1 hour') END AS step_start,
        CASE WHEN state = 'closed' THEN least(now(), received + total * (0.5 + 2.0 * u_end) * interval '1 hour')
             WHEN state = 'rejected' THEN least(now(), received + (1 + 4 * u_end) * interval '1 hour') END AS ended
    FROM routed
), ins AS (
    INSERT INTO cases_case (
        number, point, address, level, description, source, external_ref, client_uuid, intake_digest,
        captured_at, received_at, routing_reason, state, resume_state, closed_as, version, step, step_seq,
        step_started_at, step_limit_hours, step_paused_hours, step_yellow_at, step_deadline_at, deadline_at,
        suspended_at, suspended_hours, extension_requested_hours, extended_hours, overdue_handled_seq, evaluation,
        created_at, updated_at, closed_at, assigned_by_unit_id, category_id, community_id, duplicate_of_id,
        grid_id, reporter_id, responsible_unit_id, street_id, resolved_on_site)
    SELECT
        %(prefix)s || lpad(i::text, 9, '0'),
        ST_SetSRID(ST_MakePoint(x0 + u_x * (x1 - x0), y0 + u_y * (y1 - y0)), 4326),
        address, level, '演示案件：' || category_name, source, '', NULL, '',
        received - u_x * interval '30 minutes', received,
        jsonb_build_object('synthetic', true, 'responsible', responsible),
        state, CASE WHEN state = 'suspended' THEN 'processing' ELSE '' END,
        CASE WHEN state = 'closed' THEN 'normal' ELSE '' END,
        cardinality(actions), step, greatest(1, cardinality(actions) - 1),
        step_start, step_limit, 0,
        step_start + 0.8 * step_limit * interval '1 hour', step_start + step_limit * interval '1 hour',
        received + 1.5 * total * interval '1 hour',
        CASE WHEN state = 'suspended' THEN step_start + interval '1 hour' END, 0, NULL, 0, NULL,
        CASE WHEN state = 'closed' AND u_eval < 0.3 THEN 3 + mod(floor(u_eval * 10)::int, 3) END,
        received, coalesce(ended, step_start, received), ended,
        CASE WHEN cardinality(actions) >= 3 THEN u_street_office END,
        category_id, community_id, NULL, grid_id,
        CASE WHEN source = 'handheld' AND cardinality(%(workers)s::int[]) > 0
             THEN (%(workers)s::int[])[1 + floor(u_eval * cardinality(%(workers)s::int[]))::int] END,
        responsible, street_id, false
    FROM timed
    RETURNING id, number, received_at, closed_at, step_started_at, state, responsible_unit_id, reporter_id
), co AS (
    INSERT INTO cases_case_co_units (case_id, unit_id)
    SELECT DISTINCT ins.id, x.unit_id
    FROM ins JOIN timed ON timed.i = substr(ins.number, {digits_at})::bigint
    CROSS JOIN LATERAL unnest(timed.co) AS t(typ)
    CROSS JOIN LATERAL (SELECT {unit_co} AS unit_id) x
    WHERE x.unit_id IS NOT NULL AND x.unit_id <> ins.responsible_unit_id
    RETURNING 1
), ev AS (
    INSERT INTO cases_caseevent (case_id, actor_id, unit_id, action, from_state, to_state, note, attachments, data,
                                 created_at)
    SELECT ins.id, CASE WHEN e.k = 1 THEN ins.reporter_id END, CASE WHEN e.k > 1 THEN ins.responsible_unit_id END,
           e.action, coalesce(st.states[e.k - 1], ''), st.states[e.k], '', '[]'::jsonb,
           CASE WHEN e.k = 1 THEN '{{"synthetic": true}}'::jsonb ELSE '{{}}'::jsonb END,
           ins.received_at + (coalesce(ins.closed_at, ins.step_started_at, ins.received_at) - ins.received_at)
                             * (e.k - 1) / greatest(1, cardinality(st.actions) - 1)
    FROM ins JOIN bench_state st ON st.state = ins.state
    CROSS JOIN LATERAL unnest(st.actions) WITH ORDINALITY AS e(action, k)
    RETURNING 1
)
SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM co), (SELECT count(*) FROM ev)
"""

HASH_FUNCTION = """
CREATE OR REPLACE FUNCTION pg_temp.u(i bigint, k integer) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT (hashint8extended(i, k * 7919 + %s) & 2147483647)::float8 / 2147483648.0 $$
"""


def generate_cases(count: int, *, seed: int = 5, chunk: int = 100_000, stdout=None) -> dict:
    """Write synthetic cases (numbered SYN-…) until there are `count` of them: in SQL, `chunk` at a time, each
    committed, so a run that stops can be resumed. Each case lies inside a building (weighted by households),
    has an active leaf category, a state with consistent clock fields, the units the routing rules give at that
    building, co-handling units, and one event per step it went through. Returns what was written."""
    import io

    from django.db import connection, transaction

    from grids.models import Role, Staff

    stdout = stdout or io.StringIO()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM cases_case WHERE number LIKE %s", [SYN_PREFIX + "%"])
        (have,) = cursor.fetchone()
    if have >= count:
        return {"cases": 0, "co_units": 0, "events": 0, "seconds": 0.0}
    started = time.perf_counter()
    workers = list(Staff.objects.filter(role=Role.WORKER).values_list("user_id", flat=True).order_by("user_id"))
    written = {"cases": 0, "co_units": 0, "events": 0}
    with connection.cursor() as cursor:
        cursor.execute("SET jit = off")  # planning-time JIT costs seconds on these statements and buys nothing
        cursor.execute(HASH_FUNCTION % int(seed))
        sources = prepare_case_tables(cursor, stdout)
        sql = CASES_SQL.format(
            unit_resp=_unit_of("t.typ").replace("b.u_", "src.u_"),
            unit_co=_unit_of("t.typ").replace("b.u_", "timed.u_"),
            digits_at=len(SYN_PREFIX) + 1,
        )
        sql = sql.replace("u(i,", "pg_temp.u(i,")
        for lo in range(have + 1, count + 1, chunk):
            hi = min(count, lo + chunk - 1)
            t0 = time.perf_counter()
            with transaction.atomic():
                cursor.execute(
                    sql,
                    {
                        "lo": lo,
                        "hi": hi,
                        "tickets": sources["tickets"],
                        "categories": sources["categories"],
                        "prefix": SYN_PREFIX,
                        "workers": workers,
                    },
                )
                cases, co, events = cursor.fetchone()
            written["cases"] += cases
            written["co_units"] += co
            written["events"] += events
            stdout.write(
                f"  cases {hi:>9,} of {count:,}: +{cases:,} cases, {co:,} co-units, {events:,} events "
                f"in {time.perf_counter() - t0:.1f} s\n"
            )
            stdout.flush()
        for table in ("cases_case", "cases_caseevent", "cases_case_co_units"):
            cursor.execute(f"ANALYZE {table}")
        cursor.execute("RESET jit")
    written["seconds"] = time.perf_counter() - started
    return written


def routing_agreement(sample: int = 300) -> tuple[int, int]:
    """How many of `sample` synthetic cases have the responsible unit and co-handling units that the resolver
    (cases.routing.resolve) gives for their point and category: (agreeing, checked)."""
    from cases.models import Case
    from cases.routing import resolve

    cases = list(
        Case.objects.filter(number__startswith=SYN_PREFIX)
        .select_related("category")
        .prefetch_related("co_units")
        .order_by("?")[:sample]
        if sample
        else []
    )
    agree = 0
    for case in cases:
        route = resolve(point=case.point, category=case.category)
        same_co = {u.pk for u in route.co_units} == {u.pk for u in case.co_units.all()}
        agree += route.responsible.pk == case.responsible_unit_id and same_co
    return agree, len(cases)
