"""manage.py import_layer with real files written into tmp_path, against PostGIS."""

import datetime as dt
import json
import re
from io import StringIO

import geopandas as gpd
import numpy as np
import openpyxl
import pyproj
import pytest
import shapely
from django.contrib.admin import AdminSite
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F
from django.urls import path
from shapely.geometry import MultiPolygon, Point, Polygon, box

from grids import pii
from grids.admin_io import register_import_view
from grids.coords import wgs84_to_gcj02
from grids.gisio import crs as crs_module
from grids.gisio import importers
from grids.gisio.readers import open_source
from grids.models import Building, Community, Grid, Household, Person, Street, Unit
from tests.factories import (
    ORIGIN,
    BuildingFactory,
    CommunityFactory,
    DistrictFactory,
    GridFactory,
    StreetFactory,
    fake_id_number,
    multi_square,
)

pytestmark = pytest.mark.django_db
X, Y = ORIGIN
SUMMARY = re.compile(r"^\s+(read|new|changed|unchanged|refused|repaired)\s+(\d+)", re.MULTILINE)


def run(*args) -> str:
    out = StringIO()
    call_command("import_layer", *[str(a) for a in args], "--no-progress", stdout=out, stderr=StringIO())
    return out.getvalue()


def run_failing(*args) -> tuple[str, str]:
    """(summary printed, error message) of an import that exits non-zero."""
    out = StringIO()
    with pytest.raises(CommandError) as error:
        call_command("import_layer", *[str(a) for a in args], "--no-progress", stdout=out, stderr=StringIO())
    return out.getvalue(), str(error.value)


def counts(summary: str) -> dict[str, int]:
    return {name: int(value) for name, value in SUMMARY.findall(summary)}


def max_vertex_distance_m(table: str, column: str, code: str, truth) -> float:
    """Hausdorff distance in metres (geography) between the stored geometry's vertices and the truth's.

    Vertices are matched to the nearest one, not by position: a Shapefile writer may turn the rings round.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH a AS (SELECT (ST_DumpPoints(t.{column})).geom::geography AS g FROM {table} t WHERE t.code = %s),
                 b AS (SELECT (ST_DumpPoints(ST_GeomFromText(%s, 4326))).geom::geography AS g)
            SELECT greatest(
                (SELECT max(d) FROM (SELECT min(ST_Distance(a.g, b.g)) AS d FROM a, b GROUP BY a.g::text) x),
                (SELECT max(d) FROM (SELECT min(ST_Distance(a.g, b.g)) AS d FROM a, b GROUP BY b.g::text) y)
            )
            """,
            [code, truth.wkt],
        )
        return cursor.fetchone()[0]


