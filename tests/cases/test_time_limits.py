"""Time limits in working hours: thresholds per step, the light, suspension, extension, overdue escalation.

Working hours 08:30–12:00 and 14:00–17:30; SJ0101 (私搭乱建) has limits register 2, dispatch 2, process 120,
verify 8, close 4; SJ0102 (暴露垃圾, level 1): register 1, dispatch 1, process 8, verify 4, close 2.
"""

import io
from datetime import datetime
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone

from cases import calendar, selectors
from cases.models import Case, State
from cases.services import TransitionRefused
from tests.cases.geo import Geography
from tests.cases.helpers import act, dispatcher, fresh, report

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def light_of(case: Case) -> str | None:
    return Case.objects.annotate(light=selectors.light_expression()).get(pk=case.pk).light


class Clock:
    """Moves the services' idea of "now" (the light itself compares with the database's now())."""

    def __init__(self, start: str):
        self.now = at(start)

    def set(self, text: str):
        self.now = at(text)

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    moving = Clock("2026-03-16T09:00")
    with mock.patch("cases.services.timezone.now", moving):
        yield moving


def test_thresholds_are_80_and_100_percent_of_the_step_in_working_time(geo: Geography):
    case = report(geo.point("W1", "N"), "SJ0101", received_at=at("2026-09-30T16:00"))
    # register: 2 h. 80 % = 1.6 h → 16:00 + 1.5 h (to 17:30) + 0.1 h after the National Day holiday (10-08 08:36).
    assert case.step_yellow_at == at("2026-10-08T08:36")
    assert case.step_deadline_at == at("2026-10-08T09:00")
    # the whole case: 2 + 2 + 120 + 8 + 4 = 136 h = 1.5 h on 09-30, then 19 full days and 4 h from 10-08 on.
    assert case.deadline_at == calendar.add_working_hours(at("2026-09-30T16:00"), 136)


def test_light_turns_yellow_at_80_and_red_beyond_100_percent(geo: Geography):
    case = report(geo.point("W1", "N"), "SJ0101")
    now = timezone.now()
    hour = timezone.timedelta(hours=1)
    for yellow_at, deadline_at, light in [
        (now + hour, now + 2 * hour, "green"),  # below 80 %
        (now - hour, now + hour, "yellow"),  # between 80 % and 100 %
        (now - 2 * hour, now - hour, "red"),  # beyond the limit
    ]:
        Case.objects.filter(pk=case.pk).update(step_yellow_at=yellow_at, step_deadline_at=deadline_at)
        assert light_of(case) == light
    Case.objects.filter(pk=case.pk).update(step_deadline_at=None)
    assert light_of(case) is None  # closed or rejected: no running clock


def test_light_follows_working_time_across_a_holiday(geo: Geography):
    """A register step of 2 h started before a holiday is still green across the whole holiday."""
    case = report(geo.point("W1", "N"), "SJ0101", received_at=at("2026-09-30T17:00"))
    # 0.5 h on 09-30, then 1.1 h after the holiday → yellow from 10-08 09:36, red after 10:00.
    assert case.step_yellow_at == at("2026-10-08T09:36") and case.step_deadline_at == at("2026-10-08T10:00")
    for moment, light in [
        ("2026-10-05T12:00", "green"),
        ("2026-10-08T09:35", "green"),
        ("2026-10-08T09:36", "yellow"),
        ("2026-10-08T10:00", "yellow"),
        ("2026-10-08T10:01", "red"),
    ]:
        # freeze the comparison moment through the suspension column, which the light reads before now()
        Case.objects.filter(pk=case.pk).update(suspended_at=at(moment))
        assert light_of(case) == light, moment


def test_suspension_stops_the_clock(geo: Geography, clock):
    committee = dispatcher(geo.committees["W1"])
    clock.set("2026-03-16T09:00")  # Monday
    case = report(geo.point("W1", "N"), "SJ0102", received_at=clock.now)
    clock.set("2026-03-16T09:30")
    case = act(case, committee, "register")
    clock.set("2026-03-16T10:00")
    case = act(case, committee, "dispatch")
    # process: 8 h from Mon 10:00 = 2 h (to 12:00) + 3.5 h (afternoon) + 2.5 h on Tue → Tue 11:00
    assert case.step == "process" and case.step_deadline_at == at("2026-03-17T11:00")
    case_deadline = case.deadline_at
    clock.set("2026-03-16T11:00")  # one working hour used
    case = act(case, committee, "suspend", note="等待产权单位确认")
    assert case.state == State.SUSPENDED and case.resume_state == State.DISPATCHED
    # however late it is now, a suspended case keeps the light it had when suspended (1 of 8 h: green)
    assert light_of(case) == "green"
    clock.set("2026-03-18T11:00")  # Wednesday: suspended for 1 + 3.5 + 7 + 2.5 = 14 working hours
    case = act(case, committee, "resume")
    assert case.state == State.DISPATCHED and case.suspended_at is None
    assert case.suspended_hours == pytest.approx(14)
    # 7 h remain from Wed 11:00: 1 h + 3.5 h on Wed, 2.5 h on Thu → Thu 11:00 (the old deadline + 14 working hours)
    assert case.step_deadline_at == at("2026-03-19T11:00")
    assert case.step_deadline_at == calendar.add_working_hours(at("2026-03-17T11:00"), 14)
    assert case.deadline_at == calendar.add_working_hours(case_deadline, 14)
    assert case.events.get(action="resume").data["paused_hours"] == pytest.approx(14)


