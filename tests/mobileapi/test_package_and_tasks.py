"""Offline grid packages and the worker's 核实/核查 tasks."""

import io
import time
import uuid

import pytest
from django.utils import timezone
from PIL import Image

from cases.models import Case, CaseEvent, Category, State
from cases.services import apply_transition, create_case
from grids.models import Role
from mobileapi.models import TaskCompletion
from tests.cases.helpers import resolve
from tests.factories import BuildingFactory, HouseholdFactory, PersonFactory, square

PACKAGE = "/api/mobile/v1/grids/{}/package"


@pytest.fixture
def worker(client_for, geo):
    client = client_for(Role.WORKER)
    client.staff.grids.set([geo.grids["W1"]])
    return client


@pytest.fixture
def building(geo):
    centre = geo.point("W1", "S")
    building = BuildingFactory(footprint=square(centre.x - 0.0002, centre.y - 0.0002, 0.0004))
    household = HouseholdFactory(building=building)
    PersonFactory(household=household, care_tags=["elderly_alone"])
    PersonFactory(household=household)
    return building


def hotline_case(geo, community="W1", half="S", *, category="BJ0101") -> Case:
    case, _ = create_case(
        category=Category.objects.get(code=category),
        point=geo.point(community, half),
        description="市民来电：井盖缺失",
        source="hotline",
    )
    return case


def test_package_holds_the_grid_its_buildings_household_summaries_and_open_cases(worker, geo, building):
    case = hotline_case(geo)
    response = worker.get(PACKAGE.format(geo.grids["W1"].pk))
    assert response.status_code == 200
    package = response.json()
    assert package["grid"]["code"] == geo.grids["W1"].code
    assert package["grid"]["boundary"]["type"] == "MultiPolygon"
    assert [b["code"] for b in package["buildings"]] == [building.code]
    [household] = package["households"]
    assert household["people"] == 2 and household["care_tags"] == {"elderly_alone": 1}
    assert [c["case_no"] for c in package["open_cases"]] == [case.number]
    assert len(package["categories"]) >= 60
    # Summaries only: no names and no ID numbers leave the server in a package.
    text = response.content.decode()
    assert building.households.get().people.first().name not in text
    assert "id_number" not in text


def test_etag_gives_304_until_something_changes(worker, geo, building):
    url = PACKAGE.format(geo.grids["W1"].pk)
    first = worker.get(url)
    unchanged = worker.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert unchanged.status_code == 304 and unchanged["ETag"] == first["ETag"]
    hotline_case(geo)
    changed = worker.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200 and changed["ETag"] != first["ETag"]


def test_since_sends_only_what_changed_and_the_full_id_lists(worker, geo, building):
    url = PACKAGE.format(geo.grids["W1"].pk)
    time.sleep(0.01)
    mark = timezone.now()
    time.sleep(0.01)
    assert worker.get(url, {"since": mark.isoformat()}).json()["buildings"] == []
    building.name = "新名字"
    building.save()
    delta = worker.get(url, {"since": mark.isoformat()}).json()
    assert [b["name"] for b in delta["buildings"]] == ["新名字"]
    assert delta["building_ids"] == [building.pk]
    assert worker.get(url, {"since": "not a time"}).status_code == 400


def test_another_workers_grid_is_403_and_unknown_is_404(worker, geo):
    assert worker.get(PACKAGE.format(geo.grids["E1"].pk)).status_code == 403
    assert worker.get(PACKAGE.format(999999)).status_code == 404


def test_hotline_report_in_my_grid_is_a_confirm_task_that_records_the_visit(worker, geo):
    case = hotline_case(geo)
    hotline_case(geo, "E1")  # not my grid
    tasks = worker.get("/api/mobile/v1/tasks").json()
    assert [(t["id"], t["kind"]) for t in tasks] == [(case.pk, "confirm")]
    body = {"client_uuid": str(uuid.uuid4()), "result": "confirmed", "note": "现场确认井盖缺失"}
    done = worker.post(f"/api/mobile/v1/tasks/{case.pk}/complete", body, format="json")
    assert done.status_code == 201 and done.json()["kind"] == "confirm"
    assert worker.post(f"/api/mobile/v1/tasks/{case.pk}/complete", body, format="json").status_code == 200
    assert CaseEvent.objects.filter(case=case, action="confirm").count() == 1
    assert worker.get("/api/mobile/v1/tasks").json() == []


