"""The standard cycle end to end, and the side paths, as a dispatcher and a grid worker would see them."""

import re

import pytest

from cases.models import CaseEvent, ClosedAs, State
from cases.services import TransitionRefused, actor_for, allowed_actions
from tests.cases.geo import Geography
from tests.cases.helpers import act, client_of, dispatcher, fresh, person, report, resolve, uploaded_photo

pytestmark = pytest.mark.django_db


def test_full_cycle_writes_one_event_per_step(geo: Geography):
    worker = person(grids=[geo.grids["W1"]])
    office = dispatcher(geo.offices["W"])
    case = report(geo.point("W1", "N"), "SJ0101", reporter=worker)
    assert re.fullmatch(r"XQ-\d{8}-\d{5}", case.number)
    assert case.state == State.REPORTED and case.version == 1
    assert case.responsible_unit == geo.offices["W"] and list(case.co_units.all()) == [geo.department]
    assert case.grid == geo.grids["W1"] and case.street == geo.streets["W"] and case.community == geo.communities["W1"]
    assert case.step == "register" and case.step_deadline_at > case.step_yellow_at > case.received_at
    for user, action, state in [
        (office, "register", State.REGISTERED),
        (office, "dispatch", State.DISPATCHED),
        (office, "start", State.PROCESSING),
        (office, "resolve", State.RESOLVED),
        (worker, "verify", State.VERIFIED),
        (office, "close", State.CLOSED),
        (worker, "evaluate", State.CLOSED),
    ]:
        if action == "resolve":
            case = resolve(case, user)  # releases the department's co-handling task first
        else:
            case = act(case, user, action, score=5 if action == "evaluate" else None)
        assert case.state == state, action
    case = fresh(case)
    assert case.version == 9
    assert case.closed_as == ClosedAs.NORMAL and case.closed_at and case.evaluation == 5
    assert case.step == "" and case.step_deadline_at is None
    events = list(case.events.values_list("action", "from_state", "to_state"))
    assert events == [
        ("report", "", "reported"),
        ("register", "reported", "registered"),
        ("dispatch", "registered", "dispatched"),
        ("cohandle_assign", "dispatched", "dispatched"),
        ("start", "dispatched", "processing"),
        ("cohandle_release", "processing", "processing"),
        ("resolve", "processing", "resolved"),
        ("verify", "resolved", "verified"),
        ("close", "verified", "closed"),
        ("evaluate", "closed", "closed"),
    ]
    assert case.events.get(action="verify").actor == worker
    assert case.events.get(action="close").unit == geo.offices["W"]


def test_steps_restart_with_their_own_limits(geo: Geography):
    office = dispatcher(geo.offices["W"])
    case = report(geo.point("W1", "N"), "SJ0101")
    limits = case.category.time_limits
    assert case.step_limit_hours == limits["register"]
    case = act(case, office, "register")
    assert case.step == "dispatch" and case.step_limit_hours == limits["dispatch"]
    case = act(case, office, "dispatch")
    assert case.step == "process" and case.step_limit_hours == limits["process"]
    seq = case.step_seq
    case = act(case, office, "start")
    assert case.step == "process" and case.step_seq == seq  # starting work does not reset the clock
    case = resolve(case, office)
    assert case.step == "verify"
    case = act(case, office, "rework", note="未清理干净")
    assert case.state == State.PROCESSING and case.step == "process" and case.step_seq == seq + 2


