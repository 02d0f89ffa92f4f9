"""The maps' APIs: unit jurisdictions, per-grid figures, building tiles, search, hex bins, dashboard, public."""

import csv
import io
import json

import mapbox_vector_tile
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook
from rest_framework.test import APIClient
from shapely.geometry import Point, shape

from maps import selectors
from tests.maps.conftest import X0, Y0, report_and_register

pytestmark = pytest.mark.django_db

BBOX = f"{X0 - 0.01},{Y0 - 0.01},{X0 + 0.05},{Y0 + 0.05}"


def client_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    import math

    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def test_everything_but_the_public_page_needs_login(world):
    anonymous = APIClient()
    for url in (
        "/api/v1/units",
        "/api/v1/grid-figures",
        "/api/v1/tiles/buildings/16/1000/1000.pbf",
        "/api/v1/search?q=x",
        f"/api/v1/dashboard/hexbins?in_bbox={BBOX}&zoom=12",
        "/api/v1/dashboard/summary",
    ):
        assert anonymous.get(url).status_code in (401, 403), url
    assert anonymous.get("/api/v1/public/stats").status_code == 200
    assert anonymous.get("/api/v1/public/grids").status_code == 200


def test_police_precincts_as_geojson(world):
    response = client_as(world.accounts["dispatcher"]).get("/api/v1/units?type=police_station")
    assert response.status_code == 200
    body = response.json()
    assert [f["properties"]["name"] for f in body["features"]] == ["清香坪派出所"]
    assert body["features"][0]["geometry"]["type"] == "MultiPolygon"


def test_grid_figures_in_one_query(world_with_cases):
    world = world_with_cases
    client = client_as(world.accounts["manager"])
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/grid-figures?in_bbox={BBOX}")
    assert response.status_code == 200
    figure_queries = [q for q in queries.captured_queries if "grids_grid" in q["sql"]]
    assert len(figure_queries) == 1
    figures = response.json()
    g0, g3 = str(world.grids[0].id), str(world.grids[3].id)
    assert figures[g0]["buildings"] == 2
    assert figures[g0]["households"] == 4
    assert figures[g0]["people"] == 8
    assert figures[g0]["care"] == 2
    assert figures[g0]["cases"] == 3 and figures[g0]["open_cases"] == 3
    assert figures[g0]["cases_per_1000"] == 375.0
    assert figures[g3]["open_cases"] == 0 and figures[g3]["cases"] == 2
    assert figures[str(world.grids[1].id)]["cases_per_1000"] is None
    tagged = client.get(f"/api/v1/grid-figures?in_bbox={BBOX}&care_tag=elderly_alone").json()
    assert tagged[g0]["care"] == 2
    only = client.get(f"/api/v1/grid-figures?grid={world.grids[3].code}").json()
    assert list(only) == [g3]


