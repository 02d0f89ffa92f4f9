"""/ogc/ as a GIS desktop reads it: landing page, conformance, collections, pages of features by keyset with
next/prev links, bbox and crs with their axis orders, strict parameters and JSON errors."""

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.gis.geos import GEOSGeometry
from django.utils import timezone
from rest_framework.test import APIClient

from grids.models import Building, Role, Street
from ogc import params, selectors
from tests.factories import BuildingFactory, square
from tests.ogc.conftest import X0, Y0

pytestmark = pytest.mark.django_db

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
EPSG4490 = "http://www.opengis.net/def/crs/EPSG/0/4490"
LAYERS = ["streets", "communities", "grids", "buildings", "units"]


@pytest.fixture
def client(client_for):
    return client_for(Role.WORKER)


def link(document: dict, rel: str) -> str | None:
    return next((item["href"] for item in document["links"] if item["rel"] == rel), None)


def codes(page: dict) -> list[str]:
    return [feature["properties"]["code"] for feature in page["features"]]


# --- landing page, conformance, API definition ----------------------------------------------------------------


def test_landing_page_links_the_api_definition_conformance_and_collections(client, town):
    response = client.get("/ogc/")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    page = response.json()
    assert link(page, "self") == "http://testserver/ogc/"
    assert link(page, "conformance") == "http://testserver/ogc/conformance"
    assert link(page, "data") == "http://testserver/ogc/collections"
    described = next(item for item in page["links"] if item["rel"] == "service-desc")
    assert described["type"] == "application/vnd.oai.openapi+json;version=3.0"

    definition = client.get(described["href"]).json()
    assert definition["openapi"].startswith("3.0")
    limit = next(p for p in definition["paths"]["/collections/{collectionId}/items"]["get"]["parameters"]
                 if p["name"] == "limit")  # fmt: skip
    assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1000}
    assert definition["paths"]["/collections/{collectionId}"]["get"]["parameters"][0]["schema"]["enum"] == LAYERS


