"""Statistics and assessment (/api/v1/stats/…): the indicators on a small known history, who sees what, regions,
periods, and the case counts for the registry's region statistics."""

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from cases import stats
from cases.models import Case, Source
from grids.models import Role
from tests.cases.geo import Geography
from tests.cases.helpers import act, client_of, dispatcher, person, report, resolve

pytestmark = pytest.mark.django_db


def late(case: Case) -> None:
    """Let the running step's deadline pass (the next action ends the step late)."""
    past = timezone.now() - timezone.timedelta(minutes=1)
    Case.objects.filter(pk=case.pk).update(step_deadline_at=past, step_yellow_at=past)


@pytest.fixture
def history(geo: Geography):
    """Three cases: A done on time, B with a late registration, a dispatch to a committee that returned it, a late
    handling and a rework; C open and overdue in the other street (a hotline call)."""
    worker = person(grids=[geo.grids["W1"]], username="wang")
    office_w = dispatcher(geo.offices["W"], username="desk-w")
    office_e = dispatcher(geo.offices["E"], username="desk-e")
    committee = dispatcher(geo.committees["W1"], username="desk-w1")
    centre = dispatcher(geo.centre, username="centre")
    manager = person(Role.MANAGER, unit=geo.centre, username="boss")

    a = report(geo.point("W1", "N"), "SJ0101", reporter=worker)
    for user, action in [(office_w, "register"), (office_w, "dispatch")]:
        a = act(a, user, action)
    a = resolve(a, office_w)
    a = act(a, worker, "verify")
    a = act(a, office_w, "close")

    b = report(geo.point("W1", "S"), "SJ0101", reporter=worker)
    late(b)
    b = act(b, office_w, "register")
    b = act(b, office_w, "dispatch", unit=geo.committees["W1"].pk)
    b = act(b, committee, "return")  # not the committee's: back to the street office
    assert b.responsible_unit == geo.offices["W"]
    b = act(b, office_w, "dispatch")
    late(b)
    b = resolve(b, office_w)
    b = act(b, worker, "rework")
    b = resolve(b, office_w)
    b = act(b, worker, "verify")
    b = act(b, office_w, "close")

    c = report(geo.point("E1", "N"), "SJ0101", source=Source.HOTLINE)
    c = act(c, office_e, "register")
    c = act(c, office_e, "dispatch")
    late(c)
    return {
        "geo": geo,
        "cases": (a, b, c),
        "users": {
            "worker": worker,
            "office_w": office_w,
            "office_e": office_e,
            "committee": committee,
            "centre": centre,
            "manager": manager,
        },
    }


def today() -> str:
    return timezone.localdate().isoformat()


def get(user, path: str, **params):
    response = client_of(user).get(f"/api/v1/stats/{path}", {"from": today(), "to": today(), **params})
    assert response.status_code == 200, response.content
    return response.json()


def indicators(body) -> dict:
    return {item["code"]: item["value"] for item in body["indicators"]}


def row_of(body, code: str, key: str = "unit") -> dict:
    return next(row for row in body["rows"] if row[key]["code"] == code)


def test_summary_counts_reports_registrations_closures_and_lights(history):
    body = get(history["users"]["centre"], "summary")
    assert body["section"] == "summary" and body["period"] == {"from": today(), "to": today()}
    assert body["region"]["level"] == "district" and body["scope"]["cases"] == "all"
    labels = {item["code"]: item["label"] for item in body["indicators"]}
    assert labels["reported"] == "上报数" and labels["on_time_close_rate"] == "按期结案率"
    figures = indicators(body)
    assert figures["reported"] == 3 and figures["valid_reports"] == 3
    assert figures["registered"] == 3 and figures["dispatched"] == 4 and figures["closed"] == 2
    assert figures["closure_rate"] == 66.7
    assert figures["open_now"] == 1 and figures["red_now"] == 1 and figures["green_now"] == 0


