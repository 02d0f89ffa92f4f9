"""Drill-down 区 → 街道 → 社区 → 网格 on the dashboard's APIs: every figure follows `region=`, managers stay inside
their own region, and the current month is marked partial."""

import csv
import io

import pytest
from django.contrib.gis.geos import MultiPolygon
from django.utils import timezone

from grids.models import Role
from tests.factories import CommunityFactory, StaffFactory, StreetFactory, UserFactory, rect
from tests.maps.conftest import X0, Y0, report_and_register
from tests.maps.test_api import BBOX, client_as

pytestmark = pytest.mark.django_db


def summary(client, **params):
    response = client.get("/api/v1/dashboard/summary", params)
    assert response.status_code == 200, response.content
    return response.json()


def test_every_figure_follows_the_region_down_to_the_grid(world_with_cases):
    world = world_with_cases
    manager = client_as(world.accounts["manager"])
    top = summary(manager)
    assert top["total"] == 5 and top["region"]["level"] == "all" and top["region"]["child_level"] == "street"
    assert {c["name"] for c in top["communities"]} == {"社区1", "社区2"}
    assert sorted(g["received"] for g in top["grids"]) == [0, 0, 2, 3]

    street = summary(manager, region=world.street.code)
    assert street["total"] == 5 and street["region"]["child_level"] == "community"
    assert {c["name"]: c["received"] for c in street["communities"]} == {"社区1": 3, "社区2": 2}

    community = summary(manager, region=world.communities[0].code)
    assert community["total"] == 3
    assert community["lights"] == {"green": 1, "yellow": 1, "red": 1}
    assert [step["name"] for step in community["region"]["path"]] == ["清香坪街道", "社区1"]
    assert {g["name"]: g["received"] for g in community["grids"]} == {"第1网格": 3, "第2网格": 0}
    assert [c["name"] for c in community["communities"]] == ["社区1"]

    grid = summary(manager, region=world.grids[3].code)
    assert grid["total"] == 2 and grid["region"]["level"] == "grid" and grid["region"]["child_level"] is None
    assert [s["name"] for s in grid["region"]["path"]] == ["清香坪街道", "社区2", "第4网格"]
    assert (grid["grids"][0]["closed"], grid["grids"][0]["closed_on_time"]) == (2, 1)

    hexes = manager.get(f"/api/v1/dashboard/hexbins?in_bbox={BBOX}&zoom=13&region={world.grids[3].code}").json()
    assert sum(f["properties"]["count"] for f in hexes["features"]) == 2


def test_export_follows_the_region(world_with_cases):
    world = world_with_cases
    manager = client_as(world.accounts["manager"])
    response = manager.get(f"/api/v1/dashboard/export.csv?in_bbox={BBOX}&zoom=13&region={world.grids[0].code}")
    assert response.status_code == 200
    assert world.grids[0].code in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert sum(int(row[3]) for row in rows if row[0] == "hexagon") == 3
    assert ["region", world.grids[0].code, "第1网格", "3"] == rows[[r[0] for r in rows].index("region")][:4]
    assert not [row for row in rows if row[0] in ("street", "community")]  # nothing below a grid but itself


def test_unknown_regions_are_a_400_naming_the_field(world_with_cases):
    manager = client_as(world_with_cases.accounts["manager"])
    for code in ("510403999", "abc", "1234567"):
        response = manager.get("/api/v1/dashboard/summary", {"region": code})
        assert response.status_code == 400, code
        assert "region" in response.content.decode()


def test_managers_cannot_drill_outside_their_region(world_with_cases):
    world = world_with_cases
    other = StreetFactory(name="玉泉街道", boundary=MultiPolygon(rect(X0 + 0.05, Y0, 0.02, 0.02), srid=4326))
    elsewhere = CommunityFactory(street=other, boundary=other.boundary)
    street_manager = client_as(
        StaffFactory(user=UserFactory(username="t-street-manager"), role=Role.MANAGER, street=world.street).user
    )
    community_manager = client_as(
        StaffFactory(
            user=UserFactory(username="t-community-manager"), role=Role.MANAGER, community=world.communities[1]
        ).user
    )
    # Their own region by default, with the path starting there.
    own = summary(street_manager)
    assert own["region"]["code"] == world.street.code and own["total"] == 5
    assert summary(community_manager)["total"] == 2
    # Down is allowed, up and sideways are not.
    assert summary(street_manager, region=world.grids[0].code)["total"] == 3
    assert summary(community_manager, region=world.grids[3].code)["total"] == 2
    for client, code in (
        (street_manager, other.code),
        (street_manager, elsewhere.code),
        (community_manager, world.street.code),
        (community_manager, world.communities[0].code),
        (community_manager, world.grids[0].code),
    ):
        for path in ("summary?", f"hexbins?in_bbox={BBOX}&zoom=13&", f"export.csv?in_bbox={BBOX}&zoom=13&"):
            assert client.get(f"/api/v1/dashboard/{path}region={code}").status_code == 403, (path, code)


