"""GeoPackages read through SQLite (GpkgSource) give what pyogrio gives (OgrSource), batch for batch, or are left
to pyogrio. No database needed."""

import sqlite3

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, box

from grids.gisio import crs as crs_module
from grids.gisio.readers import GpkgSource, OgrSource, open_source

X, Y = 101.7, 26.58


def squares(n: int) -> list:
    return [box(X + i * 0.001, Y, X + i * 0.001 + 0.0005, Y + 0.0005) for i in range(n)]


def read_all(source, size: int) -> list[tuple]:
    """Every batch as (rows, columns with their Python types, geometries as WKB)."""
    batches = []
    for batch in source.batches(size):
        columns = {name: [(type(v).__name__, v) for v in values] for name, values in batch.columns.items()}
        geometries = [None if g is None else shapely.to_wkb(g) for g in batch.geometries]
        batches.append((batch.rows, columns, geometries))
    return batches


def assert_same_as_pyogrio(path, size: int = 2, layer=None) -> GpkgSource:
    fast = open_source(path, layer=layer)
    assert isinstance(fast, GpkgSource)
    slow = OgrSource(path, layer=layer, encoding=None)
    for key in ("format", "layer", "count", "crs", "encoding", "columns", "geometry", "notes"):
        assert getattr(fast.info, key) == getattr(slow.info, key), key
    assert read_all(fast, size) == read_all(slow, size)
    return fast


def test_text_and_integer_fields_in_several_batches(tmp_path):
    path = tmp_path / "楼栋.gpkg"
    gpd.GeoDataFrame(
        {
            "编码": ["B001", "B002", "B003", "B004", "B005"],
            "名称": ["1栋", "", "商场", None, "tab\there"],
            "层数": [6, 18, 3, 1, 2],
            "面积": [1.5, 2.0, 3.25, 1e10, -0.5],
        },
        geometry=squares(5),
        crs="EPSG:4326",
    ).to_file(path, layer="楼栋", driver="GPKG")
    assert_same_as_pyogrio(path, size=2)
    assert_same_as_pyogrio(path, size=10, layer="楼栋")


def test_empty_values_and_geometries(tmp_path):
    path = tmp_path / "nulls.gpkg"
    gpd.GeoDataFrame(
        {
            # a batch holding an empty integer comes out of pyogrio as floats; the next batch as integers
            "n": pd.array([1, None, 3, 4], dtype="Int64"),
            "m": pd.array([1, 2, None, 4], dtype="Int32"),
            "r": [1.5, None, 2.0, np.nan],
            "t": ["x", None, "中", ""],
        },
        geometry=[box(0, 0, 1, 1), None, Point(0, 0).buffer(0).buffer(1), shapely.Polygon()],
        crs="EPSG:4326",
    ).to_file(path, layer="l", driver="GPKG")
    assert_same_as_pyogrio(path, size=2)
    assert_same_as_pyogrio(path, size=3)


def test_multipolygons_in_cgcs2000(tmp_path):
    path = tmp_path / "grids.gpkg"
    gpd.GeoDataFrame(
        {"code": ["1", "2"]},
        geometry=[
            MultiPolygon([box(X, Y, X + 1, Y + 1), box(X + 2, Y, X + 3, Y + 1)]),
            MultiPolygon([box(X, Y, X + 0.5, Y + 0.5)]),
        ],
        crs="EPSG:4490",
    ).to_file(path, driver="GPKG")
    source = assert_same_as_pyogrio(path)
    assert source.info.crs == "EPSG:4490" and source.info.geometry == "MultiPolygon"


def test_a_blob_that_is_not_a_geopackage_geometry_is_read_by_gdal(tmp_path):
    path = tmp_path / "odd.gpkg"
    gpd.GeoDataFrame({"code": ["1", "2", "3"]}, geometry=squares(3), crs="EPSG:4326").to_file(path, layer="odd")
    with sqlite3.connect(path) as connection:  # plain WKB where a GeoPackage geometry belongs
        triggers = connection.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'rtree%'")
        for (name,) in triggers.fetchall():  # they call GDAL's SQL functions
            connection.execute(f'DROP TRIGGER "{name}"')
        connection.execute("UPDATE odd SET geom = ? WHERE fid = 2", [shapely.to_wkb(box(0, 0, 1, 1))])
    assert_same_as_pyogrio(path, size=2)


def test_a_stale_feature_count_is_read_as_gdal_reads_it(tmp_path):
    path = tmp_path / "stale.gpkg"
    gpd.GeoDataFrame({"code": list("abcde")}, geometry=squares(5), crs="EPSG:4326").to_file(path, layer="s")
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE gpkg_ogr_contents SET feature_count = 3")
    source = assert_same_as_pyogrio(path, size=2)
    assert source.info.count == 3


@pytest.mark.parametrize(
    "case",
    ["two layers", "boolean field", "datetime field", "3D geometry", "projected CRS", "another table", "no layer"],
)
def test_what_gdal_must_read_is_left_to_it(tmp_path, case):
    path = tmp_path / "other.gpkg"
    frame = gpd.GeoDataFrame({"code": ["1", "2"]}, geometry=squares(2), crs="EPSG:4326")
    layer = "a"
    if case == "boolean field":
        frame["flag"] = [True, False]
    elif case == "datetime field":
        frame["when"] = pd.to_datetime(["2026-01-01", "2026-02-01"])
    elif case == "3D geometry":
        frame.geometry = shapely.force_3d(frame.geometry.values)
    elif case == "projected CRS":
        frame = frame.to_crs("EPSG:4543")
    frame.to_file(path, layer=layer, driver="GPKG")
    if case == "two layers":
        frame.to_file(path, layer="b", driver="GPKG")
    elif case == "another table":
        with sqlite3.connect(path) as connection:
            connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    elif case == "no layer":
        layer = "missing"
    assert GpkgSource.try_open(path, layer=layer) is None
    if case in ("two layers", "no layer"):
        return  # pyogrio names the layers (tested with the import)
    source = open_source(path, layer=layer)
    assert isinstance(source, OgrSource)


@pytest.mark.parametrize("code", ["EPSG:4326", "EPSG:4490"])
def test_a_file_in_wgs84_or_cgcs2000_is_described_as_proj_describes_it(code):
    without_proj = crs_module.resolve(file_crs=code, override=None)
    with_proj = crs_module.resolve(file_crs=None, override=code)
    assert (without_proj.label, without_proj.convert) == (with_proj.label, None)
