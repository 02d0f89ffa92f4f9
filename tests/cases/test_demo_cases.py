"""Demo cases (cases.demo.seed_cases, a seed_demo step) on the small demo: every state with its events, lights,
case numbers that live cases continue, routing that agrees with the resolver, time limits that agree with the
calendar, and the same cases again for the same seed."""

import io
import re
from collections import Counter
from datetime import timedelta
from itertools import pairwise

import pytest
from django.contrib.gis.geos import Point
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from cases import calendar, demo, routing, selectors, services
from cases.models import Case, CaseCounter, CaseEvent, Category, RoutingRule, Source, State
from cases.services import YELLOW_AT
from cases.workflow import TRANSITIONS
from grids.models import Unit, UnitType
from tests.grids.test_seed_demo import SEED, loaded_demo

NOW = timezone.now().replace(microsecond=0)


@pytest.fixture(scope="module")
def demo_cases(django_db_setup, django_db_blocker):
    """The small demo registry with its demo cases, committed for this module."""
    with loaded_demo(django_db_blocker):
        with django_db_blocker.unblock(), transaction.atomic():
            out = io.StringIO()
            summary = demo.seed_cases(scale="small", seed=SEED, stdout=out, now=NOW)
        try:
            yield summary, out.getvalue()
        finally:
            with django_db_blocker.unblock():
                CaseCounter.objects.all().delete()  # the registry's clearing removes the cases, not their counters


