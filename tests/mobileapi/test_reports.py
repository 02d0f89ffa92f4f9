"""A handheld's reports: offline retries never lose or double a case, and bad input changes nothing."""

import io
import uuid
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from cases.models import Case, CaseEvent, Category, State
from cases.services import apply_transition
from grids.coords import wgs84_to_gcj02
from grids.models import Role
from mobileapi.models import CasePhoto
from tests.cases.helpers import resolve
from tests.concurrency import post_at_once
from tests.mobileapi.test_photos import camera_jpeg

URL = "/api/mobile/v1/reports"
LEVEL_1 = "SJ0102"  # 暴露垃圾: solved on the spot by the worker when possible
LEVEL_3 = "BJ0101"  # 上水井盖: the street office's


def report(point, **extra):
    return {
        "client_uuid": str(uuid.uuid4()),
        "category": LEVEL_3,
        "description": "井盖缺失，有行人踏空危险",
        "location": {"type": "Point", "coordinates": [point.x, point.y]},
        "captured_at": (timezone.now() - timedelta(hours=2)).isoformat(),
        **extra,
    }


@pytest.fixture
def worker(client_for, geo):
    client = client_for(Role.WORKER)
    client.staff.grids.set([geo.grids["W1"]])
    return client


def test_a_report_becomes_a_case_routed_to_the_street_office(worker, geo):
    response = worker.post(URL, report(geo.point("W1", "S")), format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["case_no"].startswith("XQ-")
    assert body["state"] == State.REPORTED
    assert body["unit"]["id"] == geo.offices["W"].pk
    assert body["light"] == "green" and body["deadline"]
    case = Case.objects.get(pk=body["id"])
    assert case.reporter == worker.staff.user and case.source == "handheld"
    assert case.captured_at < case.received_at


def test_gcj02_positions_are_converted_once(worker, geo):
    truth = geo.point("E2", "N")
    lon, lat = wgs84_to_gcj02(truth.x, truth.y)
    body = worker.post(
        URL, report(truth, location={"type": "Point", "coordinates": [lon, lat]}, crs="gcj02"), format="json"
    ).json()
    case = Case.objects.get(pk=body["id"])
    assert case.point.distance(truth) < 1e-7
    assert body["unit"]["id"] == geo.offices["E"].pk


def test_retry_returns_the_same_body_and_reuse_is_409(worker, geo):
    payload = report(geo.point("W1", "S"))
    first = worker.post(URL, payload, format="json")
    again = worker.post(URL, payload, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    changed = worker.post(URL, {**payload, "description": "另一件事"}, format="json")
    assert changed.status_code == 409
    assert changed.json()["existing"]["case_no"] == first.json()["case_no"]
    assert Case.objects.count() == 1 and CaseEvent.objects.count() == 1


def test_a_new_report_is_answered_as_it_reads_back_with_few_queries(worker, geo):
    first = worker.post(URL, report(geo.point("E1", "N"), category="SH0201"), format="json").json()
    payload = report(geo.point("E1", "N"), category="SH0201")  # the same place and kind: a likely duplicate
    with CaptureQueriesContext(connection) as queries:
        created = worker.post(URL, payload, format="json")
    assert created.status_code == 201
    body = created.json()
    assert [unit["code"] for unit in body["co_units"]] == ["SO-E"]
    assert body["duplicate_of"] == {"id": first["id"], "case_no": first["case_no"]}
    # Built from what was written; a retry reads the case back: the two bodies are one.
    assert worker.post(URL, payload, format="json").json() == body
    event = CaseEvent.objects.get(case_id=body["id"])
    assert event.unit_id == worker.staff.unit_id and event.actor_id == worker.staff.user_id
    # token with user, staff and unit; category stamp; client UUID; regions; rules; number; duplicates;
    # the case, its co-unit, its event (with the transaction's BEGIN and COMMIT)
    assert len(queries) <= 13, [query["sql"][:80] for query in queries]


def test_a_category_changed_meanwhile_is_seen_by_the_next_report(worker, geo):
    payload = report(geo.point("W1", "S"))
    Category.objects.filter(code=LEVEL_3).update(active=False)
    refused = worker.post(URL, payload, format="json")
    assert refused.status_code == 400 and "category" in refused.json()["errors"]
    Category.objects.filter(code=LEVEL_3).update(active=True)
    leaf = Category.objects.get(code=LEVEL_3)
    Category.objects.create(code="BJ010101", parent=leaf, name_zh="子类", kind=leaf.kind)
    refused = worker.post(URL, payload, format="json")
    assert refused.status_code == 400 and "大类" in str(refused.json()["errors"]["category"])
    Category.objects.filter(code="BJ010101").delete()
    Category.objects.filter(code=LEVEL_3).update(default_level=4)
    assert worker.post(URL, payload, format="json").json()["level"] == 4


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_from_several_connections_make_one_case(client_for, geo):
    worker = client_for(Role.WORKER)
    payload = report(geo.point("W2", "N"))
    statuses = post_at_once(credentials=worker._credentials, url=URL, payload=payload, times=8)
    assert sorted(statuses) == [200] * 7 + [201]
    assert Case.objects.count() == 1
    assert CaseEvent.objects.count() == 1


def _bad(geo):
    inside = geo.point("W1", "S")
    return [
        ({"category": "ZZ9999"}, "category"),
        ({"category": "BJ01"}, "category"),
        ({"category": 12}, "category"),
        ({"client_uuid": "123"}, "client_uuid"),
        ({"description": ""}, "description"),
        ({"description": "x" * 2001}, "description"),
        ({"location": {"type": "Point", "coordinates": [100.0, 30.0]}}, "location"),
        ({"location": {"type": "Point", "coordinates": ["101.6", 26.6]}}, "location"),
        ({"location": {"type": "Point", "coordinates": [181, 26.6]}}, "location"),
        ({"location": {"type": "LineString", "coordinates": [[inside.x, inside.y], [inside.x, inside.y]]}}, "location"),
        ({"location": [inside.x, inside.y]}, "location"),
        ({"crs": "bd09"}, "crs"),
        ({"captured_at": "tomorrow"}, "captured_at"),
        ({"captured_at": (timezone.now() + timedelta(days=1)).isoformat()}, "captured_at"),
        ({"level": 7}, "level"),
        ({"level": "high"}, "level"),
        ({"resolved_on_site": True}, "resolved_on_site"),
    ]


@pytest.mark.parametrize("index", range(17))
def test_bad_input_is_400_with_a_field_message_and_writes_nothing(worker, geo, index):
    change, field = _bad(geo)[index]
    response = worker.post(URL, {**report(geo.point("W1", "S")), **change}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert Case.objects.count() == 0 and CaseEvent.objects.count() == 0


@pytest.mark.parametrize("field", ["client_uuid", "category", "description", "location", "captured_at"])
def test_missing_fields_are_named(worker, geo, field):
    payload = report(geo.point("W1", "S"))
    del payload[field]
    response = worker.post(URL, payload, format="json")
    assert response.status_code == 400 and field in response.json()["errors"]
    assert Case.objects.count() == 0


@pytest.mark.parametrize("body", ["{", "[]", "null", '"text"', '{"client_uuid": }'])
def test_malformed_json_is_400(worker, body):
    response = worker.post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert Case.objects.count() == 0


def test_only_workers_report_and_only_with_a_token(client_for, geo):
    assert APIClient().post(URL, report(geo.point("W1", "S")), format="json").status_code == 401
    manager = client_for(Role.MANAGER)
    assert manager.post(URL, report(geo.point("W1", "S")), format="json").status_code == 403
    assert Case.objects.count() == 0


def test_list_since_shows_the_workers_reports_with_their_state(worker, geo):
    before = timezone.now() - timedelta(seconds=1)
    worker.post(URL, report(geo.point("W1", "S")), format="json")
    worker.post(URL, report(geo.point("W1", "N")), format="json")
    listed = worker.get(URL, {"since": before.isoformat()}).json()
    assert [r["state"] for r in listed] == [State.REPORTED, State.REPORTED]
    assert worker.get(URL, {"since": timezone.now().isoformat()}).json() == []
    assert worker.get(URL, {"since": "last week"}).status_code == 400


def upload(client, case_uuid, data: bytes, kind="before", name="p.jpg"):
    return client.post(
        f"{URL}/{case_uuid}/photos", {"photo": (io.BytesIO(data), name), "kind": kind}, format="multipart"
    )


def test_photos_attach_once_and_are_compared_with_the_report(worker, geo, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    point = geo.point("W1", "S")
    payload = report(point)
    worker.post(URL, payload, format="json")
    near = camera_jpeg(lon=point.x + 0.0005, lat=point.y, when=timezone.localtime().strftime("%Y:%m:%d %H:%M:%S"))
    first = upload(worker, payload["client_uuid"], near)
    assert first.status_code == 201, first.content
    assert first.json()["flagged"] is False and 40 < first.json()["distance_m"] < 60
    assert upload(worker, payload["client_uuid"], near).status_code == 200
    far = camera_jpeg(lon=point.x + 0.01, lat=point.y)
    flagged = upload(worker, payload["client_uuid"], far).json()
    assert flagged["flagged"] is True and flagged["distance_m"] > 200
    assert CasePhoto.objects.count() == 2
    timeline = CaseEvent.objects.filter(case__client_uuid=payload["client_uuid"], action="photo")
    assert timeline.count() == 2
    assert Case.objects.get().version == 1  # a photo does not make a dispatcher's view stale


def test_bad_photos_are_400_and_attach_nothing(worker, geo, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    payload = report(geo.point("W1", "S"))
    worker.post(URL, payload, format="json")
    assert upload(worker, payload["client_uuid"], b"not an image at all").status_code == 400
    assert upload(worker, payload["client_uuid"], camera_jpeg(), kind="during").status_code == 400
    assert upload(worker, uuid.uuid4(), camera_jpeg()).status_code == 404
    assert CasePhoto.objects.count() == 0


def test_oversize_photo_is_refused(worker, geo, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    payload = report(geo.point("W1", "S"))
    worker.post(URL, payload, format="json")
    response = upload(worker, payload["client_uuid"], b"\xff\xd8" + b"\x00" * (12 * 1024 * 1024))
    assert response.status_code in (400, 413) and "photo" in response.json()["errors"]
    assert CasePhoto.objects.count() == 0


def test_level_1_solved_on_the_spot_closes_with_its_after_photo(worker, geo, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    payload = report(geo.point("W1", "S"), category=LEVEL_1, resolved_on_site=True)
    assert worker.post(URL, payload, format="json").json()["state"] == State.REPORTED
    assert upload(worker, payload["client_uuid"], camera_jpeg(), kind="before").json()["case_state"] == State.REPORTED
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "blue").save(buffer, format="PNG")
    after = upload(worker, payload["client_uuid"], buffer.getvalue(), kind="after", name="after.png")
    assert after.json()["case_state"] == State.CLOSED
    case = Case.objects.get(client_uuid=payload["client_uuid"])
    assert case.closed_as == "on_spot"
    assert case.events.filter(action="close_on_spot").get().attachments == [after.json()["sha256"]]


def test_photos_reach_a_report_named_by_its_uuid_in_upper_case(worker, geo, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    point = geo.point("W1", "S")
    payload = report(point)
    worker.post(URL, payload, format="json")
    shouted = str(payload["client_uuid"]).upper()  # as iOS writes it
    response = upload(worker, shouted, camera_jpeg(lon=point.x, lat=point.y))
    assert response.status_code == 201, response.content
    case = Case.objects.get(client_uuid=payload["client_uuid"])
    assert case.photos.count() == 1
    assert upload(worker, shouted.lower(), camera_jpeg(lon=point.x, lat=point.y)).status_code == 200  # the same one
    assert upload(worker, str(uuid.uuid4()).upper(), camera_jpeg()).status_code == 404


def test_the_list_pages_by_cursor_without_losing_reports_changed_in_the_same_instant(worker, geo):
    for _ in range(5):
        worker.post(URL, report(geo.point("W1", "S")), format="json")
    cases = Case.objects.order_by("id")
    same_instant = timezone.now()
    Case.objects.filter(pk__in=[c.pk for c in cases[1:4]]).update(updated_at=same_instant)
    expected = [c.client_uuid for c in Case.objects.order_by("updated_at", "id")]

    seen, url, pages = [], f"{URL}?limit=2", 0
    while url:
        response = worker.get(url)
        assert response.status_code == 200
        seen += [uuid.UUID(r["client_uuid"]) for r in response.json()]
        pages += 1
        link = response.headers.get("Link")
        url = link.split(">")[0].removeprefix("<") if link else None
        if url:
            assert link.endswith('; rel="next"') and "limit=2" in url and "cursor=" in url
    assert seen == expected and pages == 3  # 2 + 2 + 1, the last page without a Link

    # A list that fits in one page says nothing more.
    assert not worker.get(URL, {"limit": 5}).has_header("Link")
    # A report that changes while the worker pages comes again later, never lost.
    first = worker.get(URL, {"limit": 2})
    Case.objects.filter(client_uuid=expected[0]).update(updated_at=timezone.now())
    rest = worker.get(first.headers["Link"].split(">")[0].removeprefix("<"))
    rest_uuids = [uuid.UUID(r["client_uuid"]) for r in rest.json()]
    while rest.has_header("Link"):
        rest = worker.get(rest.headers["Link"].split(">")[0].removeprefix("<"))
        rest_uuids += [uuid.UUID(r["client_uuid"]) for r in rest.json()]
    assert rest_uuids == [*expected[2:], expected[0]]


@pytest.mark.parametrize(
    "params",
    [{"cursor": "not-a-cursor"}, {"cursor": "MjAyNnx4"}, {"limit": 0}, {"limit": 501}, {"cursor": "", "since": "x"}],
)
def test_a_bad_cursor_or_limit_is_a_400(worker, params):
    response = worker.get(URL, params)
    assert response.status_code == 400
    assert set(response.json()["errors"]) & {"cursor", "limit", "since"}


def test_a_cursor_and_since_together_are_a_400(worker, geo):
    for _ in range(2):
        worker.post(URL, report(geo.point("W1", "S")), format="json")
    link = worker.get(URL, {"limit": 1}).headers["Link"]
    cursor = link.split("cursor=")[1].split("&")[0]
    response = worker.get(URL, {"cursor": cursor, "since": timezone.now().isoformat()})
    assert response.status_code == 400 and "cursor" in response.json()["errors"]


def test_the_schema_documents_the_lists_paging(worker):
    schema = worker.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/mobile/v1/reports"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert {"since", "cursor", "limit"} <= set(parameters)
    assert parameters["limit"]["schema"]["maximum"] == 500 and parameters["limit"]["schema"]["default"] == 200
    assert "updated_at" in operation["description"] and "rel=" in operation["description"]
    assert "Link" in operation["responses"]["200"]["headers"]
    photos = schema["paths"]["/api/mobile/v1/reports/{client_uuid}/photos"]["post"]
    [client_uuid] = [p for p in photos["parameters"] if p["name"] == "client_uuid"]
    assert client_uuid["schema"]["format"] == "uuid"


def test_the_list_shows_each_reports_steps_with_units_and_no_notes_or_people(worker, client_for, geo):
    case = Case.objects.get(pk=worker.post(URL, report(geo.point("W1", "S")), format="json").json()["id"])
    other = worker.post(URL, report(geo.point("W1", "N")), format="json").json()
    office = geo.offices["W"]
    desk = client_for(Role.DISPATCHER, unit=office).staff.user
    for action, note in [("register", ""), ("comment", "内部意见：先查管线"), ("dispatch", ""), ("start", "")]:
        case = apply_transition(
            case_id=case.pk,
            actor=desk,
            action=action,
            version=case.version,
            note=note,
            unit=office if action == "dispatch" else None,
        )
    resolved = "已更换井盖，由张师傅完成"
    resolve(case, desk, note=resolved)  # the department's co-handling task released first

    with CaptureQueriesContext(connection) as queries:
        listed = {item["id"]: item for item in worker.get(URL).json()}
    steps = listed[case.pk]["steps"]
    assert [(s["action"], s["label"], s["unit"]) for s in steps[1:]] == [
        ("register", "立案", office.name),
        ("dispatch", "派遣", office.name),
        ("start", "开始处置", office.name),
        ("resolve", "处置反馈", office.name),
    ]  # the comment left the state as it was: not a step
    assert steps[0]["action"] == "report" and steps[0]["label"] == "上报"
    resolved_at = CaseEvent.objects.get(case=case, action="resolve").created_at
    to_the_millisecond = resolved_at.replace(microsecond=resolved_at.microsecond // 1000 * 1000)
    assert datetime.fromisoformat(steps[-1]["at"]) == to_the_millisecond
    assert [s["action"] for s in listed[other["id"]]["steps"]] == ["report"]
    text = str(listed)
    for hidden in ("内部意见", "张师傅", "井盖缺失", desk.get_username(), worker.staff.user.get_username()):
        assert hidden not in text
    assert set(steps[0]) == {"at", "action", "label", "unit"}
    assert sum('"cases_caseevent"' in q["sql"] for q in queries.captured_queries) == 1  # one for the whole page
