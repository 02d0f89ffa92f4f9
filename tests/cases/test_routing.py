import json

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.models import Category, CategoryKind, RoutingRule, RuleRole, UnitArea
from cases.routing import RoutingError, resolve
from grids.coords import wgs84_to_gcj02
from grids.models import UnitType
from tests.cases.geo import Geography, multi

pytestmark = pytest.mark.django_db

SUSPICIOUS = "SH0201"  # 治安隐患/可疑人员物品: police station, with the street office co-handling
MASS_INCIDENT = "SH0203"  # 治安隐患/群体性事件苗头: street office, with the police station co-handling
GARBAGE = "SJ0102"  # 暴露垃圾: community committee
ILLEGAL_BUILDING = "SJ0101"  # 私搭乱建: street office, department co-handling


def cat(code: str) -> Category:
    return Category.objects.get(code=code)


def test_security_risk_routes_to_both_layers_at_once(geo: Geography):
    for community, half, point in geo.all_quadrants():
        office, station = geo.offices[geo.street_of(community)], geo.police[half]
        route = resolve(point=point, category=cat(SUSPICIOUS))
        assert route.responsible == station, (community, half)
        assert route.co_units == [office], (community, half)
        route = resolve(point=point, category=cat(MASS_INCIDENT))
        assert route.responsible == office, (community, half)
        assert route.co_units == [station], (community, half)


def test_points_route_to_their_street_office_and_community(geo: Geography):
    for community, _half, point in geo.all_quadrants():
        assert resolve(point=point, category=cat(ILLEGAL_BUILDING)).responsible == geo.offices[community[0]]
        assert resolve(point=point, category=cat(ILLEGAL_BUILDING)).co_units == [geo.department]
        assert resolve(point=point, category=cat(GARBAGE)).responsible == geo.committees[community]


def test_routing_reason_says_which_rule_and_jurisdiction(geo: Geography):
    route = resolve(point=geo.point("E2", "N"), category=cat(SUSPICIOUS))
    reason = route.reason
    assert reason["category"] == SUSPICIOUS and reason["fallback"] is False
    rule = RoutingRule.objects.get(pk=reason["responsible"]["rule"])
    assert rule.category.code == SUSPICIOUS and rule.unit_type == UnitType.POLICE_STATION
    assert reason["responsible"]["unit"]["code"] == "PS-N"
    assert reason["responsible"]["matched"] == "jurisdiction"
    assert [item["unit"]["code"] for item in reason["co_handling"]] == ["SO-E"]
    assert "北片派出所" in reason["text"] and "东街道办事处" in reason["text"]


def test_a_category_without_rules_reaches_the_command_centre(geo: Geography):
    orphan = Category.objects.create(
        code="SJ0199", parent=cat("SJ01"), name_zh="无规则小类", kind=CategoryKind.EVENT, default_level=2
    )
    route = resolve(point=geo.point("W1", "S"), category=orphan)
    assert route.responsible == geo.centre
    assert route.co_units == []
    assert route.reason["fallback"] is True
    assert route.reason["responsible"]["rule"] is None


def test_a_rule_on_the_group_covers_its_leaves_and_the_leaf_rule_wins(geo: Geography):
    orphan = Category.objects.create(
        code="SJ0599", parent=cat("SJ05"), name_zh="新小类", kind=CategoryKind.EVENT, default_level=3
    )
    RoutingRule.objects.create(category=cat("SJ05"), unit_type=UnitType.POLICE_STATION)
    assert resolve(point=geo.point("W1", "N"), category=orphan).responsible == geo.police["N"]
    # SJ0501 has its own default rule (street office): the leaf rule is more specific than the group rule.
    assert resolve(point=geo.point("W1", "N"), category=cat("SJ0501")).responsible == geo.offices["W"]