def test_building_tile_is_a_real_mvt_with_cache_headers(world):
    building = world.buildings[0]
    centre = building.footprint.centroid
    x, y = tile_of(centre.x, centre.y, 16)
    response = client_as(world.accounts["worker"]).get(f"/api/v1/tiles/buildings/16/{x}/{y}.pbf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.mapbox-vector-tile"
    assert "max-age" in response["Cache-Control"] and "private" in response["Cache-Control"]
    tile = mapbox_vector_tile.decode(response.content)
    features = tile["buildings"]["features"]
    codes = {f["properties"]["code"] for f in features}
    assert building.code in codes
    feature = next(f for f in features if f["properties"]["code"] == building.code)
    assert feature["id"] == building.id
    assert feature["properties"]["households"] == 2
    assert feature["geometry"]["type"] == "Polygon"
    # Far away: an empty tile; below zoom 14: empty without touching the database.
    assert client_as(world.accounts["worker"]).get("/api/v1/tiles/buildings/16/0/0.pbf").content == b""
    assert client_as(world.accounts["worker"]).get("/api/v1/tiles/buildings/10/0/0.pbf").content == b""
    assert client_as(world.accounts["worker"]).get("/api/v1/tiles/buildings/3/9/0.pbf").status_code == 404


def test_tile_sql_uses_the_spatial_index(world):
    x, y = tile_of(X0 + 0.005, Y0 + 0.005, 16)
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        plans = []
        for sql in (selectors.TILE_SQL,):
            cursor.execute("EXPLAIN " + sql, {"z": 16, "x": x, "y": y, "dx": 0, "dy": 0})
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
        cursor.execute("SET enable_seqscan = on")
    for plan in plans:
        assert "grids_building_footprint" in plan  # the GiST index on the 4326 footprint


def test_gcj02_tiles_move_footprints_onto_amap(world):
    from grids.coords import wgs84_to_gcj02

    building = world.buildings[0]
    centre = building.footprint.centroid
    glon, glat = wgs84_to_gcj02(centre.x, centre.y)
    x, y = tile_of(glon, glat, 16)
    body = client_as(world.accounts["worker"]).get(f"/api/v1/tiles/buildings/16/{x}/{y}.pbf?crs=gcj02").content
    assert building.code in {f["properties"]["code"] for f in mapbox_vector_tile.decode(body)["buildings"]["features"]}


def test_search_finds_people_only_within_scope(world):
    person = world.people[0]
    worker = client_as(world.accounts["worker"])
    results = worker.get("/api/v1/search", {"q": person.name}).json()["results"]
    assert results[0]["kind"] == "person" and results[0]["building_id"] == world.buildings[0].id
    assert abs(results[0]["lon"] - (X0 + 0.0052)) < 0.001
    # A person in another grid: not for this worker; nor any person for a manager.
    other = world.people[-1]
    assert not [r for r in worker.get("/api/v1/search", {"q": other.name}).json()["results"] if r["kind"] == "person"]
    manager = client_as(world.accounts["manager"]).get("/api/v1/search", {"q": "王"}).json()["results"]
    assert not [r for r in manager if r["kind"] in ("person", "household")]
    # Buildings by code or address, households by room.
    by_code = client_as(world.accounts["manager"]).get("/api/v1/search", {"q": world.buildings[2].code}).json()
    assert by_code["results"][0]["building_id"] == world.buildings[2].id
    rooms = worker.get("/api/v1/search", {"q": "1101"}).json()["results"]
    assert [r["kind"] for r in rooms] == ["household"]
    assert client_as(world.accounts["worker"]).get("/api/v1/search", {"q": ""}).status_code == 400


def test_hex_bins_count_every_case_in_view_once(world_with_cases):
    world = world_with_cases
    manager = client_as(world.accounts["manager"])
    for zoom in (11, 13, 15, 16):  # z17 over this 6 km view is past the bins limit
        body = manager.get(f"/api/v1/dashboard/hexbins?in_bbox={BBOX}&zoom={zoom}").json()
        assert sum(f["properties"]["count"] for f in body["features"]) == len(world.cases), zoom
        assert all(
            f["geometry"]["type"] == "Polygon" and len(f["geometry"]["coordinates"][0]) == 7 for f in body["features"]
        )
        # Each hexagon drawn holds the cases it counts.
        for feature in body["features"]:
            hexagon = shape(feature["geometry"]).buffer(1e-6)
            inside = sum(hexagon.contains(Point(case.point.x, case.point.y)) for case in world.cases)
            assert inside >= feature["properties"]["count"], (zoom, feature)
    # Only part of the district in view: only its cases.
    west = f"{X0 - 0.01},{Y0 - 0.01},{X0 + 0.02},{Y0 + 0.05}"
    body = manager.get(f"/api/v1/dashboard/hexbins?in_bbox={west}&zoom=14").json()
    assert sum(f["properties"]["count"] for f in body["features"]) == 3
    # Date filter: the 40-day-old case drops out; per 1,000 residents uses the people of the buildings in each hexagon.
    from datetime import timedelta

    from django.utils import timezone

    since = (timezone.localdate() - timedelta(days=10)).isoformat()
    body = manager.get(f"/api/v1/dashboard/hexbins?in_bbox={BBOX}&zoom=11&date_from={since}&measure=per_1000").json()
    assert sum(f["properties"]["count"] for f in body["features"]) == 4
    assert 0 < sum(f["properties"]["people"] for f in body["features"]) <= 24
    for props in (f["properties"] for f in body["features"]):
        expected = round(1000 * props["count"] / props["people"], 2) if props["people"] else None
        assert props["per_1000"] == expected
    assert (
        client_as(world.accounts["worker"]).get(f"/api/v1/dashboard/hexbins?in_bbox={BBOX}&zoom=12").status_code == 403
    )


def test_dashboard_summary_ranks_and_counts(world_with_cases):
    world = world_with_cases
    body = client_as(world.accounts["manager"]).get("/api/v1/dashboard/summary").json()
    assert body["total"] == 5
    assert body["lights"] == {"green": 1, "yellow": 1, "red": 1}
    street = body["streets"][0]
    assert (street["received"], street["closed"], street["closed_on_time"], street["on_time_rate"]) == (5, 2, 1, 50.0)
    assert sum(m["received"] for m in body["months"]) == 5
    assert body["units"][0]["name"] == "清香坪街道办"


def test_dashboard_figures_show_a_new_case_at_once_though_kept_in_the_cache(world_with_cases):
    world = world_with_cases
    manager = client_as(world.accounts["manager"])
    hexbins = f"/api/v1/dashboard/hexbins?in_bbox={BBOX}&zoom=13"

    def figures():
        summary = manager.get("/api/v1/dashboard/summary").json()
        hexes = manager.get(hexbins).json()["features"]
        return summary["total"], summary["lights"], sum(f["properties"]["count"] for f in hexes)

    assert figures() == figures() == (5, {"green": 1, "yellow": 1, "red": 1}, 5)
    report_and_register(world=world, lon=X0 + 0.012, lat=Y0 + 0.012)
    total, lights, binned = figures()
    assert (total, binned) == (6, 6)
    assert lights["green"] == 2  # registered, its step just started


def test_dashboard_state_filter_takes_only_known_states(world_with_cases):
    manager = client_as(world_with_cases.accounts["manager"])
    refused = manager.get("/api/v1/dashboard/summary?state=false")
    assert refused.status_code == 400
    assert "state.0" in refused.json()["errors"]  # the first state given
    open_only = manager.get("/api/v1/dashboard/summary?state=reported&state=dispatched")
    assert open_only.status_code == 200
    assert open_only.json()["total"] < 5


def test_export_csv_and_xlsx(world_with_cases):
    manager = client_as(world_with_cases.accounts["manager"])
    csv_response = manager.get(f"/api/v1/dashboard/export.csv?in_bbox={BBOX}&zoom=13")
    assert csv_response.status_code == 200
    assert "attachment" in csv_response["Content-Disposition"]
    text = csv_response.content.decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0].startswith("section,key,name,count")
    assert sum(int(row[3]) for row in csv.reader(lines) if row[0] == "hexagon") == 5
    assert "清香坪街道" in text
    xlsx = manager.get(f"/api/v1/dashboard/export.xlsx?in_bbox={BBOX}&zoom=13")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "section" and sum(r[3] for r in rows if r[0] == "hexagon") == 5


