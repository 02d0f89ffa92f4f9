"""The registry read API as the map and the intake desk use it."""

import json
import re

import pytest
from django.contrib.gis.geos import MultiPolygon
from django.db import connection
from django.utils import translation

from grids import selectors
from grids.models import Role, UnitType
from tests.factories import (
    ORIGIN,
    BuildingFactory,
    CommunityFactory,
    GridFactory,
    HouseholdFactory,
    PersonFactory,
    StreetFactory,
    UnitFactory,
    multi_square,
    rect,
    square,
)

X, Y = ORIGIN
pytestmark = pytest.mark.django_db
FULL_ID = re.compile(r"[1-9][0-9]{5}(18|19|20)[0-9]{9}[0-9X]")


@pytest.fixture
def town():
    """Two 0.02° streets side by side, one community each, two grids per community, a building with people per grid."""
    streets, grids, buildings = {}, [], []
    for s, name in enumerate(("西街道", "东街道")):
        x0 = X + s * 0.02
        street = StreetFactory(code=f"51040300{s + 1}", name=name, boundary=multi_square(x0, Y, 0.02))
        community = CommunityFactory(street=street, code=f"{street.code}001", boundary=street.boundary)
        for g in range(2):
            grid = GridFactory(
                community=community,
                code=f"{community.code}{g + 1:02d}",
                boundary=MultiPolygon(rect(x0 + g * 0.01, Y, 0.01, 0.02), srid=4326),
            )
            building = BuildingFactory(footprint=square(x0 + g * 0.01 + 0.004, Y + 0.004, 0.0004))
            for _ in range(2 + g):
                PersonFactory.create_batch(2, household=HouseholdFactory(building=building))
            grids.append(grid)
            buildings.append(building)
        streets[name] = street
    return {"streets": streets, "grids": grids, "buildings": buildings}


def test_nothing_is_readable_anonymously(api_client, town):
    for path in (
        "/api/v1/streets",
        "/api/v1/grids",
        "/api/v1/locate?lon=101.6&lat=26.6",
        f"/api/v1/buildings/{town['buildings'][0].pk}/households",
    ):
        assert api_client.get(path).status_code == 401, path


def test_layers_are_geojson_feature_collections_with_pages(client_for, town):
    client = client_for(Role.WORKER)
    body = client.get("/api/v1/grids", {"page_size": 3}).json()
    assert body["type"] == "FeatureCollection"
    assert body["count"] == 4
    assert [f["properties"]["code"] for f in body["features"]] == sorted(g.code for g in town["grids"])[:3]
    assert body["features"][0]["geometry"]["type"] == "MultiPolygon"
    assert body["next"].endswith("page=2&page_size=3") or "page=2" in body["next"]
    second = client.get(body["next"]).json()
    assert len(second["features"]) == 1 and second["previous"]


def test_in_bbox_keeps_only_what_the_view_touches(client_for, town):
    client = client_for(Role.WORKER)
    west_only = f"{X + 0.001},{Y + 0.001},{X + 0.005},{Y + 0.005}"
    streets = client.get("/api/v1/streets", {"in_bbox": west_only}).json()
    assert [f["properties"]["name"] for f in streets["features"]] == ["西街道"]
    buildings = client.get("/api/v1/buildings", {"in_bbox": west_only}).json()
    assert buildings["count"] == 1
    assert buildings["features"][0]["properties"]["grid_code"] == town["grids"][0].code


@pytest.mark.parametrize("bbox", ["1,2,3", "a,b,c,d", "101.7,26.5,101.6,26.6", "200,0,201,1"])
def test_bad_bbox_is_a_400_naming_the_field(client_for, town, bbox):
    response = client_for(Role.WORKER).get("/api/v1/grids", {"in_bbox": bbox})
    assert response.status_code == 400
    assert "in_bbox" in response.json()["errors"]


def test_building_is_assigned_to_the_grid_that_contains_it(town):
    for grid, building in zip(town["grids"], town["buildings"], strict=True):
        building.refresh_from_db()
        assert building.grid_id == grid.pk
    # Moving a footprint moves the building to the grid it now lies in.
    moved = town["buildings"][0]
    moved.footprint = square(X + 0.034, Y + 0.01, 0.0004)
    moved.save()
    moved.refresh_from_db()
    assert moved.grid_id == town["grids"][3].pk


def test_households_show_people_with_masked_id_and_phone(client_for, town):
    building = town["buildings"][0]
    worker = client_for(Role.WORKER)
    worker.staff.grids.set([town["grids"][0]])
    response = worker.get(f"/api/v1/buildings/{building.pk}/households")
    assert response.status_code == 200
    people = [p for household in response.json() for p in household["people"]]
    assert len(people) == 4
    for person in people:
        assert re.fullmatch(r"[0-9]{6}\*{8}[0-9]{3}[0-9X]", person["id_number"])
        assert re.fullmatch(r"1[0-9]{2}\*{4}[0-9]{4}", person["phone"])
    assert not FULL_ID.search(response.content.decode())


def test_residents_are_out_of_reach_outside_the_workers_grids_and_for_managers(client_for, town):
    worker = client_for(Role.WORKER)
    worker.staff.grids.set([town["grids"][0]])
    assert worker.get(f"/api/v1/buildings/{town['buildings'][1].pk}/households").status_code == 403
    manager = client_for(Role.MANAGER)
    assert manager.get(f"/api/v1/buildings/{town['buildings'][0].pk}/households").status_code == 403


