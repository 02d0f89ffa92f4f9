"""One time format (README, "Interface conventions"): every interface writes an instant as RFC 3339 at +08:00
with exactly three fractional digits, the same text for the same instant wherever it is read; an instant sent
without an offset is a 400 naming the field, and nothing is written."""

import csv
import io
import json
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta, timezone

import openpyxl
import pytest
from django.test import Client
from django.utils import timezone as dj_timezone
from rest_framework import serializers

from cases.models import Case, CaseEvent, Category
from cases.services import create_case
from grids.models import Building, Role
from mobileapi.models import AccessToken, Patrol
from tests import live
from tests.factories import BuildingFactory, StaffFactory, UserFactory, square

RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+08:00$")
CST = timezone(timedelta(hours=8))


def written(moment: datetime) -> str:
    """How the interfaces must write `moment` (milliseconds truncated), worked out here without the project's code."""
    local = moment.astimezone(CST)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}+08:00"


def token_for(user) -> str:
    _, key = AccessToken.issue(user=user, device_id="times", lifetime=timedelta(hours=1))
    return key


def fetch(base: str, path: str, key: str | None = None) -> bytes:
    headers = {"Authorization": f"Token {key}"} if key else {}
    with urllib.request.urlopen(urllib.request.Request(base + path, headers=headers), timeout=60) as response:
        assert response.status == 200, path
        return response.read()