def test_resolved_case_is_a_check_task_and_fail_sends_it_back_to_work(worker, client_for, geo):
    case = hotline_case(geo)
    desk = client_for(Role.DISPATCHER, unit=geo.offices["W"]).staff.user
    for action in ("register", "dispatch", "start"):
        case = apply_transition(
            case_id=case.pk,
            actor=desk,
            action=action,
            version=case.version,
            unit=geo.offices["W"] if action == "dispatch" else None,
        )
    case = resolve(case, desk)  # the department's co-handling task released first
    assert case.state == State.RESOLVED
    [task] = worker.get("/api/mobile/v1/tasks").json()
    assert task["kind"] == "check"
    photo = io.BytesIO()
    Image.new("RGB", (30, 30), "gray").save(photo, format="PNG")
    uploaded = worker.post(
        "/api/mobile/v1/photos", {"photo": (io.BytesIO(photo.getvalue()), "c.png")}, format="multipart"
    ).json()
    body = {"client_uuid": str(uuid.uuid4()), "result": "fail", "note": "井盖仍未复位", "photos": [uploaded["sha256"]]}
    done = worker.post(f"/api/mobile/v1/tasks/{case.pk}/complete", body, format="json")
    assert done.status_code == 201, done.content
    assert done.json()["case_state"] == State.PROCESSING
    assert CaseEvent.objects.get(case=case, action="rework").attachments == [uploaded["sha256"]]


def test_wrong_result_unknown_photo_and_closed_task_change_nothing(worker, geo):
    case = hotline_case(geo)
    url = f"/api/mobile/v1/tasks/{case.pk}/complete"
    wrong = worker.post(url, {"client_uuid": str(uuid.uuid4()), "result": "pass"}, format="json")
    assert wrong.status_code == 400 and "result" in wrong.json()["errors"]
    unknown = worker.post(
        url, {"client_uuid": str(uuid.uuid4()), "result": "confirmed", "photos": ["0" * 64]}, format="json"
    )
    assert unknown.status_code == 400 and "photos" in unknown.json()["errors"]
    assert TaskCompletion.objects.count() == 0 and not CaseEvent.objects.filter(action="confirm").exists()
    Case.objects.filter(pk=case.pk).update(state=State.REJECTED)
    closed = worker.post(url, {"client_uuid": str(uuid.uuid4()), "result": "confirmed"}, format="json")
    assert closed.status_code == 409
    assert worker.post("/api/mobile/v1/tasks/999999/complete", {}, format="json").status_code == 404


def test_tasks_are_for_workers_only(client_for):
    assert client_for(Role.MANAGER).get("/api/mobile/v1/tasks").status_code == 403


def test_a_package_revalidates_with_its_tag_as_proxies_pass_it_on(worker, geo, building):
    import gzip
    import json

    url = PACKAGE.format(geo.grids["W1"].pk)
    packed = worker.get(url, HTTP_ACCEPT_ENCODING="gzip")
    assert packed["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(packed.content))["grid"]["code"] == geo.grids["W1"].code
    weakened = packed["ETag"]  # compressing weakens the tag: W/"…"
    assert weakened.startswith('W/"')
    for tag in (weakened, weakened.removeprefix("W/"), f'"stale", {weakened}', "*"):
        response = worker.get(url, HTTP_IF_NONE_MATCH=tag)
        assert response.status_code == 304 and response.content == b"", tag
        assert response["Cache-Control"] == "private, no-cache"
    assert worker.get(url, HTTP_IF_NONE_MATCH='"stale"').status_code == 200