def test_a_region_rule_beats_a_regionless_one_and_priority_breaks_ties(geo: Geography):
    leaf = cat(GARBAGE)
    RoutingRule.objects.create(category=leaf, unit_type=UnitType.STREET_OFFICE, street=geo.streets["E"])
    assert resolve(point=geo.point("E1", "S"), category=leaf).responsible == geo.offices["E"]
    assert resolve(point=geo.point("W1", "S"), category=leaf).responsible == geo.committees["W1"]
    RoutingRule.objects.create(category=leaf, unit_type=UnitType.DEPARTMENT, street=geo.streets["E"], priority=5)
    assert resolve(point=geo.point("E1", "S"), category=leaf).responsible == geo.department
    area_rule = RoutingRule.objects.create(
        category=leaf, unit_type=UnitType.POLICE_STATION, area=multi(101.60, 26.58, 0.005, 0.005), priority=9
    )
    assert resolve(point=Point(101.601, 26.581, srid=4326), category=leaf).responsible == geo.police["S"]
    area_rule.active = False
    area_rule.save()
    assert resolve(point=Point(101.601, 26.581, srid=4326), category=leaf).responsible == geo.committees["W1"]


def test_a_named_unit_rule_and_co_handling_never_repeat_the_responsible_unit(geo: Geography):
    leaf = cat(ILLEGAL_BUILDING)
    RoutingRule.objects.create(
        category=leaf, unit_type=UnitType.STREET_OFFICE, role=RuleRole.CO_HANDLING, note="same as responsible"
    )
    route = resolve(point=geo.point("W2", "S"), category=leaf)
    assert route.responsible == geo.offices["W"]
    assert route.co_units == [geo.department]


def test_the_smaller_of_two_covering_units_of_one_type_wins(geo: Geography):
    from tests.factories import UnitFactory

    special = UnitFactory(
        code="SO-X", name="特区办事处", type=UnitType.STREET_OFFICE, jurisdiction=multi(101.60, 26.58, 0.004, 0.004)
    )
    leaf = cat(ILLEGAL_BUILDING)
    assert resolve(point=Point(101.601, 26.581, srid=4326), category=leaf).responsible == special
    assert resolve(point=geo.point("W1", "N"), category=leaf).responsible == geo.offices["W"]


def test_excluded_units_are_skipped_down_to_the_command_centre(geo: Geography):
    leaf = cat(ILLEGAL_BUILDING)
    point = geo.point("W1", "N")
    route = resolve(point=point, category=leaf, exclude=(geo.offices["W"].pk,))
    assert route.responsible == geo.centre
    assert route.reason["fallback"] is True and route.reason["excluded_units"] == [geo.offices["W"].pk]


def test_jurisdiction_pieces_follow_unit_edits(geo: Geography):
    office = geo.offices["W"]
    assert UnitArea.objects.filter(unit=office).exists()
    office.jurisdiction = multi(101.60, 26.58, 0.04, 0.04)  # now covers the east street too; larger than SO-E
    office.save()
    leaf = cat(ILLEGAL_BUILDING)
    assert resolve(point=geo.point("E1", "N"), category=leaf).responsible == geo.offices["E"]
    geo.offices["E"].type = UnitType.DEPARTMENT
    geo.offices["E"].save()
    assert resolve(point=geo.point("E1", "N"), category=leaf).responsible == office
    assert set(UnitArea.objects.filter(unit=geo.offices["E"]).values_list("unit_type", flat=True)) == {"department"}


def test_no_command_centre_at_all_is_a_routing_error(db):
    from tests.factories import DistrictFactory

    DistrictFactory()
    orphan = Category.objects.create(
        code="SJ0198", parent=cat("SJ01"), name_zh="无规则", kind=CategoryKind.EVENT, default_level=2
    )
    with pytest.raises(RoutingError):
        resolve(point=Point(101.61, 26.59, srid=4326), category=orphan)


def test_a_lookup_is_one_query_and_a_changed_rule_is_seen_by_the_next(geo: Geography):
    leaf = cat(SUSPICIOUS)
    resolve(point=geo.point("W1", "N"), category=leaf)  # the process reads the rules once
    with CaptureQueriesContext(connection) as queries:
        route = resolve(point=geo.point("W1", "N"), category=leaf)
    # the units at the point (subdivided jurisdictions, spatial index) and the rules' stamp, in one query,
    # the statement prepared once per connection
    assert len(queries) == 1
    assert queries[0]["sql"].startswith("EXECUTE cases_units_at")
    assert route.responsible.name == "北片派出所" and route.responsible.parent == geo.centre

    # Another process's (or the admin's) change gives the rules a new stamp: the next lookup reads them again.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE cases_routingrule SET priority = 9, unit_type = %s WHERE category_id = %s AND role = 'responsible'",
            [UnitType.STREET_OFFICE, leaf.pk],
        )
    route = resolve(point=geo.point("W1", "N"), category=leaf)
    assert route.responsible == geo.offices["W"]