def test_conformance_declares_core_geojson_and_crs(client, town):
    classes = client.get("/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in classes
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in classes
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in classes


def test_every_resource_answers_json_whatever_the_accept_header(client, town):
    building = town[1][0]
    asks = [
        ({}, {}),
        ({"f": "json"}, {}),
        ({}, {"HTTP_ACCEPT": "application/geo+json"}),
        ({}, {"HTTP_ACCEPT": "text/html"}),
    ]
    for query, headers in asks:
        for path in (
            "/ogc/",
            "/ogc/conformance",
            "/ogc/api",
            "/ogc/collections",
            "/ogc/collections/buildings",
            "/ogc/collections/buildings/items",
            f"/ogc/collections/buildings/items/{building.pk}",
        ):
            response = client.get(path, query, **headers)
            assert response.status_code == 200, (path, query, headers, response.content[:300])
            json.loads(response.content)


# --- collections --------------------------------------------------------------------------------------------------


def test_collections_are_the_five_registry_layers_without_people(client, town):
    collections = client.get("/ogc/collections").json()["collections"]
    assert [c["id"] for c in collections] == LAYERS
    for collection in collections:
        assert collection["itemType"] == "feature"
        assert collection["crs"] == [CRS84, EPSG4326, EPSG4490] and collection["storageCrs"] == CRS84
        assert link(collection, "items") == f"http://testserver/ogc/collections/{collection['id']}/items"
    buildings = next(c for c in collections if c["id"] == "buildings")
    (west, south, east, north), = buildings["extent"]["spatial"]["bbox"]  # fmt: skip
    for building in town[1]:
        x0, y0, x1, y1 = building.footprint.extent
        assert west <= x0 and south <= y0 and x1 <= east and y1 <= north
    for absent in ("households", "persons", "people"):
        assert client.get(f"/ogc/collections/{absent}").status_code == 404
        assert client.get(f"/ogc/collections/{absent}/items").status_code == 404


def test_one_collection_describes_itself(client, town):
    collection = client.get("/ogc/collections/streets").json()
    assert collection["id"] == "streets" and "街道" in collection["title"]
    assert link(collection, "self") == "http://testserver/ogc/collections/streets"
    assert collection["extent"]["spatial"]["bbox"] == [[101.6, 26.58, 101.64, 26.62]]


def test_nothing_about_a_resident_is_served(client, town):
    for path in ["/ogc/collections"] + [f"/ogc/collections/{layer}/items" for layer in LAYERS]:
        body = client.get(path).content.decode()
        assert "居民哨兵甲" not in body and "510403" + "19" not in body, path


# --- items and paging ---------------------------------------------------------------------------------------------


def test_items_are_a_geojson_feature_collection_with_counts_and_links(client, town):
    response = client.get("/ogc/collections/buildings/items", {"limit": 3})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    assert response["Content-Crs"] == f"<{CRS84}>"
    page = response.json()
    assert page["type"] == "FeatureCollection"
    assert page["numberMatched"] == 7 and page["numberReturned"] == 3 and len(page["features"]) == 3
    assert codes(page) == ["OGC-0", "OGC-1", "OGC-2"]
    assert link(page, "self") == "http://testserver/ogc/collections/buildings/items?limit=3"
    assert link(page, "collection") == "http://testserver/ogc/collections/buildings"
    assert link(page, "prev") is None
    feature = page["features"][0]
    assert feature["type"] == "Feature" and feature["id"] == town[1][0].pk
    assert feature["properties"]["grid_code"] == town[0].grids["W1"].code
    assert feature["properties"]["updated_at"].endswith("+08:00")


def test_next_links_walk_every_feature_once_in_a_stable_order(client, town):
    seen, url, pages = [], "/ogc/collections/buildings/items?limit=2", 0
    while url:
        page = client.get(url).json()
        assert page["numberMatched"] == (7 if pages < 2 else 8)
        seen += [feature["id"] for feature in page["features"]]
        pages += 1
        if pages == 2:
            BuildingFactory(code="OGC-late", footprint=square(X0 + 0.03, Y0 + 0.035, 0.0004))  # added mid-walk
        url = link(page, "next")
    expected = sorted(Building.objects.values_list("id", flat=True))
    assert seen == expected and len(seen) == len(set(seen)) == 8 and pages == 4


def test_prev_links_lead_back_page_by_page(client, town):
    first = client.get("/ogc/collections/buildings/items", {"limit": 3}).json()
    second = client.get(link(first, "next")).json()
    third = client.get(link(second, "next")).json()
    assert codes(third) == ["OGC-6"] and link(third, "next") is None
    back = client.get(link(third, "prev")).json()
    assert codes(back) == codes(second) == ["OGC-3", "OGC-4", "OGC-5"]
    assert link(back, "next") == link(second, "next")
    assert codes(client.get(link(back, "prev")).json()) == codes(first)


def test_after_and_before_together_give_the_features_between(client, town):
    ids = [building.pk for building in town[1]]
    page = client.get("/ogc/collections/buildings/items", {"after": ids[1], "before": ids[5], "limit": 2}).json()
    assert codes(page) == ["OGC-2", "OGC-3"] and page["numberMatched"] == 7
    rest = client.get(link(page, "next")).json()
    assert codes(rest) == ["OGC-4", "OGC-5"]
    assert codes(client.get(link(page, "prev")).json()) == ["OGC-0", "OGC-1"]


def test_paging_links_keep_the_other_parameters(client, town):
    query = {"limit": 2, "crs": EPSG4490, "bbox": f"{X0},{Y0},{X0 + 0.04},{Y0 + 0.04}"}
    page = client.get("/ogc/collections/buildings/items", query).json()
    following = parse_qs(urlsplit(link(page, "next")).query)
    assert following["limit"] == ["2"] and following["crs"] == [EPSG4490] and following["bbox"] == [query["bbox"]]
    assert following["after"] == [str(page["features"][-1]["id"])]


def test_limit_has_a_default_of_1000_and_a_larger_one_is_served_as_the_maximum(client, geo, monkeypatch):
    Building.objects.bulk_create(
        Building(
            code=f"BULK-{n:04d}", name="楼", address="路", floors=3, footprint=square(X0 + 0.001, Y0 + 0.001, 1e-4)
        )
        for n in range(1001)
    )
    page = client.get("/ogc/collections/buildings/items").json()
    assert page["numberReturned"] == 1000 and page["numberMatched"] == 1001 and link(page, "next")

    monkeypatch.setattr(params, "MAX_LIMIT", 600)
    for limit in ("5000", "9" * 5000):
        response = client.get("/ogc/collections/buildings/items", {"limit": limit})
        assert response.status_code == 200 and response.json()["numberReturned"] == 600


# --- bbox ---------------------------------------------------------------------------------------------------------


def test_bbox_in_crs84_is_longitude_first(client, town):
    west_half = f"{X0},{Y0},{X0 + 0.02},{Y0 + 0.04}"
    streets = client.get("/ogc/collections/streets/items", {"bbox": west_half}).json()
    # Touching the boundary counts: the west street and the east street, which shares the line at 101.62.
    assert {f["properties"]["name"] for f in streets["features"]} == {"西街道", "东街道"}
    inside = f"{X0 + 0.001},{Y0 + 0.001},{X0 + 0.011},{Y0 + 0.011}"
    buildings = client.get("/ogc/collections/buildings/items", {"bbox": inside}).json()
    assert codes(buildings) == ["OGC-0", "OGC-1"] and buildings["numberMatched"] == 2


@pytest.mark.parametrize("crs", [EPSG4326, EPSG4490])
def test_bbox_in_epsg_4326_and_4490_is_latitude_first(client, town, crs):
    lat_first = f"{Y0 + 0.001},{X0 + 0.001},{Y0 + 0.011},{X0 + 0.011}"
    buildings = client.get("/ogc/collections/buildings/items", {"bbox": lat_first, "bbox-crs": crs}).json()
    assert codes(buildings) == ["OGC-0", "OGC-1"]
    lon_first = f"{X0 + 0.001},{Y0 + 0.001},{X0 + 0.011},{Y0 + 0.011}"  # read as latitudes beyond 90°
    refused = client.get("/ogc/collections/buildings/items", {"bbox": lon_first, "bbox-crs": crs})
    assert refused.status_code == 400 and "bbox" in refused.json()["errors"]


def test_bbox_across_the_antimeridian_wraps(client, town):
    assert client.get("/ogc/collections/buildings/items", {"bbox": "100,20,-170,30"}).json()["numberMatched"] == 7
    assert client.get("/ogc/collections/buildings/items", {"bbox": "170,20,-170,30"}).json()["numberMatched"] == 0


def test_bbox_with_heights_uses_the_horizontal_corners(client, town):
    box = f"{X0 + 0.001},{Y0 + 0.001},0,{X0 + 0.011},{Y0 + 0.011},100"
    assert codes(client.get("/ogc/collections/buildings/items", {"bbox": box}).json()) == ["OGC-0", "OGC-1"]


# --- crs ----------------------------------------------------------------------------------------------------------


def stored_ring(building) -> list[list[float]]:
    return [[round(x, 6), round(y, 6)] for x, y in building.footprint.coords[0]]


def test_crs84_is_longitude_latitude(client, town):
    building = town[1][2]
    response = client.get(f"/ogc/collections/buildings/items/{building.pk}", {"crs": CRS84})
    assert response["Content-Crs"] == f"<{CRS84}>"
    assert response.json()["geometry"]["coordinates"][0] == stored_ring(building)


@pytest.mark.parametrize("crs", [EPSG4326, EPSG4490])
def test_epsg_4326_and_4490_are_latitude_longitude(client, town, crs):
    building = town[1][2]
    flipped = [[y, x] for x, y in stored_ring(building)]
    one = client.get(f"/ogc/collections/buildings/items/{building.pk}", {"crs": crs})
    assert one.status_code == 200 and one["Content-Crs"] == f"<{crs}>"
    assert one.json()["geometry"]["coordinates"][0] == flipped
    assert "crs" not in one.json()["geometry"]
    page = client.get("/ogc/collections/buildings/items", {"crs": crs, "limit": 3})
    assert page["Content-Crs"] == f"<{crs}>"
    assert page.json()["features"][2]["geometry"]["coordinates"][0] == flipped
    streets = client.get("/ogc/collections/streets/items", {"crs": crs}).json()["features"]
    west = GEOSGeometry(json.dumps(streets[0]["geometry"]))
    assert west.extent == pytest.approx((Y0, X0, Y0 + 0.04, X0 + 0.02))  # (min lat, min lon, max lat, max lon)


def test_one_feature_links_itself_and_its_collection(client, town):
    building = town[1][0]
    feature = client.get(f"/ogc/collections/buildings/items/{building.pk}").json()
    assert feature["id"] == building.pk and feature["properties"]["code"] == "OGC-0"
    assert link(feature, "self") == f"http://testserver/ogc/collections/buildings/items/{building.pk}"
    assert link(feature, "collection") == "http://testserver/ogc/collections/buildings"


# --- datetime -------------------------------------------------------------------------------------------------------


def test_datetime_selects_buildings_by_their_update_time_and_leaves_timeless_layers_whole(client, town):
    older, newer = town[1][0], town[1][6]
    older.refresh_from_db()
    newer.refresh_from_db()
    at = older.updated_at.isoformat()
    assert codes(client.get("/ogc/collections/buildings/items", {"datetime": at}).json()) == ["OGC-0"]
    since = client.get("/ogc/collections/buildings/items", {"datetime": f"{newer.updated_at.isoformat()}/.."}).json()
    assert codes(since) == ["OGC-6"]
    until = client.get("/ogc/collections/buildings/items", {"datetime": f"../{at}"}).json()
    assert codes(until) == ["OGC-0"]
    streets = client.get("/ogc/collections/streets/items", {"datetime": "2000-01-01T00:00:00Z"}).json()
    assert streets["numberMatched"] == Street.objects.count() == 2


# --- errors ---------------------------------------------------------------------------------------------------------


BAD_QUERIES = [
    ({"limit": "0"}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"limit": "-5"}, "limit"),
    ({"bbox": "1,2,3"}, "bbox"),
    ({"bbox": "a,b,c,d"}, "bbox"),
    ({"bbox": "101.6,26.7,101.7,26.6"}, "bbox"),
    ({"bbox": "101.6,26.6,101.7,96"}, "bbox"),
    ({"bbox": "101.6,26.6,101.7,26.7", "bbox-crs": "EPSG:4326"}, "bbox-crs"),
    ({"bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/3857"}, "bbox-crs"),
    ({"crs": "EPSG:4326"}, "crs"),
    ({"crs": "http://www.opengis.net/def/crs/EPSG/0/3857"}, "crs"),
    ({"datetime": "2026-12-01"}, "datetime"),
    ({"datetime": "2026-12-01T00:00:00"}, "datetime"),
    ({"datetime": "2026-12-02T00:00:00Z/2026-12-01T00:00:00Z"}, "datetime"),
    ({"datetime": "../.."}, "datetime"),
    ({"after": "x"}, "after"),
    ({"after": "99999999999999999999"}, "after"),
    ({"before": "9" * 5000}, "before"),
    ({"limit": ["1", "2"]}, "limit"),
    ({"f": "html"}, "f"),
    ({"page_size": "10"}, "page_size"),
]