def building_rows() -> list[tuple]:
    """Every building with its physical row version (xmin): a rewrite changes xmin even when values do not."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT code, name, address, floors, use, ST_AsEWKB(footprint), grid_id, xmin::text "
            "FROM grids_building ORDER BY code"
        )
        return cursor.fetchall()


@pytest.fixture
def town():
    """西区 with one street, one community and two grids side by side (west and east), 0.02° each."""
    district = DistrictFactory(boundary=multi_square(X, Y, 0.04))
    street = StreetFactory(district=district, code="510403001", name="炳草岗街道", boundary=multi_square(X, Y, 0.04))
    community = CommunityFactory(street=street, code="510403001001", name="新华社区", boundary=street.boundary)
    west = GridFactory(
        community=community,
        code="51040300100101",
        boundary=shapely_to_geos(MultiPolygon([box(X, Y, X + 0.02, Y + 0.04)])),
    )
    east = GridFactory(
        community=community,
        code="51040300100102",
        boundary=shapely_to_geos(MultiPolygon([box(X + 0.02, Y, X + 0.04, Y + 0.04)])),
    )
    return {"district": district, "street": street, "community": community, "west": west, "east": east}


def shapely_to_geos(geometry):
    from django.contrib.gis.geos import GEOSGeometry

    return GEOSGeometry(geometry.wkt, srid=4326)


def footprint(dx: float, dy: float, size: float = 0.0004) -> Polygon:
    return box(X + dx, Y + dy, X + dx + size, Y + dy + size)


def buildings_frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "编码": ["B001", "B002", "B003"],
            "名称": ["1栋", "2栋", "商场"],
            "地址": ["人民街1号", "人民街3号", "人民街5号"],
            "层数": [6, 18, 3],
            "用途": ["住宅", "住宅", "商业"],
        },
        geometry=[footprint(0.005, 0.005), footprint(0.006, 0.010), footprint(0.030, 0.020)],
        crs="EPSG:4326",
    )


# --- GeoPackage, dry run, commit, re-import ------------------------------------------------------------


def test_geopackage_buildings_dry_run_then_commit_then_reimport(tmp_path, town):
    path = tmp_path / "buildings.gpkg"
    buildings_frame().to_file(path, layer="楼栋", driver="GPKG")

    dry = run("buildings", path)
    assert counts(dry) == {"read": 3, "new": 3, "changed": 0, "unchanged": 0, "refused": 0}
    assert "DRY RUN" in dry
    assert Building.objects.count() == 0

    committed = run("buildings", path, "--commit")
    assert counts(committed)["new"] == 3
    b1, b3 = Building.objects.get(code="B001"), Building.objects.get(code="B003")
    assert (b1.name, b1.address, b1.floors, b1.use) == ("1栋", "人民街1号", 6, "residential")
    assert b3.use == "commercial"
    # The grid comes from the footprint (database trigger), not from the file.
    assert b1.grid == town["west"] and b3.grid == town["east"]

    before = building_rows()
    again = run("buildings", path, "--commit")
    assert counts(again) == {"read": 3, "new": 0, "changed": 0, "unchanged": 3, "refused": 0}
    assert building_rows() == before  # same values, and no row rewritten (same xmin)


def test_a_changed_row_is_reported_with_the_fields_that_change(tmp_path, town):
    path = tmp_path / "buildings.gpkg"
    frame = buildings_frame()
    frame.to_file(path)
    run("buildings", path, "--commit")
    frame.loc[1, "名称"] = "2栋（新）"
    frame.loc[2, "geometry"] = footprint(0.031, 0.021)
    frame.to_file(path)

    dry = run("buildings", path)
    assert counts(dry) == {"read": 3, "new": 0, "changed": 2, "unchanged": 1, "refused": 0}
    assert "row 2: B002: name" in dry and "row 3: B003: geometry" in dry
    assert Building.objects.get(code="B002").name == "2栋"

    run("buildings", path, "--commit")
    assert Building.objects.get(code="B002").name == "2栋（新）"


def grids_by_trigger() -> dict[str, tuple[int | None, int | None]]:
    """code -> (grid_id as stored, grid_id the trigger's rule gives for the stored footprint)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT code, grid_id, grids_grid_at(footprint) FROM grids_building ORDER BY code")
        return {code: (stored, by_trigger) for code, stored, by_trigger in cursor.fetchall()}


@pytest.mark.parametrize("all_at_once", [True, False], ids=["grids found for all rows", "grids found row by row"])
def test_an_import_assigns_the_grids_the_trigger_would(tmp_path, town, monkeypatch, all_at_once):
    monkeypatch.setattr(importers, "GRID_MAP_MIN_ROWS", 0 if all_at_once else 1000)
    # A third grid overlapping the west one: where both cover a footprint, the first grid by code wins.
    overlap = GridFactory(
        community=town["community"],
        code="51040300100100",
        boundary=shapely_to_geos(MultiPolygon([box(X + 0.015, Y, X + 0.025, Y + 0.01)])),
    )
    path = tmp_path / "buildings.gpkg"
    frame = gpd.GeoDataFrame(
        {
            "code": ["W1", "W2", "E1", "O1", "EDGE", "OUT"],
            "name": ["西1", "西2", "东1", "重叠", "界上", "区外"],
            "address": ["街1号", "街2号", "街3号", "街4号", "街5号", "街6号"],
            "floors": [6, 6, 6, 6, 6, 6],
        },
        geometry=[
            footprint(0.005, 0.005),
            footprint(0.010, 0.030),
            footprint(0.030, 0.030),
            footprint(0.0195, 0.004, 0.001),  # across the west/east line, inside the overlapping grid
            footprint(0.0195, 0.020, 0.001),  # across the west/east line
            footprint(0.100, 0.100),  # in no grid
        ],
        crs="EPSG:4326",
    )
    frame.to_file(path, layer="buildings", driver="GPKG")

    dry = run("buildings", path)
    assert "1 building(s) lie in no grid" in dry

    out = run("buildings", path, "--commit")
    assert counts(out)["new"] == 6 and "1 building(s) lie in no grid" in out
    grids = grids_by_trigger()
    assert all(stored == by_trigger for stored, by_trigger in grids.values()), grids
    assert grids["W1"][0] == town["west"].pk and grids["E1"][0] == town["east"].pk
    assert grids["O1"][0] == overlap.pk and grids["OUT"][0] is None

    # The trigger itself, run over every row, changes nothing.
    Building.objects.update(footprint=F("footprint"))
    assert grids_by_trigger() == grids

    # A re-import that moves footprints moves the buildings with them (the UPDATE finds the grids as well).
    frame.loc[0, "geometry"] = footprint(0.030, 0.010)  # west -> east
    frame.loc[2, "geometry"] = footprint(0.200, 0.200)  # east -> no grid
    frame.loc[5, "geometry"] = footprint(0.005, 0.035)  # no grid -> west
    frame.to_file(path, layer="buildings", driver="GPKG")
    out = run("buildings", path, "--commit")
    assert counts(out)["changed"] == 3
    moved = grids_by_trigger()
    assert all(stored == by_trigger for stored, by_trigger in moved.values()), moved
    assert [moved[c][0] for c in ("W1", "E1", "OUT")] == [town["east"].pk, None, town["west"].pk]

    # The trigger stood down for the import's own statements only: later writes in the same transaction get
    # their grid from it again, and a grid typed in is overwritten.
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('gridmgmt.building_grid_given', true)")
        assert cursor.fetchone()[0] != "on"
    later = BuildingFactory(code="LATER", footprint=shapely_to_geos(footprint(0.031, 0.031)))
    later.refresh_from_db()
    assert later.grid_id == town["east"].pk
    Building.objects.filter(code="LATER").update(grid=town["west"])
    assert Building.objects.get(code="LATER").grid_id == town["east"].pk


def test_batches_of_two_give_what_one_batch_gives(tmp_path, town):
    """Each batch is sent while the next is read: refusals keep their row numbers, the rows all arrive."""
    path = tmp_path / "buildings.gpkg"
    gpd.GeoDataFrame(
        {
            "code": ["B1", "B2", "B3", "B4", "B5", "B6", "B2"],
            "floors": [6, 6, 6, 0, 6, 6, 6],
        },
        geometry=[footprint(0.001 * i, 0.001 * i) for i in range(6)] + [footprint(0.03, 0.03)],
        crs="EPSG:4326",
    ).to_file(path, layer="buildings", driver="GPKG")

    one = run_failing("buildings", path, "--commit")[0]
    two = run_failing("buildings", path, "--commit", "--batch-size", 2)[0]
    assert counts(one) == counts(two) == {"read": 7, "new": 5, "changed": 0, "unchanged": 0, "refused": 2}
    for out in (one, two):
        assert "row 4: column floors: 0 is outside 1–200" in out and "row 7: same code B2 as row 2" in out
    assert Building.objects.count() == 0

    out = run("buildings", path, "--commit", "--skip-refused", "--batch-size", 2)
    assert counts(out)["new"] == 5
    assert sorted(Building.objects.values_list("code", flat=True)) == ["B1", "B2", "B3", "B5", "B6"]
    assert not Building.objects.filter(grid=None).exists()


def test_dry_run_writes_nothing(tmp_path, town):
    path = tmp_path / "grids.geojson"
    gpd.GeoDataFrame(
        {"code": ["51040300100103"], "name": ["第三网格"]},
        geometry=[box(X, Y + 0.04, X + 0.02, Y + 0.05)],
        crs="EPSG:4326",
    ).to_file(path, driver="GeoJSON")
    tables = ("grids_grid", "grids_building", "grids_community")
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(f"SELECT count(*) FROM {t}" for t in tables))
        before = cursor.fetchall()
        out = run("grids", path)
        cursor.execute(" UNION ALL ".join(f"SELECT count(*) FROM {t}" for t in tables))
        assert cursor.fetchall() == before
        cursor.execute("SELECT count(*) FROM pg_class WHERE relname LIKE 'gisio_%%'")
        assert cursor.fetchone()[0] == 0  # no staging table left behind
    assert counts(out)["new"] == 1 and "nothing written" in out