def test_public_page_and_data_disclose_no_person_and_no_exact_location(world_with_cases):
    world = world_with_cases
    anonymous = APIClient()
    stats = anonymous.get("/api/v1/public/stats").json()
    assert sum(r["received"] for r in stats["rows"]) == 5
    assert sum(r["closed_on_time"] for r in stats["rows"]) == 1
    grids = anonymous.get("/api/v1/public/grids").json()
    assert sum(f["properties"]["received"] for f in grids["features"]) == 5
    text = json.dumps(stats, ensure_ascii=False) + json.dumps(grids, ensure_ascii=False)
    page = anonymous.get("/public/").content.decode()
    for person in world.people:
        assert person.name not in text and person.name not in page
    for case in world.cases:
        assert case.number not in text and case.description not in text and case.address not in text
        assert f"{case.point.x:.5f}" not in text and f"{case.point.y:.5f}" not in text
    for building in world.buildings:
        assert building.address not in text
    assert "photo" not in text.lower()


def test_a_street_manager_sees_only_the_figures_of_that_street(world_with_cases):
    from django.contrib.gis.geos import MultiPolygon

    from grids.models import Role
    from tests.factories import StaffFactory, StreetFactory, UserFactory, rect

    world = world_with_cases
    other = StreetFactory(name="玉泉街道", boundary=MultiPolygon(rect(X0 + 0.05, Y0, 0.02, 0.02), srid=4326))
    own = StaffFactory(user=UserFactory(username="t-street-manager"), role=Role.MANAGER, street=world.street).user
    elsewhere = StaffFactory(user=UserFactory(username="t-other-manager"), role=Role.MANAGER, street=other).user
    assert client_as(own).get("/api/v1/dashboard/summary").json()["total"] == 5
    summary = client_as(elsewhere).get("/api/v1/dashboard/summary").json()
    assert summary["total"] == 0
    assert [(s["name"], s["received"]) for s in summary["streets"]] == [("玉泉街道", 0)]
    hexes = client_as(elsewhere).get(f"/api/v1/dashboard/hexbins?in_bbox={BBOX}&zoom=13").json()
    assert hexes["features"] == []