def test_a_bad_parameter_is_a_400_naming_it(client, town):
    for query, parameter in BAD_QUERIES:
        response = client.get("/ogc/collections/buildings/items", query)
        assert response.status_code == 400, query
        assert response["Content-Type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == 400 and problem["code"] == "InvalidParameterValue"
        assert list(problem["errors"]) == [parameter], query
        message = problem["errors"][parameter][0]
        # Chinese first, then English.
        assert message[0] >= "\u4e00" and any(c.isascii() and c.isalpha() for c in message), message


def test_unknown_parameters_are_refused_on_every_resource(client, town):
    for path in (
        "/ogc/",
        "/ogc/collections",
        "/ogc/collections/streets",
        f"/ogc/collections/buildings/items/{town[1][0].pk}",
    ):
        response = client.get(path, {"limit": "5"})
        assert response.status_code == 400 and list(response.json()["errors"]) == ["limit"], path


def test_unknown_collections_features_and_paths_are_json_404s(client, town):
    for path in (
        "/ogc/collections/households",
        "/ogc/collections/households/items",
        "/ogc/collections/buildings/items/999999999",
        "/ogc/collections/buildings/items/abc",
        "/ogc/collections/buildings/items/99999999999999999999999",
        "/ogc/collections/buildings/items/" + "9" * 5000,
        "/ogc/nothing/here",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response["Content-Type"] == "application/problem+json" and response.json()["code"] == "NotFound"


def test_writes_are_refused_as_json(client, town):
    response = client.post("/ogc/collections/buildings/items", {}, format="json")
    assert response.status_code == 405 and response.json()["status"] == 405


# --- who may read ---------------------------------------------------------------------------------------------------


def test_anonymous_callers_get_a_json_401_asking_for_a_token(town):
    anonymous = APIClient()
    for path in ("/ogc/", "/ogc/collections", "/ogc/collections/buildings/items"):
        response = anonymous.get(path)
        assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"
        assert response.json()["code"] == "NotAuthenticated"
    assert anonymous.get("/ogc/collections/buildings/items", {"limit": "0"}).status_code == 401  # no hint first


def test_a_bad_token_is_401(town):
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION="Token not-a-key")
    assert stranger.get("/ogc/collections").status_code == 401


@pytest.mark.parametrize("role", [Role.WORKER, Role.DISPATCHER, Role.MANAGER, Role.ADMIN])
def test_every_account_reads_the_layers_as_under_api_v1(client_for, town, role):
    reader = client_for(role, unit=town[0].offices["W"] if role == Role.DISPATCHER else None)
    for layer in LAYERS:
        assert reader.get(f"/ogc/collections/{layer}/items").status_code == 200
        assert reader.get(f"/api/v1/{layer}").status_code == 200


def test_a_session_works_too(town):
    from tests.factories import StaffFactory

    browser = APIClient()
    browser.force_login(StaffFactory(role=Role.DISPATCHER, unit=town[0].offices["E"]).user)
    assert browser.get("/ogc/collections/buildings/items").json()["numberMatched"] == 7


def test_the_project_openapi_document_is_untouched(client, town):
    schema = client.get("/api/schema", HTTP_ACCEPT="application/json").json()
    assert schema["paths"] and not any(path.startswith("/ogc") for path in schema["paths"])


def test_extents_follow_the_data_within_minutes(client, town, time_machine):
    before = client.get("/ogc/collections/buildings").json()["extent"]["spatial"]["bbox"][0]
    BuildingFactory(code="OGC-far", footprint=square(X0 + 0.035, Y0 + 0.037, 0.0005))
    assert client.get("/ogc/collections/buildings").json()["extent"]["spatial"]["bbox"][0] == before  # cached
    time_machine.move_to(timezone.now() + timedelta(seconds=selectors.EXTENT_SECONDS + 1))
    after = client.get("/ogc/collections/buildings").json()["extent"]["spatial"]["bbox"][0]
    assert after[2:] == pytest.approx([X0 + 0.0355, Y0 + 0.0375], abs=2e-6) and after[:2] == before[:2]