# --- Shapefiles: GBK attributes, .cpg, projected CGCS2000 ---------------------------------------------


def grids_frame(crs="EPSG:4326") -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(
        {"WGBM": ["51040300100103", "51040300100104"], "WGMC": ["攀枝花大道第一网格", "炳草岗网格（二）"]},
        geometry=[box(X, Y + 0.04, X + 0.02, Y + 0.06), box(X + 0.02, Y + 0.04, X + 0.04, Y + 0.06)],
        crs="EPSG:4326",
    )
    return frame.to_crs(crs) if crs != "EPSG:4326" else frame


def test_shapefile_with_gbk_attributes_and_cpg(tmp_path, town):
    path = tmp_path / "网格.shp"
    grids_frame().to_file(path, encoding="GBK")
    assert (tmp_path / "网格.cpg").read_text().strip().upper() == "GBK"
    assert "攀枝花大道".encode("gbk") in (tmp_path / "网格.dbf").read_bytes()  # really GBK, not UTF-8

    out = run("grids", path, "--map", "code=WGBM", "--map", "name=WGMC", "--commit")
    assert counts(out)["new"] == 2
    grid = Grid.objects.get(code="51040300100103")
    assert grid.name == "攀枝花大道第一网格"
    assert Grid.objects.get(code="51040300100104").name == "炳草岗网格（二）"
    assert grid.community == town["community"]  # parent taken from the code's first 12 digits


