"""check_topology finds what a map editor would get wrong: grids outside their community, overlapping grids
(in one community or across two), gaps, buildings straddling a grid boundary or in no grid."""

import io

import pytest
from django.contrib.gis.geos import MultiPolygon
from django.core.management import CommandError, call_command
from django.db import connection

from grids import topology
from grids.models import Building, Grid
from tests.factories import (
    ORIGIN,
    BuildingFactory,
    CommunityFactory,
    DistrictFactory,
    GridFactory,
    StreetFactory,
    multi_square,
    rect,
    square,
)
from tests.grids.test_seed_demo import loaded_demo

X, Y = ORIGIN


def run_check() -> tuple[bool, str]:
    out = io.StringIO()
    try:
        call_command("check_topology", stdout=out)
    except CommandError as error:
        return False, out.getvalue() + str(error)
    return True, out.getvalue()


@pytest.fixture
def town(db):
    """西区 as two 0.02° streets, one community each, two grids per community, a building in each grid."""
    district = DistrictFactory(boundary=MultiPolygon(rect(X, Y, 0.04, 0.02), srid=4326))
    grids = []
    for s in range(2):
        x0 = X + s * 0.02
        street = StreetFactory(district=district, code=f"51040300{s + 1}", boundary=multi_square(x0, Y, 0.02))
        community = CommunityFactory(street=street, code=f"{street.code}001", boundary=street.boundary)
        for g in range(2):
            grid = GridFactory(
                community=community,
                code=f"{community.code}{g + 1:02d}",
                boundary=MultiPolygon(rect(x0 + g * 0.01, Y, 0.01, 0.02), srid=4326),
            )
            BuildingFactory(code=f"B{s}{g}", footprint=square(x0 + g * 0.01 + 0.004, Y + 0.004, 0.0004))
            grids.append(grid)
    return grids


def test_a_clean_town_passes(town):
    ok, out = run_check()
    assert ok, out
    assert "topology OK" in out


def test_building_straddling_two_grids_is_named(town):
    # Move B00 onto the line between the first community's two grids.
    Building.objects.filter(code="B00").update(footprint=square(X + 0.0098, Y + 0.004, 0.0004))
    ok, out = run_check()
    assert not ok
    assert "B00" in out and "51040300100101" in out and "51040300100102" in out
    assert "not wholly inside its grid" in out and "未完全位于所属网格" in out


def test_building_outside_every_grid_is_named(town):
    Building.objects.filter(code="B10").update(footprint=square(X + 0.1, Y + 0.1, 0.0004))
    problems = topology.buildings_outside_grid()
    assert [(p.kind, p.codes) for p in problems] == [("building_without_grid", ("B10",))]


def test_overlapping_grids_in_one_community(town):
    # The first grid grows 0.002° into its neighbour.
    Grid.objects.filter(code="51040300100101").update(boundary=MultiPolygon(rect(X, Y, 0.012, 0.02), srid=4326))
    problems = topology.overlaps("grids_grid")
    assert [p.codes for p in problems] == [("51040300100101", "51040300100102")]
    assert problems[0].area_m2 == pytest.approx(0.002 * 0.02 * 111_320 * 0.894 * 110_574, rel=0.01)
    ok, out = run_check()
    assert not ok and "51040300100101" in out and "overlap" in out


def test_overlapping_grids_across_communities_and_a_grid_outside_its_community(town):
    Grid.objects.filter(code="51040300100102").update(boundary=MultiPolygon(rect(X + 0.01, Y, 0.011, 0.02), srid=4326))
    kinds = {(p.kind, p.codes) for p in topology.check_topology()}
    assert ("overlap", ("51040300100102", "51040300200101")) in kinds
    assert ("outside_parent", ("51040300100102", "510403001001")) in kinds


def test_a_gap_between_grids_is_reported(town):
    Grid.objects.filter(code="51040300200102").update(boundary=MultiPolygon(rect(X + 0.031, Y, 0.009, 0.02), srid=4326))
    problems = [p for p in topology.check_topology() if p.kind == "gap"]
    assert [p.codes for p in problems] == [("510403002001",)]
    assert problems[0].area_m2 == pytest.approx(0.001 * 0.02 * 111_320 * 0.894 * 110_574, rel=0.01)


def test_a_community_without_grids_is_one_big_gap(town):
    CommunityFactory(street=town[0].community.street, code="510403001002", boundary=multi_square(X + 0.1, Y, 0.01))
    problems = {p.codes: p for p in topology.check_topology()}
    assert ("510403001002",) in problems  # covered by no grid at all
    assert problems[("510403001002",)].kind == "gap"


# -- on the generated demo -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_demo(django_db_setup, django_db_blocker):
    with loaded_demo(django_db_blocker):
        yield


def neighbours():
    """Two grids of one community that share an edge, and a point on that edge."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT a.code, b.code, ST_X(p), ST_Y(p) FROM grids_grid a
               JOIN grids_grid b ON a.community_id = b.community_id AND a.id < b.id AND a.boundary && b.boundary
               CROSS JOIN LATERAL (SELECT ST_LineInterpolatePoint(
                   ST_GeometryN(ST_LineMerge(ST_CollectionExtract(ST_Intersection(a.boundary, b.boundary), 2)), 1),
                   0.5) AS p) x
               WHERE ST_Length(ST_CollectionExtract(ST_Intersection(a.boundary, b.boundary), 2)) > 0.001
               ORDER BY a.code, b.code LIMIT 1"""
        )
        return cursor.fetchone()


@pytest.mark.django_db
def test_the_demo_passes(small_demo):
    ok, out = run_check()
    assert ok, out


@pytest.mark.django_db
def test_demo_building_moved_across_a_grid_boundary_is_named(small_demo):
    a, b, x, y = neighbours()
    building = Building.objects.filter(grid__code=a).order_by("code").first()
    building.footprint = square(x - 0.0001, y - 0.0001, 0.0002)
    building.save()
    ok, out = run_check()
    assert not ok
    line = next(line for line in out.splitlines() if building.code in line)
    assert "未完全位于所属网格" in line and a in line and b in line


@pytest.mark.django_db
def test_demo_grids_made_to_overlap_are_named(small_demo):
    a, b, _, _ = neighbours()
    grid = Grid.objects.get(code=a)
    other = Grid.objects.get(code=b)
    inside = other.boundary.point_on_surface
    grown = grid.boundary.union(square(inside.x - 0.0003, inside.y - 0.0003, 0.0006))
    grid.boundary = grown if grown.geom_type == "MultiPolygon" else MultiPolygon(grown, srid=4326)
    grid.save()
    ok, out = run_check()
    assert not ok
    assert any(a in line and b in line and "overlap" in line for line in out.splitlines()), out
    assert "topology problems found" in out