def send(base: str, path: str, key: str, body: dict) -> tuple[int, str]:
    request = urllib.request.Request(
        base + path,
        json.dumps(body).encode(),
        {"Authorization": f"Token {key}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.django_db(transaction=True)
def test_every_interface_writes_the_same_instant_as_the_same_rfc3339_text(geo):
    admin = UserFactory(username="times-admin", is_superuser=True, is_staff=True)
    StaffFactory(user=admin, role=Role.ADMIN)
    worker = StaffFactory(role=Role.WORKER, grids=[geo.grids["W1"]])
    admin_key, worker_key = token_for(admin), token_for(worker.user)
    point = geo.point("W1", "S")
    BuildingFactory(footprint=square(point.x - 0.0002, point.y - 0.0002, 0.0004))

    with live.gunicorn(db_url=live.database_url(), workers=1) as base:
        # The phone sends its capture time as JavaScript's toISOString() writes it: UTC with `Z`.
        captured = (dj_timezone.now() - timedelta(hours=2)).replace(microsecond=250_000)
        status, text = send(
            base,
            "/api/mobile/v1/reports",
            worker_key,
            {
                "client_uuid": str(uuid.uuid4()),
                "category": "BJ0101",
                "description": "井盖缺失",
                "location": {"type": "Point", "coordinates": [point.x, point.y]},
                "captured_at": captured.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            },
        )
        assert status == 201, text
        case = Case.objects.get()
        # A receipt time whose microseconds would round up into the next second if anything rounded.
        received = (dj_timezone.now() - timedelta(hours=1)).replace(microsecond=999_999)
        Case.objects.filter(pk=case.pk).update(received_at=received)
        event = CaseEvent.objects.get(case=case)
        expected, expected_captured, expected_event = written(received), written(captured), written(event.created_at)

        seen: dict[str, str] = {}
        cases_list = json.loads(fetch(base, "/api/v1/cases", admin_key))
        [feature] = cases_list["features"]
        seen["cases list"] = feature["properties"]["received_at"]
        assert RFC3339_MS.match(feature["properties"]["deadline_at"])
        assert RFC3339_MS.match(feature["properties"]["step_deadline_at"])

        detail = json.loads(fetch(base, f"/api/v1/cases/{case.pk}", admin_key))
        seen["case detail"] = detail["received_at"]
        assert detail["captured_at"] == expected_captured
        assert detail["events"][0]["created_at"] == expected_event
        assert detail["deadline_at"] == feature["properties"]["deadline_at"]
        assert detail["step_deadline_at"] == feature["properties"]["step_deadline_at"]
        # What the event records of the step it starts and of the capture is written the same way.
        assert detail["events"][0]["data"]["captured_at"] == expected_captured
        assert detail["events"][0]["data"]["step_started"]["deadline_at"] == detail["step_deadline_at"]

        package = json.loads(fetch(base, f"/api/mobile/v1/grids/{geo.grids['W1'].pk}/package", worker_key))
        [open_case] = package["open_cases"]
        seen["package open_cases"] = open_case["received_at"]
        assert open_case["step_deadline"] == detail["step_deadline_at"]

        [report] = json.loads(fetch(base, "/api/mobile/v1/reports", worker_key))
        seen["handheld reports"] = report["received_at"]
        assert report["captured_at"] == expected_captured
        assert report["steps"][0]["at"] == expected_event
        assert RFC3339_MS.match(report["updated_at"])

        rows = list(csv.DictReader(io.StringIO(fetch(base, "/api/v1/export/cases.csv", admin_key).decode("utf-8-sig"))))
        seen["CSV export"] = rows[0]["received_at"]
        assert rows[0]["captured_at"] == expected_captured

        book = openpyxl.load_workbook(io.BytesIO(fetch(base, "/api/v1/export/cases.xlsx", admin_key)), read_only=True)
        header, *cells = list(book["cases"].iter_rows(values_only=True))
        seen["xlsx export"] = dict(zip(header, cells[0], strict=True))["received_at"]
        header, *cells = list(book["case_events"].iter_rows(values_only=True))
        assert dict(zip(header, cells[0], strict=True))["time"] == expected_event

        geojson = json.loads(fetch(base, "/api/v1/export/cases.geojson", admin_key))
        seen["GeoJSON export"] = geojson["features"][0]["properties"]["received_at"]

        [request] = json.loads(fetch(base, "/open311/v2/requests.json"))
        seen["Open311 JSON"] = request["requested_datetime"]
        assert RFC3339_MS.match(request["updated_datetime"]) and RFC3339_MS.match(request["expected_datetime"])
        xml = fetch(base, f"/open311/v2/requests/{case.number}.xml").decode()
        seen["Open311 XML"] = re.search(r"<requested_datetime>([^<]+)</requested_datetime>", xml).group(1)

        # OGC API – Features: buildings carry their change time, the page its time stamp.
        items = json.loads(fetch(base, "/ogc/collections/buildings/items?f=json", admin_key))
        assert RFC3339_MS.match(items["timeStamp"])
        building = Building.objects.get()
        assert items["features"][0]["properties"]["updated_at"] == written(building.updated_at)

    assert seen == dict.fromkeys(seen, expected), seen
    assert all(RFC3339_MS.match(value) for value in seen.values())


@pytest.mark.django_db
def test_the_desk_page_draws_its_timeline_from_the_same_text(geo):
    admin = UserFactory(username="times-desk", is_superuser=True, is_staff=True)
    StaffFactory(user=admin, role=Role.ADMIN)
    case, _ = create_case(
        category=Category.objects.get(code="BJ0101"),
        point=geo.point("E1", "N"),
        description="井盖缺失",
        source="hotline",
    )
    client = Client()
    client.force_login(admin)
    page = client.get(f"/desk/cases/{case.pk}/")
    assert page.status_code == 200
    config = json.loads(re.search(rb'id="page-config" type="application/json">(.*?)</script>', page.content).group(1))
    assert config["chart"]["start"] == written(case.received_at)
    assert all(RFC3339_MS.match(s["start"]) and RFC3339_MS.match(s["end"]) for s in config["chart"]["segments"])


OFFSET_LESS = "2026-12-03T10:00:00"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path, role, body, field",
    [
        (
            "/api/mobile/v1/reports",
            Role.WORKER,
            lambda geo: {
                "client_uuid": str(uuid.uuid4()),
                "category": "BJ0101",
                "description": "井盖缺失",
                "location": {"type": "Point", "coordinates": list(geo.point("W1", "S").coords)},
                "captured_at": (dj_timezone.localtime() - timedelta(hours=1)).replace(tzinfo=None).isoformat(),
            },
            "captured_at",
        ),
        (
            "/api/v1/cases",
            Role.DISPATCHER,
            lambda geo: {
                "category": "BJ0101",
                "description": "井盖缺失",
                "location": {"type": "Point", "coordinates": list(geo.point("W1", "S").coords)},
                "captured_at": (dj_timezone.localtime() - timedelta(hours=1)).replace(tzinfo=None).isoformat(),
            },
            "captured_at",
        ),
        (
            "/api/mobile/v1/patrols",
            Role.WORKER,
            lambda geo: {
                "client_uuid": str(uuid.uuid4()),
                "track": {
                    "type": "LineString",
                    "coordinates": [list(geo.point("W1", "S").coords), list(geo.point("W1", "N").coords)],
                },
                "started_at": (dj_timezone.now() - timedelta(hours=1)).isoformat(),
                "ended_at": (dj_timezone.localtime() - timedelta(minutes=30)).replace(tzinfo=None).isoformat(),
            },
            "ended_at",
        ),
    ],
)
def test_a_time_without_an_offset_is_a_400_naming_the_field_and_writes_nothing(
    client_for, geo, path, role, body, field
):
    client = client_for(role, unit=geo.centre) if role == Role.DISPATCHER else client_for(role)
    if role == Role.WORKER:
        client.staff.grids.set([geo.grids["W1"]])
    response = client.post(path, body(geo), format="json")
    assert response.status_code == 400, response.content
    assert field in response.content.decode()
    assert Case.objects.count() == 0 and CaseEvent.objects.count() == 0 and Patrol.objects.count() == 0
    # The same body with the offset is taken.
    fixed = body(geo)
    fixed[field] = fixed[field] + "+08:00"
    assert client.post(path, fixed, format="json").status_code == 201


@pytest.mark.django_db
def test_reads_take_a_time_with_an_offset_and_refuse_one_without(client_for, geo):
    worker = client_for(Role.WORKER)
    assert worker.get("/api/mobile/v1/reports", {"since": "2026-12-03T02:00:00Z"}).status_code == 200
    refused = worker.get("/api/mobile/v1/reports", {"since": OFFSET_LESS})
    assert refused.status_code == 400 and "since" in refused.content.decode()
    open311 = Client()
    assert open311.get("/open311/v2/requests.json", {"start_date": "2026-12-01T00:00:00+08:00"}).status_code == 200
    refused = open311.get("/open311/v2/requests.json", {"start_date": OFFSET_LESS})
    assert refused.status_code == 400 and "start_date" in refused.content.decode()
    # A date alone stays a date: the whole local day.
    assert open311.get("/open311/v2/requests.json", {"start_date": "2026-12-01"}).status_code == 200


def test_python_and_sql_write_the_same_text_for_the_same_instant(db):
    from django.db import connection

    from gridmgmt import times

    moments = [
        datetime(2026, 12, 3, 7, 4, 5, 123_999, tzinfo=UTC),
        datetime(2026, 12, 31, 16, 0, 0, 0, tzinfo=UTC),  # local New Year
        datetime(1988, 6, 3, 7, 4, 5, 999_600, tzinfo=UTC),  # Shanghai kept summer time then; the offset stays +08:00
    ]
    with connection.cursor() as cursor:
        for moment in moments:
            cursor.execute(f"SELECT {times.sql('%s')}", [moment])
            assert cursor.fetchone()[0] == times.rfc3339(moment) == written(moment)


def test_every_date_time_field_of_the_api_is_the_one_that_writes_rfc3339():
    """A serializer declared later with DRF's own DateTimeField would write microseconds and take naive times."""
    import importlib

    from gridmgmt import times

    for module in ("cases.serializers", "grids.serializers", "mobileapi.serializers"):
        importlib.import_module(module)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    project = ("cases.", "grids.", "maps.", "mobileapi.", "ogc.", "audit.", "gridmgmt.", "handheld.")
    offenders = []
    for serializer in subclasses(serializers.Serializer):
        if not serializer.__module__.startswith(project):
            continue
        for name, field in serializer._declared_fields.items():
            if isinstance(field, serializers.DateTimeField) and not isinstance(field, times.DateTimeField):
                offenders.append(f"{serializer.__module__}.{serializer.__name__}.{name}")
        if issubclass(serializer, serializers.ModelSerializer) and not issubclass(serializer, times.ModelSerializer):
            offenders.append(f"{serializer.__module__}.{serializer.__name__} (use gridmgmt.times.ModelSerializer)")
    assert offenders == []