def test_shapefile_with_gbk_attributes_and_no_cpg_is_recognised(tmp_path, town):
    path = tmp_path / "grids.shp"
    grids_frame().to_file(path, encoding="GBK")
    (tmp_path / "grids.cpg").unlink()

    out = run("grids", path, "--map", "code=WGBM", "--map", "name=WGMC", "--commit")
    assert "no .cpg" in out
    assert Grid.objects.get(code="51040300100103").name == "攀枝花大道第一网格"

    # --encoding overrides the guess: read as UTF-8 the names would not decode to the same text.
    out = run("grids", path, "--map", "code=WGBM", "--map", "name=WGMC", "--encoding", "GBK")
    assert counts(out)["unchanged"] == 2


def test_shapefile_in_cgcs2000_gauss_kruger_zone_4543(tmp_path, town):
    truth = grids_frame()
    path = tmp_path / "grids_4543.shp"
    projected = grids_frame("EPSG:4543")
    assert projected.total_bounds[0] > 400_000  # metres, CM 102°E
    projected.to_file(path, encoding="UTF-8")

    out = run("grids", path, "--map", "code=WGBM", "--map", "name=WGMC", "--commit")
    assert "EPSG:4543" in out and counts(out)["new"] == 2
    for code, geometry in zip(truth["WGBM"], truth.geometry, strict=True):
        assert max_vertex_distance_m("grids_grid", "boundary", code, MultiPolygon([geometry])) < 1.0

    # A file without a .prj in metres is refused with the hint to name the CRS.
    (tmp_path / "grids_4543.prj").unlink()
    summary, error = run_failing("grids", path, "--map", "code=WGBM", "--map", "name=WGMC")
    assert "--crs" in summary and "refused" in error
    # … and named on the command line, it lands where it should.
    out = run("grids", path, "--map", "code=WGBM", "--map", "name=WGMC", "--crs", "EPSG:4543")
    assert counts(out) == {"read": 2, "new": 0, "changed": 0, "unchanged": 2, "refused": 0}


def test_a_zipped_shapefile_is_read(tmp_path, town):
    import zipfile

    grids_frame().to_file(tmp_path / "g.shp", encoding="GBK")
    archive = tmp_path / "grids.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for suffix in ("shp", "shx", "dbf", "prj", "cpg"):
            handle.write(tmp_path / f"g.{suffix}", f"data/g.{suffix}")
    out = run("grids", archive, "--map", "code=WGBM", "--map", "name=WGMC", "--commit")
    assert counts(out)["new"] == 2
    assert Grid.objects.get(code="51040300100104").name == "炳草岗网格（二）"


# --- GeoJSON: units with parents, and broken geometries ---------------------------------------------


