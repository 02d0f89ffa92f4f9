"""The registry's names for the maps (/api/v1/labels, /api/v1/public/labels) and 政务公开's case lookup
(/api/v1/public/cases/{number})."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.maps.conftest import X0, Y0, make_case

pytestmark = pytest.mark.django_db

BBOX = f"{X0 - 0.01},{Y0 - 0.01},{X0 + 0.05},{Y0 + 0.05}"


def client_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def names(response, kind=None) -> set[str]:
    assert response.status_code == 200, response.content
    return {
        f["properties"]["name"] for f in response.json()["features"] if kind is None or f["properties"]["kind"] == kind
    }


def test_names_fit_the_zoom_and_lie_inside_their_area(world):
    client = client_as(world.accounts["dispatcher"])
    assert names(client.get(f"/api/v1/labels?in_bbox={BBOX}&zoom=12")) == {"清香坪街道"}
    assert names(client.get(f"/api/v1/labels?in_bbox={BBOX}&zoom=13")) == {"清香坪街道"}
    at14 = names(client.get(f"/api/v1/labels?in_bbox={BBOX}&zoom=14"))
    assert at14 == {"社区1", "社区2", "清香坪派出所", "清香坪街道办"}
    at16 = client.get(f"/api/v1/labels?in_bbox={BBOX}&zoom=16")
    assert names(at16, "grid") == {"第1网格", "第2网格", "第3网格", "第4网格"}
    assert names(at16, "building") == set()
    at17 = client.get(f"/api/v1/labels?in_bbox={BBOX}&zoom=17")
    assert names(at17, "building") == {"攀钢1栋", "攀钢2栋", "攀钢3栋"}
    # Each at a point inside its own footprint (ST_PointOnSurface), not somewhere near it.
    for feature in at17.json()["features"]:
        if feature["properties"]["kind"] == "building":
            building = next(b for b in world.buildings if b.name == feature["properties"]["name"])
            from django.contrib.gis.geos import Point

            assert building.footprint.contains(Point(*feature["geometry"]["coordinates"], srid=4326))
    # Only what is in view.
    far = f"{X0 + 0.2},{Y0 + 0.2},{X0 + 0.3},{Y0 + 0.3}"
    assert names(client.get(f"/api/v1/labels?in_bbox={far}&zoom=17")) == set()


def test_a_building_without_a_name_is_labelled_by_its_code_and_managers_get_no_buildings(world):
    building = world.buildings[0]
    building.name = ""
    building.save()
    assert building.code in names(client_as(world.accounts["worker"]).get(f"/api/v1/labels?in_bbox={BBOX}&zoom=18"))
    manager = client_as(world.accounts["manager"])
    assert names(manager.get(f"/api/v1/labels?in_bbox={BBOX}&zoom=18"), "building") == set()


def test_public_names_are_regions_only_and_need_no_login(world):
    anonymous = APIClient()
    assert anonymous.get(f"/api/v1/labels?in_bbox={BBOX}&zoom=14").status_code in (401, 403)
    public = names(anonymous.get(f"/api/v1/public/labels?in_bbox={BBOX}&zoom=17"))
    assert public == {"第1网格", "第2网格", "第3网格", "第4网格"}  # no building, no unit


@pytest.mark.parametrize("query", ["in_bbox=1,2,3&zoom=14", f"in_bbox={BBOX}&zoom=99", f"in_bbox={BBOX}", "zoom=3"])
def test_bad_label_queries_are_400_naming_the_field(world, query):
    response = client_as(world.accounts["dispatcher"]).get(f"/api/v1/labels?{query}")
    assert response.status_code == 400
    assert ("in_bbox" in response.content.decode()) or ("zoom" in response.content.decode())


def test_a_case_is_looked_up_by_its_number_with_state_and_dates_only(world):
    now = timezone.now()
    case = make_case(
        world=world,
        lon=X0 + 0.006,
        lat=Y0 + 0.006,
        grid=world.grids[0],
        state="closed",
        closed_at=now - timedelta(hours=2),
        case_deadline=now - timedelta(hours=1),
        days_ago=3,
    )
    response = APIClient().get(f"/api/v1/public/cases/{case.number}")
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "number": case.number,
        "state": "closed",
        "state_label": "已结案",
        "received_on": timezone.localdate(case.received_at).isoformat(),
        "deadline_on": timezone.localdate(case.deadline_at).isoformat(),
        "closed_on": timezone.localdate(case.closed_at).isoformat(),
        "closed_on_time": True,
    }
    text = response.content.decode()
    for secret in (case.description, case.address, world.office.name, str(X0 + 0.006)[:7], world.grids[0].name):
        assert secret not in text
    assert response["Cache-Control"] == "no-store"


def test_unknown_social_and_malformed_numbers(world):
    from cases.models import Category, CategoryKind

    social = Category.objects.filter(kind=CategoryKind.SOCIAL, children__isnull=True).first()
    hidden = make_case(world=world, lon=X0 + 0.006, lat=Y0 + 0.006, category=social)
    client = APIClient()
    assert client.get("/api/v1/public/cases/XQ-NOPE-00001").status_code == 404
    assert client.get(f"/api/v1/public/cases/{hidden.number}").status_code == 404  # 社会治理: not public
    bad = client.get("/api/v1/public/cases/%3Cscript%3E")
    assert bad.status_code == 400 and "number" in bad.content.decode()


def test_lookups_are_rate_limited_per_address(world, settings):
    settings.PUBLIC_LOOKUP_LIMIT = (3, 60)
    case = make_case(world=world, lon=X0 + 0.006, lat=Y0 + 0.006)
    client = APIClient(REMOTE_ADDR="203.0.113.9")
    statuses = [client.get(f"/api/v1/public/cases/{case.number}").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    refused = client.get("/api/v1/public/cases/XQ-NOPE-00001")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    # Another address is not held back by this one.
    assert APIClient(REMOTE_ADDR="203.0.113.10").get(f"/api/v1/public/cases/{case.number}").status_code == 200