def test_case_photos_only_for_those_who_see_the_case(world, settings, tmp_path):
    from PIL import Image

    from mobileapi.services import store_photo
    from tests.maps.conftest import report_and_register

    settings.MEDIA_ROOT = tmp_path
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 80, 40)).save(buffer, format="JPEG")
    photo, _ = store_photo(data=buffer.getvalue(), uploader=world.accounts["worker"])
    case = report_and_register(world=world, lon=X0 + 0.006, lat=Y0 + 0.006)
    from cases.models import CaseEvent

    CaseEvent.objects.create(case=case, actor=world.accounts["worker"], action="comment", attachments=[photo.sha256])
    url = f"/api/v1/case-photos/{photo.sha256}"
    response = client_as(world.accounts["dispatcher"]).get(url)
    assert response.status_code == 200 and response["Content-Type"].startswith("image/")
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"
    assert client_as(world.accounts["dispatcher"]).get(url + "?thumb=1").status_code == 200
    assert client_as(world.accounts["manager"]).get(url).status_code == 200  # managers see every case
    from grids.models import Role
    from tests.factories import StaffFactory, UserFactory

    stranger = StaffFactory(user=UserFactory(username="t-far-worker"), role=Role.WORKER, grids=[world.grids[3]]).user
    assert client_as(stranger).get(url).status_code == 404
    assert client_as(world.accounts["dispatcher"]).get("/api/v1/case-photos/" + "0" * 64).status_code == 404


def test_extreme_dates_are_a_clear_400_not_a_server_error(world_with_cases):
    manager = client_as(world_with_cases.accounts["manager"])
    for dates in ("date_from=0001-01-01&date_to=9999-12-31", "date_from=0907-10-08", "date_to=0001-01-01"):
        for path in ("dashboard/summary?", f"dashboard/hexbins?in_bbox={BBOX}&zoom=12&", "grid-figures?"):
            response = manager.get(f"/api/v1/{path}{dates}")
            assert response.status_code == 400 and "2000-01-01" in str(response.json()), (path, dates)


def test_date_windows_past_three_years_are_refused_naming_the_limit(world_with_cases):
    manager = client_as(world_with_cases.accounts["manager"])
    for path in ("dashboard/summary?", f"dashboard/hexbins?in_bbox={BBOX}&zoom=12&", "grid-figures?"):
        response = manager.get(f"/api/v1/{path}date_from=2020-01-01&date_to=2024-12-31")
        assert response.status_code == 400, path
        assert "1098" in response.json()["errors"]["date_from"][0], path
        assert manager.get(f"/api/v1/{path}date_from=2022-01-02&date_to=2024-12-31").status_code == 200, path
    # A start alone runs to today: one more than three years back is refused too.
    assert manager.get("/api/v1/dashboard/summary?date_from=2021-01-01").status_code == 400