def write_geojson(path, features: list[dict]) -> None:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False))


def feature(properties: dict, geometry: dict | None) -> dict:
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def test_geojson_units_with_parents_in_the_same_file(tmp_path, town):
    path = tmp_path / "units.geojson"
    square = shapely.geometry.mapping(box(X, Y, X + 0.04, Y + 0.04))
    write_geojson(
        path,
        [
            # The child comes before its parent: parents are linked once every unit exists.
            feature(
                {"单位编码": "PS01", "单位名称": "炳草岗派出所", "单位类型": "派出所", "上级单位编码": "CC"}, square
            ),
            feature(
                {"单位编码": "CC", "单位名称": "西区指挥中心", "单位类型": "指挥中心", "上级单位编码": None}, square
            ),
        ],
    )
    out = run("units", path, "--commit")
    assert counts(out)["new"] == 2
    police = Unit.objects.get(code="PS01")
    assert police.type == "police_station" and police.parent.code == "CC"
    assert police.jurisdiction.geom_type == "MultiPolygon"  # a polygon is stored as a one-part MultiPolygon
    assert counts(run("units", path, "--commit"))["unchanged"] == 2

    write_geojson(
        path, [feature({"单位编码": "PS02", "单位名称": "x", "单位类型": "派出所", "上级单位编码": "NOPE"}, square)]
    )
    summary, _ = run_failing("units", path, "--commit")
    assert "row 1: parent unit NOPE not found" in summary


def test_broken_geometries_are_repaired_or_refused_with_their_row(tmp_path, town):
    path = tmp_path / "grids.geojson"
    bow_tie = {"type": "Polygon", "coordinates": [[[X, Y], [X + 0.01, Y + 0.01], [X + 0.01, Y], [X, Y + 0.01], [X, Y]]]}
    write_geojson(
        path,
        [
            feature({"code": "51040300100103", "name": "蝴蝶"}, bow_tie),
            feature({"code": "51040300100104", "name": "空"}, {"type": "Polygon", "coordinates": []}),
            feature(
                {"code": "51040300100105", "name": "一条线"},
                {"type": "Polygon", "coordinates": [[[X, Y], [X + 0.01, Y], [X + 0.02, Y], [X, Y]]]},
            ),
            feature({"code": "51040300100106", "name": "无"}, None),
            feature({"code": "51040300100107", "name": "点"}, {"type": "Point", "coordinates": [X, Y]}),
            feature({"code": "51040300100108", "name": "好"}, shapely.geometry.mapping(box(X, Y, X + 0.01, Y + 0.01))),
        ],
    )
    before = Grid.objects.count()
    summary, error = run_failing("grids", path, "--commit")
    assert "4 row(s) refused" in error
    assert Grid.objects.count() == before  # all or nothing
    assert counts(summary)["refused"] == 4 and counts(summary)["repaired"] == 1
    assert "row 2: empty geometry" in summary
    assert "row 3: cannot be repaired into a polygon" in summary
    assert "row 4: no geometry" in summary
    assert "row 5: a Point, not a polygon" in summary
    assert "repaired         1  invalid geometries made valid: rows 1" in summary

    out = run("grids", path, "--commit", "--skip-refused")
    assert counts(out)["new"] == 2 and counts(out)["refused"] == 4 and "row 2: empty geometry" in out
    bow = Grid.objects.get(code="51040300100103")
    assert bow.boundary.valid and len(bow.boundary) == 2  # the two triangles of the bow tie
    assert bow.boundary.area == pytest.approx(0.00005, rel=1e-6)

    # --no-repair refuses the bow tie instead.
    summary, _ = run_failing("grids", path, "--no-repair")
    assert re.search(r"row 1: invalid geometry \(Self-intersection", summary)


def test_building_footprints_are_single_polygons(tmp_path, town):
    path = tmp_path / "b.gpkg"
    gpd.GeoDataFrame(
        {"code": ["ONE", "TWO"], "floors": [3, 3]},
        geometry=[
            MultiPolygon([footprint(0.005, 0.005)]),
            MultiPolygon([footprint(0.005, 0.005), footprint(0.007, 0.005)]),
        ],
        crs="EPSG:4326",
    ).to_file(path)
    summary, error = run_failing("buildings", path, "--commit")
    assert "row 2: footprint has 2 separate parts" in summary and "1 row(s) refused" in error
    run("buildings", path, "--commit", "--skip-refused")
    assert Building.objects.get(code="ONE").footprint.geom_type == "Polygon"
    assert not Building.objects.filter(code="TWO").exists()