# --- GET /api/v1/route --------------------------------------------------------------


def test_route_preview_shows_where_and_why_and_writes_nothing(geo: Geography, client_for):
    client = client_for("dispatcher", unit=geo.centre)
    point = geo.point("E1", "S")
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/route", {"lon": point.x, "lat": point.y, "category": SUSPICIOUS})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["responsible_unit"]["code"] == "PS-S"
    assert [unit["code"] for unit in body["co_units"]] == ["SO-E"]
    assert body["regions"]["street"] == geo.streets["E"].pk and body["regions"]["grid"] == geo.grids["E1"].pk
    assert body["routing_reason"]["responsible"]["rule"]
    assert body["level"] == cat(SUSPICIOUS).default_level
    writes = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    # (token authentication may note when a token was last used; the preview itself writes nothing)
    assert [sql for sql in writes if '"cases_' in sql] == []


def test_route_preview_answers_exactly_what_its_schema_serializer_gives(geo: Geography, client_for):
    from django.utils import translation

    from cases import selectors as case_selectors
    from cases.serializers import RoutePreviewSerializer

    client = client_for("worker")
    for grid, edge, code in (("E1", "S", SUSPICIOUS), ("W1", "N", "SJ0101")):
        point, category = geo.point(grid, edge), cat(code)
        for language in ("zh-hans", "en"):
            params = {"lon": point.x, "lat": point.y, "category": code}
            body = client.get("/api/v1/route", params, HTTP_ACCEPT_LANGUAGE=language).json()
            route = case_selectors.resolve_route(point=point, category=category)
            with translation.override(language):
                expected = RoutePreviewSerializer(
                    {
                        "category": category,
                        "lon": point.x,
                        "lat": point.y,
                        "level": category.default_level,
                        "regions": case_selectors.regions_at(point=point),
                        "responsible_unit": route.responsible,
                        "co_units": route.co_units,
                        "routing_reason": route.reason,
                    }
                ).data
            assert body == json.loads(json.dumps(expected)), (grid, code, language)


def test_route_preview_converts_gcj02_at_the_edge(geo: Geography, client_for):
    client = client_for("worker")
    lon, lat = 101.6195, 26.59  # just west of the street boundary (101.62) in WGS84
    gcj_lon, gcj_lat = wgs84_to_gcj02(lon, lat)
    assert gcj_lon > 101.62  # read as WGS84 the phone's numbers would fall in the east street
    response = client.get("/api/v1/route", {"lon": gcj_lon, "lat": gcj_lat, "crs": "gcj02", "category": "SJ0101"})
    assert response.status_code == 200
    assert response.json()["responsible_unit"]["code"] == "SO-W"
    assert abs(response.json()["lon"] - lon) < 1e-6


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lat": 26.59, "category": "SJ0101"}, "lon"),
        ({"lon": 101.61, "category": "SJ0101"}, "lat"),
        ({"lon": "east", "lat": 26.59, "category": "SJ0101"}, "lon"),
        ({"lon": 101.61, "lat": 95, "category": "SJ0101"}, "lat"),
        ({"lon": 101.61, "lat": 26.59}, "category"),
        ({"lon": 101.61, "lat": 26.59, "category": "XX9999"}, "category"),
        ({"lon": 101.61, "lat": 26.59, "category": "SJ01"}, "category"),
        ({"lon": 101.61, "lat": 26.59, "category": "SJ0101", "crs": "bd09"}, "crs"),
        ({"lon": 116.39, "lat": 39.90, "category": "SJ0101"}, "location"),
    ],
)
def test_route_preview_rejects_bad_input_field_by_field(geo: Geography, client_for, params, field):
    response = client_for("worker").get("/api/v1/route", params)
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()


def test_route_preview_needs_login(geo: Geography, api_client):
    response = api_client.get("/api/v1/route", {"lon": 101.61, "lat": 26.59, "category": "SJ0101"})
    assert response.status_code in (401, 403)
