"""The transition table, exhaustively: every (action, state) pair outside it is refused and changes nothing;
every pair inside it can be applied. Plus who may act, stale versions and malformed bodies."""

import pytest
from django.contrib.gis.geos import Point

from cases.models import Case, CaseEvent, State
from cases.workflow import TRANSITIONS
from grids.models import Role, UnitType
from tests.cases.geo import multi
from tests.cases.helpers import client_of, dispatcher, fresh, person, report, uploaded_photo
from tests.factories import DistrictFactory, UnitFactory

pytestmark = pytest.mark.django_db

POINT = Point(101.61, 26.59, srid=4326)
NOT_IN_TABLE = [
    (action, state) for action, spec in TRANSITIONS.items() for state in State.values if state not in spec.sources
]
IN_TABLE = [(action, state) for action, spec in TRANSITIONS.items() for state in sorted(spec.sources)]


@pytest.fixture
def units(db):
    """The least geography a case needs: a district, its command centre and one street office under it."""
    district = DistrictFactory(boundary=multi(101.60, 26.58, 0.04, 0.04))
    centre = UnitFactory(code="CC", name="指挥中心", type=UnitType.COMMAND_CENTRE, jurisdiction=district.boundary)
    office = UnitFactory(
        code="SO", name="街道办", type=UnitType.STREET_OFFICE, jurisdiction=district.boundary, parent=centre
    )
    return {"centre": centre, "office": office}


def case_in(state: str, **fields) -> Case:
    case = report(POINT, "SJ0101", level=1)
    extra = {"resume_state": State.PROCESSING, "suspended_at": case.received_at} if state == State.SUSPENDED else {}
    Case.objects.filter(pk=case.pk).update(state=state, **extra, **fields)
    return fresh(case)


def body_for(action: str, version: int, **extra) -> dict:
    body = {"action": action, "version": version, "note": "测试"}
    if action == "extend":
        body["hours"] = 8
    if action == "evaluate":
        body["score"] = 4
    if action == "close_on_spot":
        body["attachments"] = ["0" * 64]  # refused before it is looked at, or replaced by a photo of the actor
    return {**body, **extra}


@pytest.mark.parametrize(("action", "state"), NOT_IN_TABLE)
def test_actions_outside_the_table_are_refused_and_change_nothing(units, action, state):
    admin = person(Role.ADMIN)
    case = case_in(state)
    events = CaseEvent.objects.filter(case=case).count()
    response = client_of(admin).post(
        f"/api/v1/cases/{case.pk}/transitions", body_for(action, case.version), format="json"
    )
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["reason"] == "action_not_allowed"
    assert action not in body["allowed_actions"]
    assert body["state"] == state and body["version"] == case.version
    after = fresh(case)
    assert (after.state, after.version) == (state, case.version)
    assert CaseEvent.objects.filter(case=case).count() == events


@pytest.mark.parametrize(("action", "state"), IN_TABLE)
def test_actions_in_the_table_apply(units, action, state):
    admin = person(Role.ADMIN)
    case = case_in(state, responsible_unit=units["office"])
    extra = {}
    if action == "approve_extension":
        Case.objects.filter(pk=case.pk).update(extension_requested_hours=4)
    if action in ("merge", "not_duplicate"):
        original = report(POINT, "SJ0104")  # another category, so not itself flagged as a duplicate of `case`
        Case.objects.filter(pk=case.pk).update(duplicate_of=original)
    if action == "dispatch":
        extra["unit"] = units["office"].pk
    if action in ("close_on_spot", "resolve"):  # SJ0101's 处置反馈 needs an after-photo too
        extra["attachments"] = [uploaded_photo(admin)]
    case = fresh(case)
    response = client_of(admin).post(
        f"/api/v1/cases/{case.pk}/transitions", body_for(action, case.version, **extra), format="json"
    )
    assert response.status_code == 200, response.content
    after = fresh(case)
    target = TRANSITIONS[action].target
    expected = target if target else (State.PROCESSING if action == "resume" else state)
    assert after.state == expected
    assert after.version == case.version + 1
    assert after.events.last().action == action


# --- Who may act --------------------------------------------------------------------------------


