"""一窗受理: POST /api/v1/cases takes desk and hotline cases, validated and routed like a handheld report."""

import re
import uuid

import pytest
from django.db import connection, transaction
from django.utils import timezone

from cases import selectors, services
from cases.models import Case, CaseEvent, Category
from grids.coords import wgs84_to_gcj02
from grids.models import Role
from tests.cases.geo import Geography
from tests.cases.helpers import client_of, dispatcher, person, report, uploaded_photo

pytestmark = pytest.mark.django_db


def payload(geo: Geography, **overrides) -> dict:
    point = geo.point("E1", "N")
    body = {
        "category": "SH0201",
        "location": {"type": "Point", "coordinates": [point.x, point.y]},
        "description": "楼道有可疑人员徘徊",
        "address": "东街道E1社区3栋",
    }
    body.update(overrides)
    return body


def test_desk_intake_routes_and_numbers_the_case(geo: Geography):
    desk = dispatcher(geo.centre)
    response = client_of(desk).post("/api/v1/cases", payload(geo), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    today = timezone.localdate().strftime("%Y%m%d")
    assert re.fullmatch(rf"XQ-{today}-\d{{5}}", body["number"])
    assert body["state"] == "reported" and body["version"] == 1 and body["source"] == "desk"
    assert body["responsible_unit"]["code"] == "PS-N"
    assert [unit["code"] for unit in body["co_units"]] == ["SO-E"]
    assert body["grid"]["code"] == geo.grids["E1"].code and body["street"]["code"] == geo.streets["E"].code
    assert body["routing_reason"]["responsible"]["rule"]
    assert body["level"] == Category.objects.get(code="SH0201").default_level
    assert body["reporter"] == desk.username
    assert body["light"] == "green" and body["step"] == "register"
    assert body["events"][0]["action"] == "report" and body["events"][0]["actor"] == desk.username
    assert "register" in body["allowed_actions"]


def test_hotline_cases_have_no_reporter_account_but_keep_the_ticket(geo: Geography):
    desk = dispatcher(geo.centre)
    body = payload(geo, source="hotline", external_ref="12345-20260316-0088", level=3)
    response = client_of(desk).post("/api/v1/cases", body, format="json")
    assert response.status_code == 201
    assert response.json()["reporter"] is None and response.json()["external_ref"] == "12345-20260316-0088"


def test_lon_lat_in_gcj02_are_converted_once_at_the_edge(geo: Geography):
    lon, lat = 101.6195, 26.59  # just inside the west street in WGS84
    gcj_lon, gcj_lat = wgs84_to_gcj02(lon, lat)
    body = payload(geo, category="SJ0101", crs="gcj02", lon=gcj_lon, lat=gcj_lat)
    del body["location"]
    response = client_of(dispatcher(geo.centre)).post("/api/v1/cases", body, format="json")
    assert response.status_code == 201
    x, y = response.json()["location"]["coordinates"]
    assert abs(x - lon) < 1e-6 and abs(y - lat) < 1e-6
    assert response.json()["responsible_unit"]["code"] == "SO-W"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"category": "XX01"}, "category"),
        ({"category": "SH02"}, "category"),
        ({"category": None}, "category"),
        ({"location": {"type": "LineString", "coordinates": [[1, 2], [3, 4]]}}, "location"),
        ({"location": {"type": "Point", "coordinates": [101.6, "north"]}}, "location"),
        ({"location": {"type": "Point", "coordinates": [181, 26.6]}}, "location"),
        ({"location": None}, "location"),
        ({"location": {"type": "Point", "coordinates": [116.39, 39.9]}}, "location"),  # Beijing: no district
        ({"description": ""}, "description"),
        ({"description": "x" * 2001}, "description"),
        ({"level": 5}, "level"),
        ({"crs": "bd09"}, "crs"),
        ({"source": "handheld"}, "source"),
        ({"captured_at": "2099-01-01T00:00:00+08:00"}, "captured_at"),
        ({"captured_at": "yesterday"}, "captured_at"),
        ({"client_uuid": "not-a-uuid"}, "client_uuid"),
        ({"attachments": ["x" * 300]}, "attachments"),
        ({"lon": 101.61}, "location"),
    ],
)
def test_bad_input_is_400_field_by_field_and_writes_nothing(geo: Geography, overrides, field):
    body = payload(geo, **overrides)
    body = {key: value for key, value in body.items() if value is not None}
    response = client_of(dispatcher(geo.centre)).post("/api/v1/cases", body, format="json")
    assert response.status_code == 400, response.content
    named = {key.split(".")[0] for key in response.json()["errors"]}  # a list item's field: `attachments.0`
    assert field in named, response.json()
    assert not Case.objects.exists() and not CaseEvent.objects.exists()


def test_lat_without_lon_names_the_missing_field(geo: Geography):
    body = payload(geo, lat=26.6)
    del body["location"]
    response = client_of(dispatcher(geo.centre)).post("/api/v1/cases", body, format="json")
    assert response.status_code == 400 and "lon" in response.json()["errors"]