def test_no_plain_id_number_or_phone_is_stored(town):
    with connection.cursor() as cursor:
        cursor.execute("SELECT p::text FROM grids_person p")
        rows = [row[0] for row in cursor.fetchall()]
    assert rows
    for row in rows:
        assert not FULL_ID.search(row)
        assert not re.search(r"138[0-9]{8}", row)


def test_stats_of_a_street_equal_the_sum_of_its_grids(client_for, town):
    client = client_for(Role.MANAGER)
    street = town["streets"]["西街道"]
    street_stats = client.get(f"/api/v1/streets/{street.pk}/stats").json()
    grid_stats = [
        client.get(f"/api/v1/grids/{g.pk}/stats").json() for g in town["grids"] if g.code.startswith(street.code)
    ]
    for figure in ("buildings", "households", "people"):
        assert street_stats[figure] == sum(g[figure] for g in grid_stats)
    assert street_stats["people"] == 2 * 2 + 3 * 2
    assert street_stats["by_residency"]["registered"] == street_stats["people"]
    assert sum(street_stats["by_sex"].values()) == street_stats["people"]


def test_locate_names_every_level_the_building_and_both_unit_layers(client_for, town):
    west = town["streets"]["西街道"]
    office = UnitFactory(type=UnitType.STREET_OFFICE, name="西街道办事处", jurisdiction=west.boundary)
    # A precinct that crosses the street boundary.
    police = UnitFactory(type=UnitType.POLICE_STATION, name="跨街派出所", jurisdiction=multi_square(X + 0.01, Y, 0.02))
    building = town["buildings"][1]
    centre = building.footprint.centroid
    body = client_for(Role.DISPATCHER, unit=office).get("/api/v1/locate", {"lon": centre.x, "lat": centre.y}).json()
    assert body["inside_district"] is True
    assert body["street"]["code"] == west.code
    assert body["grid"]["code"] == town["grids"][1].code
    assert body["building"]["code"] == building.code
    assert {u["name"] for u in body["units"]} == {office.name, police.name}


def test_locate_outside_the_district_says_so(client_for, town):
    body = client_for(Role.WORKER).get("/api/v1/locate", {"lon": 100.0, "lat": 30.0}).json()
    assert body["inside_district"] is False
    assert body["grid"] is None and body["units"] == []


def test_locate_accepts_gcj02_and_converts_it(client_for, town):
    from grids.coords import wgs84_to_gcj02

    centre = town["buildings"][2].footprint.centroid
    lon, lat = wgs84_to_gcj02(centre.x, centre.y)
    body = client_for(Role.WORKER).get("/api/v1/locate", {"lon": lon, "lat": lat, "crs": "gcj02"}).json()
    assert body["building"]["code"] == town["buildings"][2].code
    assert abs(body["lon"] - centre.x) < 1e-7 and abs(body["lat"] - centre.y) < 1e-7


@pytest.mark.parametrize(
    "query", [{}, {"lon": "x", "lat": 26.6}, {"lon": 101.6}, {"lon": 101.6, "lat": 26.6, "crs": "bd09"}]
)
def test_locate_bad_input_is_a_400_with_field_messages(client_for, query):
    response = client_for(Role.WORKER).get("/api/v1/locate", query)
    assert response.status_code == 400
    assert set(response.json()["errors"]) & {"lon", "lat", "crs"}


def test_a_region_code_must_extend_its_parents_code():
    from django.db import IntegrityError, transaction

    street = StreetFactory(code="510403001")
    with pytest.raises(IntegrityError), transaction.atomic():
        CommunityFactory(street=street, code="510403002001")
    with pytest.raises(IntegrityError), transaction.atomic():
        StreetFactory(code="51040300x")
    assert CommunityFactory(street=street, code="510403001007").code == "510403001007"


def test_case_counts_join_the_region_figures_and_add_up(client_for, geo):
    from cases.models import Category
    from cases.services import create_case

    category = Category.objects.get(code="BJ0101")
    for community, half in (("W1", "S"), ("W1", "N"), ("W2", "S"), ("E1", "S")):
        create_case(category=category, point=geo.point(community, half), description="井盖缺失", source="hotline")
    client = client_for(Role.MANAGER)
    street = client.get(f"/api/v1/streets/{geo.streets['W'].pk}/stats").json()["cases"]
    grids = [client.get(f"/api/v1/grids/{geo.grids[name].pk}/stats").json()["cases"] for name in ("W1", "W2")]
    assert [g["open"] for g in grids] == [2, 1]
    assert street["open"] == street["total"] == sum(g["total"] for g in grids) == 3


def test_locate_answers_exactly_what_its_schema_serializer_gives(client_for, town):
    from grids.coords import to_wgs84_point
    from grids.serializers import LocationSerializer

    UnitFactory(type=UnitType.STREET_OFFICE, name="西街道办事处", jurisdiction=town["streets"]["西街道"].boundary)
    UnitFactory(type=UnitType.POLICE_STATION, name="跨街派出所", jurisdiction=multi_square(X + 0.01, Y, 0.02))
    client = client_for(Role.WORKER)
    for lon, lat in [(b.footprint.centroid.x, b.footprint.centroid.y) for b in town["buildings"]] + [(100.0, 30.0)]:
        for language in ("zh-hans", "en"):
            body = client.get("/api/v1/locate", {"lon": lon, "lat": lat}, HTTP_ACCEPT_LANGUAGE=language).json()
            with translation.override(language):
                point = to_wgs84_point(lon, lat, "wgs84")
                found = selectors.locate(point=point)
                expected = LocationSerializer(
                    {"lon": point.x, "lat": point.y, "inside_district": found["district"] is not None, **found}
                ).data
            assert body == json.loads(json.dumps(expected)), (lon, lat, language)