# --- CSV: WKT in GCJ-02, lon/lat, missing columns ---------------------------------------------------


def to_gcj02(geometry):
    return shapely.transform(geometry, lambda xy: np.array([wgs84_to_gcj02(x, y) for x, y in xy]))


def test_csv_of_wkt_footprints_in_gcj02_lands_within_a_metre(tmp_path, town):
    truth = footprint(0.012, 0.012)
    shifted = to_gcj02(truth)
    with connection.cursor() as cursor:  # the offset is real: hundreds of metres if it were not converted
        cursor.execute("SELECT ST_Distance(%s::geography, %s::geography)", [truth.centroid.wkt, shifted.centroid.wkt])
        assert cursor.fetchone()[0] > 100
    path = tmp_path / "楼栋.csv"
    path.write_text(f'楼栋编码,名称,层数,wkt\nG001,高德楼,7,"{shifted.wkt}"\n', encoding="utf-8")

    out = run("buildings", path, "--crs", "gcj02", "--commit")
    assert "GCJ-02" in out and counts(out)["new"] == 1
    assert max_vertex_distance_m("grids_building", "footprint", "G001", truth) < 1.0
    assert Building.objects.get(code="G001").grid == town["west"]


def test_csv_in_gbk_with_lon_lat_points_gcj02_converted(tmp_path):
    truth = Point(X + 0.01, Y + 0.01)
    lon, lat = wgs84_to_gcj02(truth.x, truth.y)
    path = tmp_path / "points.csv"
    path.write_bytes(f"名称,经度,纬度\n网格员甲,{lon!r},{lat!r}\n".encode("gbk"))
    source = open_source(path)
    assert source.info.columns == ["名称", "经度", "纬度"]  # GBK recognised
    batch = next(source.batches(10))
    point = crs_module.resolve(file_crs=None, override="gcj02").to_wgs84(batch.geometries)[0]
    geod = pyproj.Geod(ellps="WGS84")
    assert geod.inv(point.x, point.y, truth.x, truth.y)[2] < 1.0


def test_points_cannot_be_building_footprints(tmp_path, town):
    path = tmp_path / "b.csv"
    path.write_text("code,floors,lon,lat\nP1,3,101.61,26.59\n", encoding="utf-8")
    summary, _ = run_failing("buildings", path, "--commit")
    assert "row 2: a Point, not a polygon" in summary


def test_a_missing_column_names_the_columns_found_and_the_option_to_use(tmp_path, town):
    path = tmp_path / "b.gpkg"
    frame = buildings_frame().drop(columns=["层数"]).rename(columns={"编码": "BM"})
    frame["LC"] = [6, 18, 3]
    frame.to_file(path)
    with pytest.raises(CommandError) as error:
        run("buildings", path)
    message = str(error.value)
    assert "no column for floors" in message
    assert "Columns found: BM, 名称, 地址, 用途, LC" in message
    assert "--map floors=COLUMN" in message
    assert counts(run("buildings", path, "--map", "floors=LC"))["new"] == 3

    with pytest.raises(CommandError, match="the file has no column 'NOPE'"):
        run("buildings", path, "--map", "floors=NOPE")


def test_mapping_file_in_yaml_and_json(tmp_path, town):
    path = tmp_path / "g.shp"
    grids_frame("EPSG:4543").to_file(path, encoding="GBK")
    (tmp_path / "g.prj").unlink()
    mapping = tmp_path / "grids.yaml"
    mapping.write_text("layer: grids\ncrs: EPSG:4543\nfields:\n  code: WGBM\n  name: WGMC\n", encoding="utf-8")
    assert counts(run("grids", path, "--mapping", mapping, "--commit"))["new"] == 2
    as_json = tmp_path / "grids.json"
    as_json.write_text(json.dumps({"code": "WGBM", "name": "WGMC"}), encoding="utf-8")
    assert counts(run("grids", path, "--mapping", as_json, "--crs", "EPSG:4543"))["unchanged"] == 2


