"""A grid worker's patrol track becomes a coverage share of the grid, once per client UUID."""

import uuid

import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Polygon

from grids.coords import wgs84_to_gcj02
from grids.models import Role
from mobileapi.models import Patrol
from tests.concurrency import post_at_once
from tests.factories import ORIGIN, GridFactory, multi_square

X, Y = ORIGIN
SIZE = 0.002  # about 200 m
URL = "/api/mobile/v1/patrols"


@pytest.fixture
def grid(db):
    return GridFactory(boundary=multi_square(X, Y, SIZE))


def across(y_fraction=0.5):
    y = Y + SIZE * y_fraction
    return [[X - 0.0005, y], [X + SIZE + 0.0005, y]]


def body(track, **extra):
    return {
        "client_uuid": str(uuid.uuid4()),
        "track": {"type": "LineString", "coordinates": track},
        "started_at": "2026-11-02T09:00:00+08:00",
        "ended_at": "2026-11-02T09:40:00+08:00",
        **extra,
    }


def expected_coverage(track) -> float:
    transformer = Transformer.from_crs(4326, 4543, always_xy=True)

    def to_metres(geometry):
        return shapely.transform(geometry, lambda xy: list(zip(*transformer.transform(*xy.T), strict=True)))

    square = to_metres(Polygon([(X, Y), (X + SIZE, Y), (X + SIZE, Y + SIZE), (X, Y + SIZE)]))
    walked = to_metres(LineString(track)).buffer(25)
    return square.intersection(walked).area / square.area


@pytest.mark.django_db
def test_patrol_reports_the_share_of_the_grid_within_25_m(client_for, grid):
    worker = client_for(Role.WORKER)
    worker.staff.grids.set([grid])
    response = worker.post(URL, body(across()), format="json")
    assert response.status_code == 201
    result = response.json()
    assert result["grid"]["code"] == grid.code
    assert result["coverage"] == pytest.approx(expected_coverage(across()), rel=0.02)
    assert 0.15 < result["coverage"] < 0.35
    assert result["length_m"] == pytest.approx(300, rel=0.1)


@pytest.mark.django_db
def test_gcj02_tracks_are_converted_before_measuring(client_for, grid):
    worker = client_for(Role.WORKER)
    shifted = [list(wgs84_to_gcj02(lon, lat)) for lon, lat in across()]
    result = worker.post(URL, body(shifted, crs="gcj02"), format="json").json()
    assert result["coverage"] == pytest.approx(expected_coverage(across()), rel=0.02)


@pytest.mark.django_db
def test_retries_return_the_first_result_and_reuse_with_other_content_is_409(client_for, grid):
    worker = client_for(Role.WORKER)
    first = body(across())
    created = worker.post(URL, first, format="json")
    again = worker.post(URL, first, format="json")
    assert (created.status_code, again.status_code) == (201, 200)
    assert again.json() == created.json()
    other = {**first, "track": {"type": "LineString", "coordinates": across(0.2)}}
    conflict = worker.post(URL, other, format="json")
    assert conflict.status_code == 409
    assert conflict.json()["existing"]["id"] == created.json()["id"]
    assert Patrol.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_make_one_patrol(client_for, grid):
    worker = client_for(Role.WORKER)
    payload = body(across())
    statuses = post_at_once(credentials=worker._credentials, url=URL, payload=payload, times=6)
    assert sorted(statuses) == [200] * 5 + [201]
    assert Patrol.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change, field",
    [
        ({"track": {"type": "Point", "coordinates": [X, Y]}}, "track"),
        ({"track": {"type": "LineString", "coordinates": [[X, Y]]}}, "track"),
        ({"track": {"type": "LineString", "coordinates": [["a", Y], [X, Y]]}}, "track"),
        ({"track": {"type": "LineString", "coordinates": [[X, 95], [X, Y]]}}, "track"),
        ({"track": "LINESTRING(0 0, 1 1)"}, "track"),
        ({"client_uuid": "not-a-uuid"}, "client_uuid"),
        ({"ended_at": "2026-11-02T08:00:00+08:00"}, "ended_at"),
        ({"started_at": "yesterday"}, "started_at"),
        ({"crs": "bd09"}, "crs"),
        ({"track": {"type": "LineString", "coordinates": [[100.0, 30.0], [100.01, 30.0]]}}, "track"),
    ],
)
def test_bad_patrols_are_400_naming_the_field_and_write_nothing(client_for, grid, change, field):
    response = client_for(Role.WORKER).post(URL, {**body(across()), **change}, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert Patrol.objects.count() == 0


@pytest.mark.django_db
def test_malformed_json_is_400(client_for, grid):
    response = client_for(Role.WORKER).post(URL, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert Patrol.objects.count() == 0