def test_level_1_case_closes_on_the_spot_with_an_after_photo(geo: Geography, client_for):
    worker = person(grids=[geo.grids["W1"]])
    case = report(geo.point("W1", "S"), "SJ0102", reporter=worker)  # 暴露垃圾, level 1
    assert case.level == 1 and case.responsible_unit == geo.committees["W1"]
    response = client_of(worker).post(
        f"/api/v1/cases/{case.pk}/transitions",
        {"action": "close_on_spot", "version": 1, "note": "已清理", "attachments": [after := uploaded_photo(worker)]},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "closed" and body["closed_as"] == "on_spot"
    assert body["events"][-1]["attachments"] == [after]
    # without a photo it is malformed input; on a level-3 case it is refused
    other = report(geo.point("W1", "S"), "SJ0102", reporter=worker)
    response = client_of(worker).post(
        f"/api/v1/cases/{other.pk}/transitions", {"action": "close_on_spot", "version": 1}, format="json"
    )
    assert response.status_code == 400 and "attachments" in response.json()["errors"]
    level3 = report(geo.point("W1", "S"), "SJ0101", reporter=worker)
    response = client_of(worker).post(
        f"/api/v1/cases/{level3.pk}/transitions",
        {"action": "close_on_spot", "version": 1, "attachments": [uploaded_photo(worker)]},
        format="json",
    )
    assert response.status_code == 409 and response.json()["reason"] == "not_level_1"


def test_return_reroutes_without_the_returning_unit(geo: Geography):
    office = dispatcher(geo.offices["W"])
    centre = dispatcher(geo.centre)
    case = report(geo.point("W1", "N"), "SJ0101")
    case = act(case, office, "return", note="不属于本街道")
    assert case.state == State.RETURNED
    assert case.responsible_unit == geo.centre  # no other street office covers the point
    assert case.routing_reason["excluded_units"] == [geo.offices["W"].pk]
    assert case.step == "dispatch"
    # the command centre dispatches by hand, to any unit
    case = act(case, centre, "dispatch", unit=geo.offices["E"])
    assert case.state == State.DISPATCHED and case.responsible_unit == geo.offices["E"]
    assert case.assigned_by_unit == geo.centre
    event = case.events.get(action="return")
    assert event.data["from_unit"] == geo.offices["W"].pk and event.data["to_unit"] == geo.centre.pk
    with pytest.raises(TransitionRefused) as refused:
        act(case, office, "start")
    assert refused.value.reason == "actor_not_allowed"


def test_return_goes_to_the_next_matching_unit_and_never_back(geo: Geography):
    from tests.cases.geo import multi
    from tests.factories import UnitFactory

    overlapping = UnitFactory(
        code="SO-BIG", name="大街道办事处", type="street_office", jurisdiction=multi(101.60, 26.58, 0.04, 0.04)
    )
    case = report(geo.point("W1", "N"), "SJ0101")
    assert case.responsible_unit == geo.offices["W"]  # the smaller unit first
    case = act(case, dispatcher(geo.offices["W"]), "return")
    assert case.responsible_unit == overlapping
    case = act(case, dispatcher(overlapping), "dispatch")
    case = act(case, dispatcher(overlapping), "return")
    assert case.responsible_unit == geo.centre  # neither SO-W nor SO-BIG again


def test_command_centre_cannot_return(geo: Geography):
    case = report(geo.point("W1", "N"), "SJ0101")
    case = act(case, dispatcher(geo.offices["W"]), "return")
    with pytest.raises(TransitionRefused) as refused:
        act(case, dispatcher(geo.centre), "return")
    assert refused.value.reason in ("action_not_allowed", "command_centre_cannot_return")


def test_escalate_raises_the_level_and_hands_the_case_to_the_parent(geo: Geography):
    case = report(geo.point("E2", "S"), "SJ0102")  # level 1, community E2
    case = act(case, dispatcher(geo.committees["E2"]), "register")
    case = act(case, dispatcher(geo.committees["E2"]), "escalate", note="需街道协调")
    assert case.state == State.ESCALATED and case.level == 2
    assert case.responsible_unit == geo.offices["E"]
    case = act(case, dispatcher(geo.offices["E"]), "escalate")
    assert case.responsible_unit == geo.centre and case.level == 3
    with pytest.raises(TransitionRefused) as refused:
        act(case, dispatcher(geo.centre), "escalate")
    assert refused.value.reason in ("actor_not_allowed", "no_higher_unit")
    case = act(case, dispatcher(geo.centre), "dispatch", unit=geo.department)
    assert case.responsible_unit == geo.department and case.state == State.DISPATCHED


def test_dispatch_to_a_unit_outside_ones_own_tree_is_refused(geo: Geography):
    office = dispatcher(geo.offices["W"])
    case = act(report(geo.point("W1", "N"), "SJ0101"), office, "register")
    with pytest.raises(TransitionRefused) as refused:
        act(case, office, "dispatch", unit=geo.offices["E"])
    assert refused.value.reason == "unit_not_allowed"
    assert fresh(case).version == case.version and fresh(case).events.count() == 2
    case = act(case, office, "dispatch", unit=geo.committees["W2"])  # a community under the office
    assert case.responsible_unit == geo.committees["W2"] and case.assigned_by_unit == geo.offices["W"]


def test_co_handling_unit_may_comment_but_not_handle(geo: Geography):
    case = report(geo.point("W1", "N"), "SH0201")  # police N responsible, street office W co-handling
    co = dispatcher(geo.offices["W"])
    case = act(case, co, "comment", note="街道已知悉，配合排查")
    assert case.events.last().action == "comment" and case.state == State.REPORTED
    with pytest.raises(TransitionRefused):
        act(case, co, "register")
    assert "comment" in allowed_actions(case, actor_for(co)) and "register" not in allowed_actions(case, actor_for(co))


def test_events_are_append_only_in_the_database(geo: Geography):
    from django.db import DatabaseError, transaction

    case = report(geo.point("W1", "N"), "SJ0101")
    event = case.events.get()
    with pytest.raises(DatabaseError), transaction.atomic():
        CaseEvent.objects.filter(pk=event.pk).update(note="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        CaseEvent.objects.filter(pk=event.pk).delete()
    assert CaseEvent.objects.get(pk=event.pk).note == "测试案件"