def test_rows_refused_for_their_values_parents_and_duplicates(tmp_path, town):
    path = tmp_path / "communities.csv"
    path.write_text(
        "code,name,wkt\n"
        f'510403001002,新社区,"{box(X, Y, X + 0.01, Y + 0.01).wkt}"\n'
        f'510403009001,孤儿社区,"{box(X, Y, X + 0.01, Y + 0.01).wkt}"\n'
        f'510403001002,重复,"{box(X, Y, X + 0.01, Y + 0.01).wkt}"\n'
        f'12345,短码,"{box(X, Y, X + 0.01, Y + 0.01).wkt}"\n'
        f",无码,POLYGON((bad))\n",
        encoding="utf-8",
    )
    summary, error = run_failing("communities", path, "--commit")
    assert "4 row(s) refused" in error
    assert "row 3: street 510403009 not found: import it first" in summary
    assert "row 4: same code 510403001002 as row 2" in summary
    assert "row 5: column code: '12345' is not a 社区 code" in summary
    assert "row 6: column wkt: the WKT cannot be read" in summary and "empty code" in summary
    assert not Community.objects.filter(code="510403001002").exists()


def test_streets_take_their_district_from_the_code(tmp_path, town):
    path = tmp_path / "streets.geojson"
    write_geojson(
        path,
        [
            feature(
                {"街道编码": "510403002", "街道名称": "清香坪街道"},
                shapely.geometry.mapping(box(X, Y, X + 0.01, Y + 0.01)),
            )
        ],
    )
    run("streets", path, "--commit")
    assert Street.objects.get(code="510403002").district == town["district"]


# --- Spreadsheets: households and persons with Chinese headers ---------------------------------------


def write_xlsx(path, header: list[str], rows: list[list], *, title: str | None = None) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "数据"
    if title:
        sheet.append([title])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    workbook.save(path)


@pytest.fixture
def building(town, tmp_path):
    path = tmp_path / "b.gpkg"
    buildings_frame().to_file(path)
    run("buildings", path, "--commit")
    return Building.objects.get(code="B001")


def test_xlsx_households_and_persons_with_chinese_headers(tmp_path, building):
    households = tmp_path / "住户.xlsx"
    write_xlsx(
        households,
        ["楼栋编码", "单元", "楼层", "房号", "户类型"],
        [["B001", "1", 1, "101", "家庭户"], ["B001", "1", 1, "102", "出租户"], ["B001", "2", 3, "301", None]],
        title="西区住户信息表",
    )
    out = run("households", households, "--commit")
    assert counts(out)["new"] == 3
    assert Household.objects.get(building=building, unit_no="1", room="102").type == "rental"
    assert Household.objects.get(building=building, unit_no="2", room="301").type == "family"

    ids = [
        fake_id_number(1, birth="19520317"),
        fake_id_number(2, birth="19800101"),
        fake_id_number(3, birth="20100606"),
    ]
    persons = tmp_path / "人口.xlsx"
    rows = [
        [
            "张三",
            "男",
            ids[0],
            dt.date(1952, 3, 17),
            "13800000001",
            "户籍",
            "户主",
            "独居老人、残疾人",
            "B001",
            "1",
            1,
            "101",
        ],
        ["李四", "女", ids[1], "1980-01-01", "", "流动人口", "", "", "B001", "1", 1, "102"],
        ["王五", None, ids[2], None, "13900000003", "户籍人口", "子", "留守儿童", "B001", "2", 3, "301"],
    ]
    header = [
        "姓名",
        "性别",
        "身份证号",
        "出生日期",
        "联系电话",
        "户籍",
        "与户主关系",
        "关爱标签",
        "楼栋编码",
        "单元",
        "楼层",
        "房号",
    ]
    write_xlsx(persons, header, rows)
    out = run("persons", persons, "--commit")
    assert counts(out)["new"] == 3

    zhang = Person.objects.get(id_number_digest=pii.digest(ids[0]))
    assert zhang.name == "张三" and zhang.household.room == "101" and zhang.sex == "M"
    assert sorted(zhang.care_tags) == ["disabled", "elderly_alone"]
    assert zhang.id_number_masked == ids[0][:6] + "********" + ids[0][14:]
    assert pii.decrypt(zhang.phone_cipher) == "13800000001" and zhang.phone_masked == "138****0001"
    wang = Person.objects.get(name="王五")  # sex and birth date read from the ID number when not given
    assert (wang.sex, wang.birth_date, wang.residency) == ("M", dt.date(2010, 6, 6), "registered")
    assert Person.objects.get(name="李四").residency == "floating"

    # No plain ID number or phone anywhere in the table.
    with connection.cursor() as cursor:
        cursor.execute("SELECT string_agg(row_to_json(p)::text, ' ') FROM grids_person p")
        dump = cursor.fetchone()[0]
    for secret in (*ids, "13800000001", "13900000003"):
        assert secret not in dump

    before = list(Person.objects.order_by("id").values())
    again = run("persons", persons, "--commit")
    assert counts(again) == {"read": 3, "new": 0, "changed": 0, "unchanged": 3, "refused": 0}
    assert list(Person.objects.order_by("id").values()) == before  # ciphers not even re-encrypted


