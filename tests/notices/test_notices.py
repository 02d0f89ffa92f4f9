"""Notices made from case events by the rules table, seen only by their recipients, read and unread, polled with an
ETag; lights and registry requests make theirs too."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from cases.models import Case, CaseEvent, Category, Source
from cases.services import create_case, escalate_overdue
from grids.models import ChangeKind, Role
from grids.services import propose_change
from notices import rules
from notices.models import Kind, Notification
from tests.cases.helpers import act, client_of, dispatcher, fresh, person, report, resolve
from tests.factories import BuildingFactory, square

pytestmark = pytest.mark.django_db


def summary(user, **headers):
    return client_of(user).get("/api/v1/notices/unread", headers=headers)


@pytest.fixture
def people(geo):
    return {
        "west": dispatcher(geo.offices["W"]),
        "west2": dispatcher(geo.offices["W"]),
        "police": dispatcher(geo.police["N"]),
        "centre": dispatcher(geo.centre),
        "manager": person(Role.MANAGER),
        "worker": person(Role.WORKER, grids=[geo.grids["W1"]]),
    }


def test_a_workers_report_tells_the_units_desk_and_nobody_else(geo, people):
    case = report(geo.point("W1", "N"), "SJ0101", reporter=people["worker"])

    answer = summary(people["west"]).json()
    assert answer["unread"] == 1
    assert case.number in answer["latest"][0]["text"] and answer["latest"][0]["kind"] == Kind.NEW_CASE
    assert answer["latest"][0]["link"] == f"/desk/cases/{case.pk}/"
    assert summary(people["west2"]).json()["unread"] == 1  # the desk's notice: every dispatcher of the unit
    for other in ("police", "centre", "manager", "worker"):  # the worker reported it: nothing to tell them
        assert summary(people[other]).json() == {"unread": 0, "latest": []}, other
    assert client_of(people["manager"]).get("/api/v1/notices").json()["count"] == 0


def test_read_and_unread_and_only_ones_own(geo, people):
    report(geo.point("W1", "N"), "SJ0101", reporter=people["worker"])
    police_case = report(geo.point("W1", "N"), "SH0201", reporter=people["worker"])
    west_notice = Notification.objects.get(recipient_unit=geo.offices["W"])
    police_notice = Notification.objects.get(recipient_unit=geo.police["N"])
    assert police_notice.case_id == police_case.pk

    # Another's notice is 404, as if missing, and stays unread.
    assert client_of(people["police"]).post(f"/api/v1/notices/{west_notice.pk}/read").status_code == 404
    assert client_of(people["manager"]).post(f"/api/v1/notices/{west_notice.pk}/read").status_code == 404
    assert client_of(people["west"]).post("/api/v1/notices/999999/read").status_code == 404
    assert Notification.objects.get(pk=west_notice.pk).read_at is None

    answer = client_of(people["west"]).post(f"/api/v1/notices/{west_notice.pk}/read")
    assert answer.status_code == 200 and answer.json()["read"] is True
    assert summary(people["west2"]).json()["unread"] == 0  # read for the desk
    listed = client_of(people["west2"]).get("/api/v1/notices").json()
    assert listed["count"] == 1 and listed["results"][0]["read"] is True
    assert client_of(people["west2"]).get("/api/v1/notices", {"unread": "true"}).json()["count"] == 0
    assert summary(people["police"]).json()["unread"] == 1

    assert client_of(people["police"]).post("/api/v1/notices/read-all").json() == {"marked": 1}
    assert summary(people["police"]).json()["unread"] == 0
    assert Notification.objects.get(pk=police_notice.pk).read_by == people["police"]


def test_the_summary_answers_304_until_something_changes(geo, people):
    first = summary(people["west"])
    assert first.status_code == 200 and first.json()["unread"] == 0
    etag = first["ETag"]
    assert summary(people["west"], if_none_match=etag).status_code == 304

    report(geo.point("W1", "N"), "SJ0101", reporter=people["worker"])
    changed = summary(people["west"], if_none_match=etag)
    assert changed.status_code == 200 and changed.json()["unread"] == 1 and changed["ETag"] != etag
    assert summary(people["west"], if_none_match=changed["ETag"]).status_code == 304
    notice = Notification.objects.get()
    client_of(people["west2"]).post(f"/api/v1/notices/{notice.pk}/read")
    assert summary(people["west"], if_none_match=changed["ETag"]).json()["unread"] == 0
    # Another account's tag is never this one's.
    assert summary(people["police"], if_none_match=etag).status_code == 200


def test_the_cycle_tells_whom_it_concerns(geo, people):
    case = report(geo.point("W1", "N"), "SJ0101", reporter=people["worker"])
    act(case, people["west"], "register")
    act(case, people["west"], "dispatch")  # within the unit: nothing new for it; the co-handling unit gets its task
    assert Notification.objects.exclude(kind=Kind.COHANDLE_TASK).count() == 1
    assert all(
        n.recipient_unit_id != people["west"].staff.unit_id
        for n in Notification.objects.filter(kind=Kind.COHANDLE_TASK)
    )
    committee = dispatcher(geo.committees["W1"])
    resolve(case, people["west"])  # its open co-handling tasks released first
    notice = Notification.objects.get(recipient_user=people["worker"])
    assert notice.kind == Kind.TO_VERIFY
    # The worker's handheld reads it through the handheld API.
    badge = client_of(people["worker"]).get("/api/mobile/v1/notices").json()
    assert badge["unread"] == 1 and case.number in badge["latest"][0]["text"]
    assert summary(committee).json()["unread"] == 0


def test_dispatch_to_another_unit_and_a_return_tell_the_new_unit(geo, people):
    case = report(geo.point("W1", "N"), "SJ0101", reporter=people["worker"])
    act(case, people["west"], "register")
    committee = dispatcher(geo.committees["W1"])
    act(case, people["west"], "dispatch", unit=geo.committees["W1"].pk)
    answer = summary(committee).json()
    assert answer["unread"] == 1 and answer["latest"][0]["kind"] == Kind.NEW_CASE
    act(case, committee, "return")
    returned = Notification.objects.filter(kind=Kind.RETURNED).get()
    assert returned.recipient_unit_id == Case.objects.get(pk=case.pk).responsible_unit_id != geo.committees["W1"].pk


@pytest.mark.parametrize(
    ("action", "kind", "to"),
    [
        ("supervise", Kind.SUPERVISE, "responsible"),
        ("cohandle_assign", Kind.COHANDLE_TASK, "co_unit"),
        ("cohandle_feedback", Kind.COHANDLE_FEEDBACK, "responsible"),
        ("cohandle_accept", Kind.COHANDLE_ACCEPTED, "co_unit"),
        ("cohandle_return", Kind.COHANDLE_RETURNED, "co_unit"),
        ("cohandle_release", Kind.COHANDLE_RELEASED, "co_unit"),
    ],
)
def test_supervision_and_co_handling_events_follow_the_table(geo, people, action, kind, to):
    case = report(geo.point("W1", "N"), "SJ0101", reporter=people["worker"])
    Notification.objects.all().delete()
    actor = people["police"] if action == "cohandle_feedback" else people["centre"]
    CaseEvent.objects.create(
        case=case, actor=actor, unit=actor.staff.unit, action=action, data={"unit": geo.police["N"].pk}
    )
    notice = Notification.objects.get()
    assert notice.kind == kind
    expected = geo.offices["W"] if to == "responsible" else geo.police["N"]
    assert notice.recipient_unit == expected
    reader = people["west"] if to == "responsible" else people["police"]
    assert case.number in summary(reader).json()["latest"][0]["text"]


def test_every_event_rule_names_known_recipients_and_channels():
    for action, rule_list in rules.EVENT_RULES.items():
        for rule in rule_list:
            assert rule.kind in Kind.values, action
            assert set(rule.recipients) <= set(rules.RECIPIENTS), action
            assert set(rule.channels) <= set(rules.CHANNELS), action
            assert rule.kind in rules.TEXTS, action


def test_lights_notify_once_per_step_and_overdue_goes_to_the_unit_that_let_it_run_out(geo, people):
    yellow = report(geo.point("W1", "N"), "SJ0101", reporter=people["worker"])
    red = report(geo.point("W2", "N"), "SJ0101", reporter=people["worker"])
    now = timezone.now()
    Case.objects.filter(pk=yellow.pk).update(
        step_yellow_at=now - timedelta(minutes=5), step_deadline_at=now + timedelta(hours=1)
    )
    Case.objects.filter(pk=red.pk).update(
        step_yellow_at=now - timedelta(hours=2), step_deadline_at=now - timedelta(minutes=5)
    )
    escalate_overdue(now=now)
    lights = Notification.objects.filter(kind__in=[Kind.YELLOW, Kind.OVERDUE])
    assert sorted((n.kind, n.case_id, n.recipient_unit_id) for n in lights) == sorted(
        [(Kind.YELLOW, yellow.pk, geo.offices["W"].pk), (Kind.OVERDUE, red.pk, geo.offices["W"].pk)]
    )
    escalated = Notification.objects.get(kind=Kind.ESCALATED)
    assert escalated.case_id == red.pk and escalated.recipient_unit == geo.centre
    texts = [n["text"] for n in summary(people["west"]).json()["latest"]]
    assert any(yellow.number in text and "黄灯" in text for text in texts)

    escalate_overdue(now=now + timedelta(minutes=10))  # again: nothing new
    assert Notification.objects.filter(kind__in=[Kind.YELLOW, Kind.OVERDUE]).count() == 2


def test_a_registry_request_tells_the_units_that_decide_it(geo, people):
    point = geo.point("W1", "N")
    building = BuildingFactory(footprint=square(point.x, point.y, 0.0002))
    propose_change(
        worker=people["worker"],
        client_uuid=uuid.uuid4(),
        kind=ChangeKind.ADD_HOUSEHOLD,
        building=building.pk,
        proposed={"floor": 2, "room": "201"},
        captured_at=timezone.now(),
    )
    units = set(Notification.objects.filter(kind=Kind.REGISTRY_CHANGE).values_list("recipient_unit", flat=True))
    assert units == {geo.offices["W"].pk, geo.committees["W1"].pk}
    answer = summary(people["west"]).json()
    assert answer["latest"][0]["link"] == "/desk/registry/" and people["worker"].username in answer["latest"][0]["text"]
    assert summary(people["police"]).json()["unread"] == 0


def test_english_readers_get_english_text(geo, people):
    case = report(geo.point("W1", "N"), "SJ0101", reporter=people["worker"])
    client = client_of(people["west"])
    client.cookies["django_language"] = "en"
    text = client.get("/api/v1/notices/unread").json()["latest"][0]["text"]
    assert text.startswith("New case") and case.number in text


def test_a_desk_is_not_told_what_it_did_but_hears_of_its_own_workers_reports(geo, people):
    create_case(
        category=Category.objects.get(code="SJ0101"),
        point=geo.point("W1", "N"),
        description="热线来电",
        source=Source.HOTLINE,
        actor=people["west"],
    )
    assert Notification.objects.count() == 0  # the desk took the call itself
    own_worker = person(Role.WORKER, unit=geo.offices["W"], grids=[geo.grids["W1"]])
    report(geo.point("W1", "N"), "SJ0101", reporter=own_worker)
    assert summary(people["west"]).json()["unread"] == 1


def test_a_transition_at_the_desk_makes_its_notice(geo, people, client):
    case = report(geo.point("W1", "N"), "SJ0101", reporter=people["worker"])
    act(case, people["west"], "register")
    client.force_login(people["west"])  # a signed-in page's session, as the desk's script posts
    answer = client.post(
        f"/api/v1/cases/{case.pk}/transitions",
        {"action": "dispatch", "version": Case.objects.get(pk=case.pk).version, "unit": geo.committees["W1"].pk},
        content_type="application/json",
    )
    assert answer.status_code == 200
    assert Notification.objects.filter(kind=Kind.NEW_CASE, recipient_unit=geo.committees["W1"]).count() == 1


def test_a_supervision_with_a_time_limit_reminds_the_unit_once_unless_it_answered(geo, people, client):
    centre = people["centre"]

    def supervised(grid: str, **kwargs) -> Case:
        case = report(geo.point(grid, "N"), "SJ0502", reporter=people["worker"])
        case = act(case, people["west"], "register")
        case = act(case, people["west"], "dispatch")
        return act(case, centre, "supervise", note="限期处置", due_at=timezone.now() + timedelta(hours=2), **kwargs)

    ignored, answered, handed_on = supervised("W1"), supervised("W2"), supervised("W1")
    act(answered, people["west2"], "comment", note="已处置中")  # another dispatcher of the same desk answers
    act(handed_on, people["west"], "escalate")  # no longer the street office's to answer
    reminders = Notification.objects.filter(kind=Kind.SUPERVISE_DUE)
    escalate_overdue(now=timezone.now() + timedelta(hours=1))  # before the time limit: nothing
    assert not reminders.exists()
    for later in (3, 4, 5):  # the schedule runs on after the time limit: one reminder
        escalate_overdue(now=timezone.now() + timedelta(hours=later))
    assert [(n.case_id, n.recipient_unit_id) for n in reminders] == [(ignored.pk, geo.offices["W"].pk)]
    texts = [n["text"] for n in summary(people["west"]).json()["latest"]]
    assert any(ignored.number in text and "督办已到限期" in text for text in texts)

    client.force_login(centre)  # the desk's 督办 offers the optional time limit
    assert 'id="action-due"' in client.get(f"/desk/cases/{ignored.pk}/").content.decode()

    # Through the API: a time limit belongs to a 督办 only, and lies ahead.
    api = client_of(centre)
    case = fresh(ignored)
    body = {"action": "supervise", "version": case.version, "note": "再督办"}
    past = api.post(
        f"/api/v1/cases/{case.pk}/transitions", {**body, "due_at": "2020-01-01T08:00:00+08:00"}, format="json"
    )
    assert past.status_code == 400 and "due_at" in past.json()["errors"]
    naive = api.post(f"/api/v1/cases/{case.pk}/transitions", {**body, "due_at": "2030-01-01T08:00:00"}, format="json")
    assert naive.status_code == 400 and "due_at" in naive.json()["errors"]
    other = api.post(
        f"/api/v1/cases/{case.pk}/transitions",
        {"action": "comment", "version": case.version, "note": "x", "due_at": "2030-01-01T08:00:00+08:00"},
        format="json",
    )
    assert other.status_code == 400 and "due_at" in other.json()["errors"]
    due = (timezone.now() + timedelta(days=1)).isoformat()
    ok = api.post(f"/api/v1/cases/{case.pk}/transitions", {**body, "due_at": due}, format="json")
    assert ok.status_code == 200, ok.content
    assert CaseEvent.objects.filter(case=case, action="supervise").latest("id").data["due_at"]