def test_grid_workers_ranked_by_reports_and_verifications(world_with_cases):
    from cases.models import CaseEvent

    world = world_with_cases
    case = report_and_register(world=world, lon=X0 + 0.005, lat=Y0 + 0.005)
    CaseEvent.objects.create(
        case=case, actor=world.accounts["worker"], action="verify", data={"step_ended": {"on_time": True}}
    )
    manager = client_as(world.accounts["manager"])
    workers = {w["code"]: w for w in summary(manager, region=world.grids[0].code)["workers"]}
    worker = workers["t-worker"]
    assert (worker["reports"], worker["valid_reports"], worker["verifications"], worker["verified_on_time"]) == (
        1,
        1,
        1,
        1,
    )
    # In a grid of another community the worker has done nothing and has no grid: not ranked there.
    assert "t-worker" not in {w["code"] for w in summary(manager, region=world.grids[3].code)["workers"]}


def test_the_current_month_is_marked_partial(world_with_cases):
    manager = client_as(world_with_cases.accounts["manager"])
    months = {m["month"]: m["partial"] for m in summary(manager)["months"]}
    this_month = timezone.localdate().strftime("%Y-%m")
    assert months[this_month] is True
    assert [partial for month, partial in months.items() if month != this_month] == [False] * (len(months) - 1)


def test_assessment_per_region_unit_and_month_with_partial_month_and_export(world_with_cases):
    from openpyxl import load_workbook

    world = world_with_cases
    manager = client_as(world.accounts["manager"])
    response = manager.get("/api/v1/dashboard/assessment", {"region": world.street.code})
    assert response.status_code == 200, response.content
    data = response.json()
    overall = {i["code"]: i for i in data["overall"]}
    assert {"valid_rate", "on_time_resolve_rate", "rework_rate", "closure_rate", "on_time_close_rate"} <= set(overall)
    assert overall["rework_rate"]["label"] == "返工率" and overall["reported"]["value"] == 5
    # 结案率 of the cases received in the period: 2 closed of 5 (none rejected or merged).
    assert overall["closure_rate"]["value"] == 40.0
    assert {r["name"]: r["reported"] for r in data["regions"]} == {"社区1": 3, "社区2": 2}
    assert len(data["months"]) == 12
    this_month = timezone.localdate().strftime("%Y-%m")
    assert [m["month"] for m in data["months"] if m["partial"]] == [this_month]
    # The stats API marks it too.
    trend = manager.get("/api/v1/stats/trend", {"region": world.street.code}).json()
    assert [row["month"] for row in trend["rows"] if row["partial"]] == [this_month]

    grid = manager.get("/api/v1/dashboard/assessment", {"region": world.grids[3].code}).json()
    assert grid["regions"] == [] and {i["code"]: i["value"] for i in grid["overall"]}["reported"] == 2

    text = manager.get(f"/api/v1/dashboard/assessment.csv?region={world.communities[0].code}").content.decode(
        "utf-8-sig"
    )
    rows = list(csv.reader(io.StringIO(text)))
    assert ["# regions"] in rows and ["# units"] in rows and ["# months"] in rows
    assert any(row[:2] == [world.grids[0].code, "第1网格"] and row[2] == "3" for row in rows)
    assert any(row[:2] == [this_month, "本月至今"] for row in rows)
    book = load_workbook(io.BytesIO(manager.get("/api/v1/dashboard/assessment.xlsx").content))
    assert book.sheetnames == ["regions", "units", "months"]
    assert "返工率" in [cell.value for cell in book["regions"][1]]


def test_assessment_refuses_regions_outside_the_managers_own(world_with_cases):
    world = world_with_cases
    community_manager = client_as(
        StaffFactory(
            user=UserFactory(username="t-community-manager"), role=Role.MANAGER, community=world.communities[1]
        ).user
    )
    own = community_manager.get("/api/v1/dashboard/assessment").json()
    assert own["region"]["code"] == world.communities[1].code
    for path in ("assessment", "assessment.csv"):
        assert community_manager.get(f"/api/v1/dashboard/{path}?region={world.street.code}").status_code == 403
    assert community_manager.get("/api/v1/dashboard/assessment?region=12").status_code == 400