def test_units_assigned_on_time_overdue_returned_and_rework(history):
    geo = history["geo"]
    body = get(history["users"]["centre"], "units")
    assert [c["code"] for c in body["columns"]][:4] == [
        "assigned",
        "resolved",
        "resolved_on_time",
        "on_time_resolve_rate",
    ]
    office = row_of(body, geo.offices["W"].code)
    assert office["assigned"] == 2 and office["resolved"] == 2 and office["resolved_on_time"] == 1
    assert office["overdue"] == 1 and office["on_time_resolve_rate"] == 50.0 and office["rework"] == 1
    committee = row_of(body, geo.committees["W1"].code)
    assert committee["assigned"] == 0 and committee["returned"] == 1
    east = row_of(body, geo.offices["E"].code)
    assert east["assigned"] == 1 and east["overdue"] == 1 and east["pending"] == 0
    assert east["on_time_resolve_rate"] == 0.0


def test_dispatchers_on_time_and_accurate(history):
    geo = history["geo"]
    body = get(history["users"]["centre"], "dispatchers")
    west = row_of(body, geo.offices["W"].code)
    assert west["registered"] == 2 and west["registered_on_time"] == 1 and west["on_time_register_rate"] == 50.0
    assert west["dispatched"] == 3 and west["accurate"] == 2 and west["accurate_rate"] == 66.7
    assert west["dispatched_on_time"] == 3  # the late registration made the registration late, not the dispatch


def test_reporters_by_account_with_on_time_verification(history):
    body = get(history["users"]["centre"], "reporters")
    assert body["group_by"] == "account"
    wang = next(r for r in body["rows"] if r["code"] == "wang")
    assert wang["kind"] == "user"
    assert wang["reported"] == 2 and wang["valid_reports"] == 2 and wang["valid_rate"] == 100.0
    assert wang["verifications"] == 3 and wang["verified_on_time"] == 3 and wang["on_time_verify_rate"] == 100.0
    hotline = next(r for r in body["rows"] if r["kind"] == "source" and r["code"] == "hotline")
    assert hotline["reported"] == 1 and hotline["name"] == "12345热线"


def test_steps_average_working_hours_and_on_time_share(history):
    body = get(history["users"]["centre"], "steps")
    rows = {row["step"]: row for row in body["rows"]}
    assert list(rows) == ["register", "dispatch", "process", "verify", "close"]
    assert rows["register"]["count"] == 3 and rows["register"]["on_time"] == 2
    assert rows["process"]["count"] == 4  # A resolved, B returned, B resolved late, B resolved after rework
    assert rows["process"]["avg_hours"] is not None and rows["process"]["avg_hours"] >= 0
    assert rows["close"]["count"] == 2 and rows["close"]["on_time_rate"] == 100.0


def test_trend_has_twelve_months_by_default(history):
    response = client_of(history["users"]["centre"]).get("/api/v1/stats/trend")
    assert response.status_code == 200
    body = response.json()
    assert len(body["rows"]) == 12
    assert body["rows"][-1]["month"] == timezone.localdate().strftime("%Y-%m")
    assert body["rows"][-1]["reported"] == 3 and body["rows"][-1]["closed"] == 2


def test_the_whole_assessment_at_once(history):
    response = client_of(history["users"]["centre"]).get("/api/v1/stats", {"from": today()})
    body = response.json()
    assert set(body) >= {"summary", "reporters", "units", "dispatchers", "steps"}


# --- Who sees what -----------------------------------------------------------------------------------


def test_a_street_dispatcher_counts_only_the_cases_of_their_unit(history):
    body = get(history["users"]["office_e"], "summary")
    assert body["scope"]["cases"] == "visible"
    assert indicators(body)["reported"] == 1
    units = get(history["users"]["office_e"], "units")
    assert [row["unit"]["code"] for row in units["rows"]] == [history["geo"].offices["E"].code]