def test_world_bbox_at_zoom_12_is_refused_naming_the_bins_limit(world_with_cases):
    manager = client_as(world_with_cases.accounts["manager"])
    for path in ("hexbins", "export.csv"):
        response = manager.get(f"/api/v1/dashboard/{path}?in_bbox=-180,-85,180,85&zoom=12", HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 400, path
        message = response.json()["errors"]["in_bbox"][0]
        assert "12000" in message and "zoom 12" in message, message
    response = manager.get(f"/api/v1/dashboard/hexbins?in_bbox={BBOX}&zoom=17")
    assert response.status_code == 400 and "12000" in response.json()["errors"]["in_bbox"][0]
    polar = manager.get("/api/v1/dashboard/hexbins?in_bbox=0,89,0.001,90&zoom=20")
    assert polar.status_code == 400 and "85.05" in polar.json()["errors"]["in_bbox"][0]
    # The district's view at the same zoom is well within.
    assert manager.get(f"/api/v1/dashboard/hexbins?in_bbox={BBOX}&zoom=12").status_code == 200
    assert manager.get("/api/v1/dashboard/summary?date_from=2026-02-01&date_to=2026-01-01").status_code == 400


def test_tiles_answer_304_while_their_buildings_are_unchanged(world):
    from grids.models import Household
    from tests.factories import BuildingFactory, square

    building = world.buildings[0]
    centre = building.footprint.centroid
    x, y = tile_of(centre.x, centre.y, 16)
    url = f"/api/v1/tiles/buildings/16/{x}/{y}.pbf"
    worker = client_as(world.accounts["worker"])
    first = worker.get(url)
    etag = first["ETag"]
    assert first.status_code == 200 and etag.startswith('W/"')

    def revalidate(tag: str):
        return worker.get(url, HTTP_IF_NONE_MATCH=tag)

    unchanged = revalidate(etag)
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert unchanged["ETag"] == etag and unchanged["Cache-Control"] == first["Cache-Control"]
    # RFC 9110 weak comparison: the tag as a proxy passes it on, strong or weakened, in a list, or `*`.
    for tag in (etag.removeprefix("W/"), f'"other", {etag}', "*"):
        assert revalidate(tag).status_code == 304, tag
    assert revalidate('"other"').status_code == 200
    # Another tile has another tag; the same tile shifted for a GCJ-02 base map too.
    assert worker.get(f"/api/v1/tiles/buildings/16/{x + 1}/{y}.pbf")["ETag"] != etag
    assert worker.get(url + "?crs=gcj02")["ETag"] != etag

    # Each change to what the tile shows gives a new tag and the new tile.
    building.name = "改名楼"
    building.save()
    renamed = revalidate(etag)
    assert renamed.status_code == 200 and renamed["ETag"] != etag
    features = mapbox_vector_tile.decode(renamed.content)["buildings"]["features"]
    assert "改名楼" in {f["properties"]["name"] for f in features}
    etag = renamed["ETag"]
    Household.objects.filter(building=building).first().delete()
    fewer = revalidate(etag)
    assert fewer.status_code == 200 and fewer["ETag"] != etag
    etag = fewer["ETag"]
    BuildingFactory(footprint=square(centre.x + 0.0003, centre.y, 0.0001))
    more = revalidate(etag)
    assert more.status_code == 200 and more["ETag"] != etag


def test_tiles_of_a_kilobyte_or_more_are_gzipped_and_keep_their_validator(world):
    import gzip

    from tests.factories import BuildingFactory, square

    building = world.buildings[0]
    centre = building.footprint.centroid
    for i in range(30):  # a street of buildings: a tile of several kilobytes
        BuildingFactory(footprint=square(centre.x + 0.0001 * (i % 6), centre.y + 0.0001 * (i // 6), 0.00008))
    x, y = tile_of(centre.x, centre.y, 16)
    url = f"/api/v1/tiles/buildings/16/{x}/{y}.pbf"
    worker = client_as(world.accounts["worker"])
    plain = worker.get(url)
    assert len(plain.content) >= 1024 and not plain.has_header("Content-Encoding")
    packed = worker.get(url, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert packed["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed["Vary"]
    assert len(packed.content) < len(plain.content)
    assert gzip.decompress(packed.content) == plain.content
    assert packed["ETag"] == plain["ETag"]
    again = worker.get(url, HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=packed["ETag"])
    assert again.status_code == 304