def test_managers_do_not_take_cases(geo: Geography):
    response = client_of(person(Role.MANAGER)).post("/api/v1/cases", payload(geo), format="json")
    assert response.status_code == 403
    assert not Case.objects.exists()


def test_same_client_uuid_and_content_returns_the_same_case(geo: Geography):
    desk = dispatcher(geo.centre)
    key = str(uuid.uuid4())
    first = client_of(desk).post("/api/v1/cases", payload(geo, client_uuid=key), format="json")
    again = client_of(desk).post("/api/v1/cases", payload(geo, client_uuid=key), format="json")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["number"] == first.json()["number"]
    assert Case.objects.count() == 1 and CaseEvent.objects.count() == 1
    changed = client_of(desk).post(
        "/api/v1/cases", payload(geo, client_uuid=key, description="另一件事"), format="json"
    )
    assert changed.status_code == 409 and changed.json()["reason"] == "client_uuid_reused"
    assert changed.json()["case"]["number"] == first.json()["number"]
    assert Case.objects.count() == 1


def test_create_case_service_is_idempotent_for_the_handheld(geo: Geography):
    worker = person(grids=[geo.grids["W1"]])
    key = uuid.uuid4()
    captured = timezone.now() - timezone.timedelta(hours=3)
    kwargs = {
        "category": Category.objects.get(code="SJ0102"),
        "point": geo.point("W1", "N"),
        "description": "垃圾堆放",
        "source": "handheld",
        "reporter": worker,
        "client_uuid": key,
        "captured_at": captured,
        "attachments": [uploaded_photo(worker)],
    }
    case, created = services.create_case(**kwargs)
    again, created_again = services.create_case(**kwargs)
    assert created and not created_again and again.pk == case.pk
    assert case.captured_at == captured and case.received_at > captured
    with pytest.raises(services.IntakeConflict):
        services.create_case(**{**kwargs, "attachments": [uploaded_photo(worker)]})


def test_case_numbers_count_up_per_day(geo: Geography):
    desk = client_of(dispatcher(geo.centre))
    numbers = [desk.post("/api/v1/cases", payload(geo), format="json").json()["number"] for _ in range(3)]
    sequence = [int(number.rsplit("-", 1)[1]) for number in numbers]
    assert sequence == [sequence[0], sequence[0] + 1, sequence[0] + 2]
    yesterday = timezone.now() - timezone.timedelta(days=1)  # a report received yesterday starts that day's count
    late = [report(geo.point("W1", "N"), received_at=yesterday).number for _ in range(2)]
    assert [number[-6:] for number in late] == ["-00001", "-00002"]
    assert late[0][3:11] == f"{timezone.localtime(yesterday):%Y%m%d}"


def test_intake_numbers_continue_the_days_counter_past_five_digits(geo: Geography):
    from cases.models import CaseCounter

    case = report(geo.point("W1", "N"))
    day = timezone.localtime(case.received_at).date()
    assert case.number == Case.objects.get(pk=case.pk).number
    assert report(geo.point("W1", "N")).number == f"XQ-{day:%Y%m%d}-{int(case.number[-5:]) + 1:05d}"
    CaseCounter.objects.filter(day=day).update(n=99_999)
    assert report(geo.point("W1", "N")).number == f"XQ-{day:%Y%m%d}-100000"


def test_a_retry_that_loses_the_race_inside_a_callers_transaction_answers_as_a_retry(geo: Geography, monkeypatch):
    worker = person(grids=[geo.grids["W1"]])
    key = uuid.uuid4()
    first = report(geo.point("W1", "N"), reporter=worker, client_uuid=key)
    looks = []

    def late(client_uuid, real=selectors.intake_of):
        # The first look misses the case, as if the other request wrote it between this one's look and its insert.
        looks.append(client_uuid)
        return None if len(looks) == 1 else real(client_uuid)

    monkeypatch.setattr(selectors, "intake_of", late)
    with transaction.atomic():
        again = report(geo.point("W1", "N"), reporter=worker, client_uuid=key)
        assert again.pk == first.pk and len(looks) == 2
        assert Case.objects.count() == 1  # the caller's transaction is still usable after the refused insert
    assert CaseEvent.objects.filter(case=first).count() == 1
    # The refused insert took no number: the day's numbers have no gap.
    assert report(geo.point("W1", "N")).number[-5:] == f"{int(first.number[-5:]) + 1:05d}"


@pytest.mark.django_db(transaction=True)
def test_prepared_lookups_survive_a_new_connection():
    from tests.cases.geo import build_geography

    geo = build_geography()
    point = geo.point("W1", "N")
    before = selectors.regions_at(point=point)
    connection.close()  # the next query opens a new connection, with nothing prepared on it
    assert selectors.regions_at(point=point) == before