def test_managers_see_figures_only_never_a_person(history):
    manager = history["users"]["manager"]
    body = get(manager, "reporters")
    assert body["group_by"] == "grid"
    text = str(body)
    assert "wang" not in text and "desk-w" not in text
    grid = next(r for r in body["rows"] if r["kind"] == "grid")
    assert grid["code"] == history["geo"].grids["W1"].code and grid["reported"] == 2
    everything = client_of(manager).get("/api/v1/stats", {"from": today()}).json()
    for user in get_user_model().objects.all():
        assert f"'{user.get_username()}'" not in str(everything)


def test_a_worker_sees_only_their_own_row(history):
    body = get(history["users"]["worker"], "reporters")
    assert body["group_by"] == "own"
    assert [row["code"] for row in body["rows"]] == ["wang"]
    assert indicators(get(history["users"]["worker"], "summary"))["reported"] == 2  # their reports and grid


def test_accounts_without_a_role_and_anonymous_callers_are_refused(history):
    nobody = get_user_model().objects.create_user("nobody", password="x-long-password-1")
    assert client_of(nobody).get("/api/v1/stats/summary").status_code == 403
    assert APIClient().get("/api/v1/stats/summary").status_code in (401, 403)


# --- Regions and periods ------------------------------------------------------------------------------


def test_regions_by_code_or_by_level_and_id(history):
    geo, centre = history["geo"], history["users"]["centre"]
    west = get(centre, "summary", region=geo.streets["W"].code)
    assert west["region"] == {
        "level": "street",
        "id": geo.streets["W"].pk,
        "code": geo.streets["W"].code,
        "name": geo.streets["W"].name,
    }
    assert indicators(west)["reported"] == 2
    grid = get(centre, "summary", level="grid", id=geo.grids["E1"].pk)
    assert indicators(grid)["reported"] == 1
    community = get(centre, "summary", region=geo.communities["W2"].code, level="community")
    assert indicators(community)["reported"] == 0


def test_bad_regions_and_periods(history):
    client = client_of(history["users"]["centre"])
    assert client.get("/api/v1/stats/summary", {"region": "999999999"}).status_code == 404
    response = client.get("/api/v1/stats/summary", {"from": "2026-03-01", "to": "2026-02-01"})
    assert response.status_code == 400 and "to" in response.json()["errors"]
    assert client.get("/api/v1/stats/summary", {"from": "yesterday"}).status_code == 400
    assert client.get("/api/v1/stats/summary", {"id": 3}).status_code == 400
    past = client.get("/api/v1/stats/summary", {"from": "2020-01-01", "to": "2020-01-31"}).json()
    assert indicators(past)["reported"] == 0 and indicators(past)["open_now"] == 1  # open now, whatever the period


# --- For the registry's region statistics ----------------------------------------------------------------


def test_case_counts_for_a_region(history):
    geo = history["geo"]
    west = stats.case_counts_for_region("street", geo.streets["W"].pk)
    assert west["open"] == 0 and west["total"] == 2 and west["closed"] == 2 and west["rejected"] == 0
    assert west["residents"] == 0 and west["per_1000"] is None
    east = stats.case_counts_for_region("community", geo.communities["E1"].pk, people=400)
    assert east["open"] == 1 and east["total"] == 1 and east["residents"] == 400 and east["per_1000"] == 2.5
    whole = stats.case_counts_for_region("district", geo.district.pk)
    assert whole["total"] == 3


def test_odd_input_is_a_400_not_a_500(history):
    client = client_of(history["users"]["centre"])
    for params in (
        {"from": "9999-12-31"},
        {"to": "0001-01-01"},
        {"level": "grid", "id": str(2**70)},
        {"level": "planet", "id": "1"},
    ):
        assert client.get("/api/v1/stats/summary", params).status_code == 400, params
    assert client.get("/api/v1/stats/summary", {"region": "x'; DROP --"}).status_code == 404


def test_a_street_manager_counts_their_street_only(history):
    geo = history["geo"]
    manager = person(Role.MANAGER, username="street-boss")
    manager.staff.street = geo.streets["W"]
    manager.staff.save()
    body = get(manager, "summary")
    assert body["scope"]["cases"] == "visible" and indicators(body)["reported"] == 2
    units = get(manager, "units")
    assert geo.offices["E"].code not in str(units)