def test_extension_is_requested_by_the_handler_and_approved_by_the_assigner(geo: Geography, clock):
    office, committee, other = (
        dispatcher(geo.offices["W"]),
        dispatcher(geo.committees["W2"]),
        dispatcher(geo.committees["W1"]),
    )
    clock.set("2026-03-16T09:00")
    case = report(geo.point("W2", "N"), "SJ0101", received_at=clock.now)  # street office W
    case = act(case, office, "register")
    case = act(case, office, "dispatch", unit=geo.committees["W2"])  # the street office hands it to the community
    deadline = case.step_deadline_at
    with pytest.raises(TransitionRefused) as refused:
        act(case, office, "approve_extension")
    assert refused.value.reason == "no_extension_pending"
    case = act(case, committee, "extend", hours=14, note="需协调物业，申请延时两天")
    assert case.extension_requested_hours == 14 and case.step_deadline_at == deadline  # nothing granted yet
    with pytest.raises(TransitionRefused) as refused:
        act(case, committee, "approve_extension")  # the handler cannot approve its own request
    assert refused.value.reason == "actor_not_allowed"
    with pytest.raises(TransitionRefused) as refused:
        act(case, other, "approve_extension")  # nor can an unrelated unit
    assert refused.value.reason == "actor_not_allowed"
    with pytest.raises(TransitionRefused) as refused:
        act(case, committee, "extend", hours=7)
    assert refused.value.reason == "extension_pending"
    case = act(case, office, "approve_extension")
    assert case.extension_requested_hours is None and case.extended_hours == 14
    assert case.step_deadline_at == calendar.add_working_hours(deadline, 14)
    # a refused request changes no deadline
    case = act(case, committee, "extend", hours=7)
    case = act(case, dispatcher(geo.centre), "approve_extension", approved=False)
    assert case.step_deadline_at == calendar.add_working_hours(deadline, 14)
    assert [event.data.get("approved") for event in case.events.filter(action="approve_extension")] == [True, False]


def test_escalate_overdue_run_twice_escalates_once(geo: Geography):
    long_ago = timezone.now() - timezone.timedelta(days=30)
    overdue = report(geo.point("E1", "N"), "SJ0102", received_at=long_ago)  # committee E1, level 1
    on_time = report(geo.point("W1", "N"), "SJ0102")
    suspended = report(geo.point("W2", "N"), "SJ0102", received_at=long_ago)
    Case.objects.filter(pk=suspended.pk).update(state=State.SUSPENDED, suspended_at=long_ago, resume_state="processing")
    at_the_top = report(geo.point("E2", "N"), "SJ0102", received_at=long_ago)
    Case.objects.filter(pk=at_the_top.pk).update(responsible_unit=geo.centre)
    out = io.StringIO()
    call_command("escalate_overdue", stdout=out)
    assert "escalated 1" in out.getvalue() and "without a higher unit 1" in out.getvalue()
    call_command("escalate_overdue", stdout=io.StringIO())
    call_command("escalate_overdue", stdout=io.StringIO())
    overdue = fresh(overdue)
    assert overdue.events.filter(action="escalate").count() == 1
    event = overdue.events.get(action="escalate")
    assert event.actor is None and event.data["automatic"] is True
    assert overdue.state == State.ESCALATED and overdue.level == 2 and overdue.responsible_unit == geo.offices["E"]
    assert overdue.step_deadline_at > timezone.now()  # the street office has a fresh dispatch step
    for untouched in (on_time, suspended, at_the_top):
        assert not fresh(untouched).events.filter(action="escalate").exists()
    assert fresh(at_the_top).overdue_handled_seq == fresh(at_the_top).step_seq


def test_an_overdue_case_escalates_again_only_in_a_new_step(geo: Geography):
    long_ago = timezone.now() - timezone.timedelta(days=30)
    case = report(geo.point("E1", "N"), "SJ0102", received_at=long_ago)
    call_command("escalate_overdue", stdout=io.StringIO())
    # the street office lets its own dispatch step run out too
    Case.objects.filter(pk=case.pk).update(step_deadline_at=long_ago, step_yellow_at=long_ago)
    call_command("escalate_overdue", stdout=io.StringIO())
    call_command("escalate_overdue", stdout=io.StringIO())
    case = fresh(case)
    assert list(case.events.filter(action="escalate").values_list("data__to_unit", flat=True)) == [
        geo.offices["E"].pk,
        geo.centre.pk,
    ]
    assert case.level == 3
    assert Case.objects.filter(pk=case.pk, overdue_handled_seq=F("step_seq")).count() == 0