def test_persons_refused_rows_say_why(tmp_path, building):
    write_xlsx(tmp_path / "h.xlsx", ["楼栋编码", "楼层", "房号"], [["B001", 1, "101"]])
    run("households", tmp_path / "h.xlsx", "--commit")
    good = fake_id_number(7)
    path = tmp_path / "p.xlsx"
    write_xlsx(
        path,
        ["姓名", "身份证号", "楼栋编码", "楼层", "房号", "电话"],
        [
            ["甲", good, "B001", 1, "101", ""],
            ["乙", good[:-1] + ("0" if good[-1] != "0" else "1"), "B001", 1, "101", ""],
            ["丙", 510403198001010011, "B001", 1, "101", ""],
            ["丁", fake_id_number(8), "B001", 9, "909", ""],
            ["戊", fake_id_number(9), "B001", 1, "101", "12345"],
            ["己", good, "B001", 1, "101", ""],
        ],
    )
    summary, error = run_failing("persons", path, "--commit")
    assert "5 row(s) refused" in error and Person.objects.count() == 0
    assert "row 3: column 身份证号: 身份证号校验位不正确" in summary
    assert "row 4: column 身份证号: the ID number is stored as a number, which loses digits" in summary
    assert "row 5: household B001 9层 909 not found: import households first" in summary
    assert "row 6: column 电话: 电话号码格式不正确" in summary
    assert re.search(r"row 7: same ID number 510403\*{8}\d{3}[0-9X] as row 2", summary)
    assert good not in summary  # refusals never print a full ID number


# --- The admin upload ----------------------------------------------------------------------------------

upload_site = AdminSite(name="admin")
register_import_view(upload_site)
urlpatterns = [path("admin/", upload_site.urls)]  # this module's URLs for the admin tests


@pytest.mark.urls(__name__)
def test_admin_upload_dry_run_then_commit(client, admin_user, tmp_path, town):
    client.force_login(admin_user)
    assert client.get("/admin/grids/import/").status_code == 200
    source = tmp_path / "楼栋.gpkg"
    buildings_frame().to_file(source)

    def post(**extra):
        with source.open("rb") as handle:
            upload = SimpleUploadedFile("楼栋.gpkg", handle.read())
        return client.post("/admin/grids/import/", {"layer": "buildings", "file": upload, **extra})

    response = post()
    assert response.status_code == 200
    summary = response.content.decode()
    assert counts(summary)["new"] == 3 and "DRY RUN" in summary
    assert Building.objects.count() == 0
    response = post(commit="on")
    assert "Committed." in response.content.decode() and Building.objects.count() == 3

    with source.open("rb") as handle:
        response = client.post(
            "/admin/grids/import/",
            {"layer": "buildings", "file": SimpleUploadedFile("b.gpkg", handle.read()), "mapping": "floors=NOPE"},
        )
    assert "the file has no column &#x27;NOPE&#x27;" in response.content.decode()


@pytest.mark.urls(__name__)
def test_admin_upload_is_for_administrators_only(client, tmp_path):
    from tests.factories import StaffFactory, UserFactory

    staff = StaffFactory(role="worker", user=UserFactory(is_staff=True))
    client.force_login(staff.user)
    assert client.get("/admin/grids/import/").status_code == 403