def test_wrong_role_is_refused_with_409_and_other_units_get_404(units):
    other_office = UnitFactory(code="SO2", type=UnitType.STREET_OFFICE, jurisdiction=multi(101.70, 26.70, 0.01, 0.01))
    case = case_in(State.REPORTED, responsible_unit=units["office"])
    # managers see the case but watch, they do not handle
    response = client_of(person(Role.MANAGER)).post(
        f"/api/v1/cases/{case.pk}/transitions", body_for("register", 1), format="json"
    )
    assert response.status_code == 409 and response.json()["reason"] == "actor_not_allowed"
    # a worker of other grids and a dispatcher of another unit may not see it: for them it does not exist
    for user in [person(Role.WORKER), dispatcher(other_office)]:
        response = client_of(user).post(f"/api/v1/cases/{case.pk}/transitions", body_for("register", 1), format="json")
        assert response.status_code == 404, (user, response.content)
    assert fresh(case).version == 1 and fresh(case).events.count() == 1
    # the responsible unit's dispatcher and a command-centre dispatcher may register
    response = client_of(dispatcher(units["office"])).post(
        f"/api/v1/cases/{case.pk}/transitions", body_for("register", 1), format="json"
    )
    assert response.status_code == 200
    assert "dispatch" in response.json()["allowed_actions"]


def test_handler_only_actions_refuse_the_command_centre(units):
    case = case_in(State.DISPATCHED, responsible_unit=units["office"])
    response = client_of(dispatcher(units["centre"])).post(
        f"/api/v1/cases/{case.pk}/transitions", body_for("start", case.version), format="json"
    )
    assert response.status_code == 409 and response.json()["reason"] == "actor_not_allowed"
    # and the refusal names what this actor may do instead
    assert "suspend" in response.json()["allowed_actions"]


def test_a_stale_version_is_refused(units):
    office = dispatcher(units["office"])
    case = case_in(State.REPORTED, responsible_unit=units["office"])
    client = client_of(office)
    assert (
        client.post(f"/api/v1/cases/{case.pk}/transitions", body_for("register", 1), format="json").status_code == 200
    )
    response = client.post(f"/api/v1/cases/{case.pk}/transitions", body_for("reject", 1), format="json")
    assert response.status_code == 409
    assert response.json()["reason"] == "stale_version" and response.json()["version"] == 2
    assert fresh(case).state == State.REGISTERED and fresh(case).events.count() == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "action"),
        ({"action": "register"}, "version"),
        ({"action": "fly", "version": 1}, "action"),
        ({"action": "register", "version": "one"}, "version"),
        ({"action": "register", "version": 0}, "version"),
        ({"action": "register", "version": 1, "note": "x" * 2001}, "note"),
        ({"action": "register", "version": 1, "unit": 5}, "unit"),
        ({"action": "dispatch", "version": 1, "unit": "street"}, "unit"),
        ({"action": "extend", "version": 1}, "hours"),
        ({"action": "extend", "version": 1, "hours": -2}, "hours"),
        ({"action": "evaluate", "version": 1, "score": 9}, "score"),
        ({"action": "close_on_spot", "version": 1}, "attachments"),
        ({"action": "resolve", "version": 1, "attachments": "photo"}, "attachments"),
    ],
)
def test_malformed_bodies_are_400_with_the_field_named(units, body, field):
    case = case_in(State.REGISTERED, responsible_unit=units["office"])
    response = client_of(person(Role.ADMIN)).post(f"/api/v1/cases/{case.pk}/transitions", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert fresh(case).version == case.version


def test_dispatch_to_an_unknown_unit_is_400(units):
    case = case_in(State.REGISTERED, responsible_unit=units["office"])
    response = client_of(person(Role.ADMIN)).post(
        f"/api/v1/cases/{case.pk}/transitions", body_for("dispatch", case.version, unit=999999), format="json"
    )
    assert response.status_code == 400 and "unit" in response.json()["errors"]
    assert fresh(case).version == case.version


def test_transitions_on_a_missing_case_are_404(units):
    response = client_of(person(Role.ADMIN)).post(
        "/api/v1/cases/999999/transitions", body_for("register", 1), format="json"
    )
    assert response.status_code == 404