def fingerprint() -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT md5(string_agg(concat_ws('|', c.number, ST_AsText(c.point), c.category_id, c.state, c.level,
                   c.responsible_unit_id, c.version, c.step_deadline_at, c.received_at, c.reporter_id), ',' ORDER BY
                   c.number)) FROM cases_case c"""
        )
        cases = cursor.fetchone()[0]
        cursor.execute(
            """SELECT md5(string_agg(concat_ws('|', c.number, e.action, e.to_state, e.unit_id, e.created_at, e.data),
                   ',' ORDER BY c.number, e.created_at, e.id)) FROM cases_caseevent e JOIN cases_case c
                   ON c.id = e.case_id"""
        )
        return cases + cursor.fetchone()[0]


@pytest.mark.django_db
def test_about_five_hundred_cases_over_a_year_in_every_state(demo_cases):
    summary, out = demo_cases
    assert 450 <= Case.objects.count() <= 520
    assert "demo cases" in out
    states = Counter(Case.objects.values_list("state", flat=True))
    assert set(states) == set(State.values), states
    assert states[State.CLOSED] > Case.objects.count() * 0.6
    oldest = Case.objects.order_by("received_at").first().received_at
    assert NOW - oldest > timedelta(days=300)
    assert not Case.objects.filter(received_at__gt=NOW).exists()
    assert not CaseEvent.objects.filter(created_at__gt=NOW).exists()
    assert summary["seconds"] < 30


@pytest.mark.django_db
def test_each_case_history_follows_the_workflow_table(demo_cases):
    events: dict[int, list] = {}
    for case_id, action, from_state, to_state in CaseEvent.objects.order_by("case_id", "created_at", "id").values_list(
        "case_id", "action", "from_state", "to_state"
    ):
        events.setdefault(case_id, []).append((action, from_state, to_state))
    cases = dict(Case.objects.values_list("id", "state"))
    versions = dict(Case.objects.values_list("id", "version"))
    assert set(events) == set(cases)
    for case_id, history in events.items():
        assert history[0] == ("report", "", State.REPORTED)
        for (_, _, before), (action, from_state, to_state) in pairwise(history):
            assert from_state == before, (case_id, history)
            transition = TRANSITIONS[action]
            assert from_state in transition.sources, (case_id, action, from_state)
            if transition.target is not None:
                assert to_state == transition.target
        assert history[-1][2] == cases[case_id], (case_id, history)
        assert versions[case_id] == len(history)  # one version per transition after the report


def light_at(case: Case, moment) -> str | None:
    """selectors.light_expression, in Python, at a given moment."""
    if case.step_deadline_at is None:
        return None
    moment = case.suspended_at or moment
    if case.step_deadline_at < moment:
        return "red"
    return "yellow" if case.step_yellow_at <= moment else "green"


@pytest.mark.django_db
def test_open_cases_show_all_three_lights_and_closed_ones_none(demo_cases):
    lights = Counter(Case.objects.annotate(light=selectors.light_expression()).values_list("state", "light"))
    by_light = Counter()
    for (state, light), n in lights.items():
        if state in (State.CLOSED, State.REJECTED):
            assert light is None
        else:
            assert light in ("green", "yellow", "red")
            by_light[light] += n
    assert set(by_light) == {"green", "yellow", "red"}
    # As seeded (at NOW), each open state appears with each light: the pool anchored at now.
    seen = {(case.state, light_at(case, NOW)) for case in Case.objects.exclude(state__in=["closed", "rejected"])}
    for state in demo.OPEN_STATES:
        for light in ("green", "yellow", "red"):
            assert (state, light) in seen, (state, light)


@pytest.mark.django_db
def test_thresholds_and_deadlines_are_those_of_the_working_calendar(demo_cases):
    open_cases = Case.objects.exclude(step_started_at=None).order_by("number")[:120]
    assert open_cases
    for case in open_cases:
        paused = case.step_paused_hours
        yellow = calendar.add_working_hours(case.step_started_at, YELLOW_AT * case.step_limit_hours + paused)
        deadline = calendar.add_working_hours(case.step_started_at, case.step_limit_hours + paused)
        assert abs((case.step_yellow_at - yellow).total_seconds()) < 0.01, case.number
        assert abs((case.step_deadline_at - deadline).total_seconds()) < 0.01, case.number
    for event in CaseEvent.objects.filter(data__has_key="step_ended").order_by("id")[:300]:
        record = event.data["step_ended"]
        assert record["step"] in ("register", "dispatch", "process", "verify", "close")
        assert record["hours"] >= 0 and isinstance(record["on_time"], bool)


@pytest.mark.django_db
def test_numbers_are_daily_sequences_and_live_cases_continue_them(demo_cases):
    numbers = list(Case.objects.values_list("number", "received_at"))
    assert len({n for n, _ in numbers}) == len(numbers)
    per_day = Counter()
    for number, received in numbers:
        match = re.fullmatch(r"XQ-(\d{8})-(\d{5})", number)
        assert match, number
        assert match.group(1) == timezone.localtime(received).strftime("%Y%m%d")
        per_day[match.group(1)] = max(per_day[match.group(1)], int(match.group(2)))
    counters = {day.strftime("%Y%m%d"): n for day, n in CaseCounter.objects.values_list("day", "n")}
    for day, highest in per_day.items():
        assert counters[day] >= highest
    # A live case on the busiest day continues its sequence.
    day = max(per_day, key=per_day.get)
    moment = timezone.make_aware(timezone.datetime.strptime(day + " 10:00", "%Y%m%d %H:%M"))
    seen = Case.objects.filter(number__startswith=f"XQ-{day}-").select_related("category").first()
    live, _ = services.create_case(
        category=seen.category, point=seen.point, description="演示之后的新案件", source=seen.source, received_at=moment
    )
    assert live.number == f"XQ-{day}-{counters[day] + 1:05d}"


@pytest.mark.django_db
def test_routing_agrees_with_the_resolver(demo_cases):
    sample = Case.objects.select_related("category").order_by("?")[:40]
    for case in sample:
        report = case.events.get(action="report")
        route = routing.resolve(point=case.point, category=case.category)
        assert report.data["routing_reason"] == route.reason, case.number
        moved = case.events.filter(action__in=["dispatch", "return", "escalate"]).exclude(
            data__from_unit=case.responsible_unit_id, data__to_unit=case.responsible_unit_id
        )
        if not moved.exists():
            assert case.responsible_unit_id == route.responsible.pk
            assert sorted(case.co_units.values_list("id", flat=True)) == sorted(u.pk for u in route.co_units)


@pytest.mark.django_db
def test_department_categories_reach_their_bureau(demo_cases):
    water = Unit.objects.get(code="510403-SWJ")
    rule = RoutingRule.objects.get(category__code="SJ0402", unit=water)
    assert rule.role == "responsible" and rule.priority > 0
    point = Case.objects.order_by("id").first().point
    route = routing.resolve(point=point, category=Category.objects.get(code="SJ0402"))
    assert route.responsible == water
    bureaus = set(
        Case.objects.filter(responsible_unit__type=UnitType.DEPARTMENT).values_list("responsible_unit__code", flat=True)
    )
    assert len(bureaus) >= 3, bureaus
    # Running the step's rules again adds nothing.
    assert demo.ensure_demo_rules() == 0


@pytest.mark.django_db
def test_sources_reporters_and_hot_spots(demo_cases):
    sources = Counter(Case.objects.values_list("source", flat=True))
    assert sources[Source.HANDHELD] and sources[Source.HOTLINE] and sources[Source.DESK]
    handheld = Case.objects.filter(source=Source.HANDHELD)
    assert not handheld.filter(reporter=None).exists()
    assert set(handheld.values_list("reporter__username", flat=True)) <= {f"worker{i}" for i in range(1, 10)}
    assert handheld.filter(grid__workers__user=F("reporter")).count() == handheld.count()
    assert Case.objects.filter(closed_as="on_spot").exists()
    categories = Counter(Case.objects.values_list("category__code", flat=True))
    assert categories.most_common(1)[0][1] >= 15  # a few categories dominate (暴露垃圾, 占道 …)
    assert len(categories) >= 30
    # Hot spots: the busiest tenth of the ~150 m cells with cases holds far more than a tenth of the cases.
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM cases_case GROUP BY ST_SnapToGrid(point, 0.0015) ORDER BY 1 DESC")
        cells = [n for (n,) in cursor.fetchall()]
    top = sum(cells[: len(cells) // 10])
    print("top tenth of cells:", top, "of", sum(cells))
    assert top > 0.25 * sum(cells)


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_cases(demo_cases):
    before = fingerprint()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE cases_caseevent, cases_case_co_units, cases_case CASCADE")
            cursor.execute("DELETE FROM cases_casecounter")
        demo.seed_cases(scale="small", seed=SEED, now=NOW)
        assert fingerprint() == before
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_a_live_case_after_the_demo(demo_cases):
    """The demo leaves the database as live writes expect it: a report is routed, numbered and moved."""
    from django.contrib.auth import get_user_model

    category = Category.objects.get(code="SJ0102")
    point = Case.objects.filter(street__code="510403001").order_by("id").first().point
    case, created = services.create_case(
        category=category, point=Point(point.x, point.y, srid=4326), description="live", source=Source.DESK
    )
    assert created and case.version == 1
    dispatcher = get_user_model().objects.get(username="dispatcher")
    if case.responsible_unit.staff.filter(user=dispatcher).exists():
        case = services.apply_transition(case_id=case.pk, actor=dispatcher, action="register", version=1)
        assert case.state == State.REGISTERED
