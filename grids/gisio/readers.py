"""Reading a file's rows in batches, whatever its format, with flat memory.

GIS formats (GeoPackage, Shapefile, GeoJSON, FlatGeobuf, and any of them inside a .zip) go through pyogrio,
batch by batch with `skip_features`/`max_features`. A plain GeoPackage (one feature table of text and number
fields, 2D, in WGS84 or CGCS2000) is read straight through SQLite instead, as GDAL would read it (GpkgSource):
pyogrio's import alone (it loads pandas and geopandas) costs more than reading 100k rows that way. CSV is read
with the csv module and xlsx with openpyxl in
read-only mode, both streaming; their geometry comes from a WKT column or from lon/lat columns.

Row numbers are what a user finds in the file: in CSV and xlsx the spreadsheet row (the header is row 1 or
wherever it is), in GIS formats the feature's position counting from 1.
"""

import codecs
import csv
import re
import sqlite3
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from shapely.errors import ShapelyError

from grids.gisio.archives import LIMITS, WORKBOOK_LIMITS, check_archive
from grids.gisio.mapping import normalise_name, quoted

GIS_SUFFIXES = {".gpkg", ".shp", ".geojson", ".json", ".fgb"}
TABLE_SUFFIXES = {".csv", ".txt", ".xlsx", ".xlsm"}
SUFFIXES = GIS_SUFFIXES | TABLE_SUFFIXES | {".zip"}

# Column names recognised as geometry in tables (compared after normalise_name).
WKT_NAMES = ("wkt", "geometry", "geom", "thegeom", "shape", "几何", "几何图形", "空间信息", "坐标串")
LON_NAMES = ("lon", "lng", "long", "longitude", "x", "经度", "经度坐标", "x坐标")
LAT_NAMES = ("lat", "latitude", "y", "纬度", "纬度坐标", "y坐标")
GEOMETRY_KEYS = ("geometry", "lon", "lat")  # mapping keys that choose the geometry columns of a table

# dBASE language driver IDs (byte 29 of a .dbf) that name a Chinese code page.
DBF_CHINESE_LDID = {0x4D: "CP936", 0x7A: "CP936", 0x78: "CP950", 0x4E: "CP949"}
SRID_PREFIX = re.compile(r"^\s*SRID=\d+;", re.IGNORECASE)
CODE_PAGE = re.compile(r"[A-Za-z0-9_.:-]{1,32}")  # GBK, UTF-8, 936, 88591, ISO-8859-1 …
CPG_READ_BYTES = 64


class SourceError(ValueError):
    """The file cannot be read as asked; the message says what to do."""


def brief(error: Exception) -> str:
    """A library's error about a file, cut short: some quote the file's content, which a message never repeats."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else error.__class__.__name__
    return text if len(text) <= 160 else f"{text[:160]}…"


@dataclass
class Batch:
    rows: list[int]  # row numbers as the user sees them
    columns: dict[str, list]  # column -> Python values (None where empty)
    geometries: np.ndarray | None  # shapely geometries (None where missing); None when the file has none
    geometry_errors: dict[int, str] = field(default_factory=dict)  # position -> why the geometry is unreadable

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class SourceInfo:
    path: Path
    format: str
    layer: str | None
    count: int | None
    crs: str | None
    encoding: str | None
    columns: list[str]
    geometry: str | None  # how the geometry is read, for the summary; None when there is none
    notes: list[str] = field(default_factory=list)


class Source:
    info: SourceInfo

    def batches(self, size: int) -> Iterator[Batch]:
        raise NotImplementedError


# --- GIS formats through pyogrio -----------------------------------------------------------


def _sniff_dbf_encoding(read: callable) -> str | None:
    """The encoding of a .dbf that carries no .cpg: its language driver byte, else UTF-8 if its text decodes
    as UTF-8, else GBK (GB18030, its superset). `read(n)` returns the first n bytes of the .dbf."""
    head = read(32)
    if len(head) < 32:
        return None
    if head[29] in DBF_CHINESE_LDID:
        return DBF_CHINESE_LDID[head[29]]
    header_length = int.from_bytes(head[8:10], "little")
    data = read(header_length + 4 * 1024 * 1024)[header_length:]
    if all(byte < 0x80 for byte in data):
        return None
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(data, final=False)
    except UnicodeDecodeError:
        return "GB18030"
    return "UTF-8"


def _zip_member(path: Path, layer_hint: str | None) -> str:
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if Path(n).suffix.lower() in GIS_SUFFIXES | TABLE_SUFFIXES]
    names = [n for n in names if not Path(n).name.startswith(".") and "__MACOSX" not in n]
    if not names:
        raise SourceError(f"{path.name} holds no .shp, .gpkg, .geojson, .csv or .xlsx file")
    shapefiles = [n for n in names if n.lower().endswith(".shp")]
    candidates = shapefiles or names
    if layer_hint:
        matching = [n for n in candidates if Path(n).stem == layer_hint]
        if matching:
            return matching[0]
    if len(candidates) > 1:
        listed = ", ".join(Path(n).name for n in candidates)
        raise SourceError(f"{path.name} holds several files ({listed}); name one with --source-layer")
    return candidates[0]


def _pyogrio():
    """pyogrio, imported when a file is first read through GDAL (it imports pandas and geopandas: ~0.5 s)."""
    import pyogrio
    import pyogrio.errors

    return pyogrio


def _ogr_batch(dataset: str, layer, encoding, read_geometry: bool, columns: list[str], start: int, size: int):
    """Rows start+1 … start+size of a layer through pyogrio, as a Batch (None past the end)."""
    _, _, wkb, values = _pyogrio().raw.read(
        dataset,
        layer=layer,
        encoding=encoding,
        read_geometry=read_geometry,
        force_2d=True,
        skip_features=start,
        max_features=size,
    )
    length = len(values[0]) if values else (len(wkb) if wkb is not None else 0)
    if not length:
        return None
    values_by_column = {name: _python_values(array) for name, array in zip(columns, values, strict=True)}
    geometries = shapely.from_wkb(wkb) if wkb is not None else None
    return Batch(list(range(start + 1, start + length + 1)), values_by_column, geometries)


class OgrSource(Source):
    def __init__(self, path: Path, *, layer: str | None, encoding: str | None, member: str | None = None):
        pyogrio = _pyogrio()
        self.dataset = f"/vsizip/{path}/{member}" if member else str(path)
        notes = []
        suffix = Path(member or path).suffix.lower()
        if suffix == ".shp" and not encoding:
            encoding = self._shapefile_encoding(path, member)
            if encoding:
                notes.append(f"the .dbf has no .cpg: its text reads as {encoding} (override with --encoding)")
        try:
            layers = [name for name, _ in pyogrio.list_layers(self.dataset)]
        except pyogrio.errors.DataSourceError as error:
            raise SourceError(f"cannot open {path.name}: {brief(error)}") from error
        if member and suffix == ".shp":
            layer = None
        if layer is None:
            if len(layers) > 1:
                raise SourceError(f"{path.name} holds layers {', '.join(layers)}; choose one with --source-layer")
            layer = layers[0] if layers else None
        elif layer not in layers:
            raise SourceError(f"{path.name} has no layer {layer!r}; its layers: {', '.join(layers)}")
        self.layer = layer
        self.encoding = encoding
        try:
            meta = pyogrio.read_info(self.dataset, layer=layer, encoding=encoding)
        except pyogrio.errors.DataLayerError as error:
            raise SourceError(f"cannot read layer {layer!r} of {path.name}: {brief(error)}") from error
        count = int(meta["features"])
        self.count = count if count >= 0 else None
        self.has_geometry = meta["geometry_type"] is not None
        declared = self._cpg(path, member) if suffix == ".shp" and not notes and not encoding else None
        self.info = SourceInfo(
            path=path,
            format=meta.get("driver", suffix),
            layer=layer,
            count=self.count,
            crs=meta["crs"],
            encoding=encoding or (f"{declared} (from the .cpg)" if declared else meta.get("encoding")),
            columns=[str(c) for c in meta["fields"]],
            geometry=meta["geometry_type"],
            notes=notes,
        )

    @staticmethod
    def _cpg(path: Path, member: str | None) -> str | None:
        """The code page a Shapefile's .cpg declares, for the summary (GDAL reads it itself): its first bytes
        only, and only when they name a code page (the file's text is never repeated back)."""
        try:
            if member:
                with zipfile.ZipFile(path) as archive:
                    names = {n.lower(): n for n in archive.namelist()}
                    name = names.get(f"{member[: -len('.shp')]}.cpg".lower())
                    if name is None:
                        return None
                    with archive.open(name) as handle:
                        head = handle.read(CPG_READ_BYTES)
            else:
                cpg = next((p for p in (path.with_suffix(".cpg"), path.with_suffix(".CPG")) if p.exists()), None)
                if cpg is None:
                    return None
                with cpg.open("rb") as handle:
                    head = handle.read(CPG_READ_BYTES)
        except (OSError, zipfile.BadZipFile):
            return None
        declared = head.decode("ascii", "replace").strip()
        return declared if CODE_PAGE.fullmatch(declared) else "(not a code page name)"

    @staticmethod
    def _shapefile_encoding(path: Path, member: str | None) -> str | None:
        if member:
            with zipfile.ZipFile(path) as archive:
                stem = member[: -len(".shp")]
                names = {n.lower(): n for n in archive.namelist()}
                if f"{stem}.cpg".lower() in names:
                    return None
                dbf = names.get(f"{stem}.dbf".lower())
                if dbf is None:
                    return None
                with archive.open(dbf) as handle:
                    data = handle.read(4 * 1024 * 1024 + 65536)
                return _sniff_dbf_encoding(lambda n: data[:n])
        if path.with_suffix(".cpg").exists() or path.with_suffix(".CPG").exists():
            return None
        dbf = next((p for p in (path.with_suffix(".dbf"), path.with_suffix(".DBF")) if p.exists()), None)
        if dbf is None:
            return None
        with dbf.open("rb") as handle:

            def read(n: int) -> bytes:
                handle.seek(0)
                return handle.read(n)

            return _sniff_dbf_encoding(read)

    def batches(self, size: int) -> Iterator[Batch]:
        start = 0
        while self.count is None or start < self.count:
            batch = _ogr_batch(
                self.dataset, self.layer, self.encoding, self.has_geometry, self.info.columns, start, size
            )
            if batch is None:
                return
            yield batch
            start += len(batch)
            if len(batch) < size:
                return


# --- Plain GeoPackages straight through SQLite ---------------------------------------------------

# gpkg_geometry_columns.geometry_type_name -> the name GDAL (and so pyogrio) gives the layer's geometry type
GPKG_GEOMETRY_TYPES = {
    "GEOMETRY": "Unknown",
    "POINT": "Point",
    "LINESTRING": "LineString",
    "POLYGON": "Polygon",
    "MULTIPOINT": "MultiPoint",
    "MULTILINESTRING": "MultiLineString",
    "MULTIPOLYGON": "MultiPolygon",
    "GEOMETRYCOLLECTION": "GeometryCollection",
}
# declared column type -> how GDAL reads it: text (str), integer (int; a batch holding an empty one comes out of
# pyogrio as floats), real (float). Any other type (BOOLEAN, SMALLINT, FLOAT, DATE, DATETIME, BLOB …) is left
# to GDAL.
GPKG_FIELD_KINDS = {
    "TEXT": "TEXT",
    "INTEGER": "INTEGER",
    "INT": "INTEGER",
    "MEDIUMINT": "INTEGER",
    "BIGINT": "INTEGER",
    "REAL": "REAL",
    "DOUBLE": "REAL",
}
GPKG_CRS = {4326, 4490}  # EPSG codes taken without GDAL (crs.py needs no PROJ for them either)
GPKG_INTERNAL = ("gpkg_", "gpkgext_", "rtree_", "sqlite_")
_GPKG_ENVELOPE = (0, 32, 48, 48, 64)  # envelope bytes by the header's envelope indicator (flags bits 1-3)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class GpkgSource(Source):
    """A GeoPackage read with the standard library's sqlite3, row for row as GDAL reads it, without pyogrio.

    Only files GDAL would read the same way (try_open returns None for the others, which go through OgrSource):
    one feature table and no other table or view, an integer primary key, fields of TEXT, INTEGER (INT,
    MEDIUMINT, BIGINT) or REAL (DOUBLE) type, a 2D geometry column in EPSG:4326 or EPSG:4490. Values are read
    as GDAL reads them (CAST to the declared type), rows in primary-key order, the count from gpkg_ogr_contents
    when it holds one, as GDAL does. A batch with a geometry this reader does not take (not a GeoPackage
    binary, the extended type, WKB that shapely cannot read) is read again through pyogrio."""

    @classmethod
    def try_open(cls, path: Path, *, layer: str | None) -> "GpkgSource | None":
        try:
            connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        except (sqlite3.Error, ValueError):
            return None
        try:
            source = cls._describe(connection, path, layer)
        except sqlite3.Error:
            source = None
        connection.close()
        return source

    @classmethod
    def _describe(cls, connection, path: Path, layer: str | None) -> "GpkgSource | None":
        contents = connection.execute("SELECT table_name, data_type FROM gpkg_contents").fetchall()
        if len(contents) != 1 or contents[0][1] != "features" or layer not in (None, contents[0][0]):
            return None
        table = contents[0][0]
        others = [
            name
            for name, kind in connection.execute("SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view')")
            if name != table and (kind == "view" or not name.lower().startswith(GPKG_INTERNAL))
        ]
        if others:
            return None
        geometry = connection.execute(
            "SELECT column_name, upper(geometry_type_name), z, m, srs_id FROM gpkg_geometry_columns "
            "WHERE table_name = ?",
            [table],
        ).fetchall()
        if len(geometry) != 1:
            return None
        geometry_column, geometry_type, z, m, srs_id = geometry[0]
        if geometry_type not in GPKG_GEOMETRY_TYPES or z or m:
            return None
        srs = connection.execute(
            "SELECT upper(organization), organization_coordsys_id FROM gpkg_spatial_ref_sys WHERE srs_id = ?",
            [srs_id],
        ).fetchall()
        if len(srs) != 1 or srs[0][0] != "EPSG" or srs[0][1] not in GPKG_CRS:
            return None
        fid, fields = None, []
        for _, name, declared, _, _, pk in connection.execute(f"PRAGMA table_info({_quote(table)})"):
            kind = GPKG_FIELD_KINDS.get(re.sub(r"\(\s*\d+\s*\)$", "", (declared or "").strip().upper()))
            if pk:
                if fid is not None or kind != "INTEGER":
                    return None
                fid = name
            elif name == geometry_column:
                continue
            elif kind is None:
                return None
            else:
                fields.append((name, kind))
        if fid is None:
            return None
        count = None
        if connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'gpkg_ogr_contents'").fetchone():
            row = connection.execute(
                "SELECT feature_count FROM gpkg_ogr_contents WHERE lower(table_name) = lower(?)", [table]
            ).fetchone()
            count = row[0] if row and row[0] is not None and row[0] >= 0 else None
        if count is None:
            (count,) = connection.execute(f"SELECT count(*) FROM {_quote(table)}").fetchone()
        return cls(
            path, table, fid, geometry_column, fields, count, f"EPSG:{srs[0][1]}", GPKG_GEOMETRY_TYPES[geometry_type]
        )

    def __init__(self, path: Path, table: str, fid: str, geometry_column: str, fields, count: int, crs: str, kind: str):
        self.path, self.table, self.fid, self.geometry_column, self.fields = path, table, fid, geometry_column, fields
        self.count = count
        self.info = SourceInfo(
            path=path,
            format="GPKG",
            layer=table,
            count=count,
            crs=crs,
            encoding="UTF-8",
            columns=[name for name, _ in fields],
            geometry=kind,
        )
        self._ogr = (str(path), table, None, True, self.info.columns)  # _ogr_batch's arguments before start, size

    def batches(self, size: int) -> Iterator[Batch]:
        selected = ", ".join(
            [_quote(self.geometry_column), *(f"CAST({_quote(name)} AS {kind})" for name, kind in self.fields)]
        )
        connection = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            try:
                cursor = connection.execute(f"SELECT {selected} FROM {_quote(self.table)} ORDER BY {_quote(self.fid)}")
            except sqlite3.Error:  # GDAL reads it all
                cursor = None
            start, through_gdal = 0, cursor is None
            while self.count is None or start < self.count:  # as OgrSource: a stale count ends the reading
                batch = None
                if not through_gdal:
                    try:
                        rows = cursor.fetchmany(size)
                    except sqlite3.Error:  # text that is not UTF-8, say: GDAL reads the rest
                        through_gdal = True
                    else:
                        if not rows:
                            return
                        batch = self._batch(rows, start)
                        if batch is None:  # a geometry for GDAL to read
                            batch = _ogr_batch(*self._ogr, start, len(rows))
                if through_gdal:
                    batch = _ogr_batch(*self._ogr, start, size)
                    if batch is None:
                        return
                yield batch
                start += len(batch)
                if len(batch) < size:
                    return
        finally:
            connection.close()

    def _batch(self, rows: list[tuple], start: int) -> Batch | None:
        blobs, *values = zip(*rows, strict=True)
        wkb, envelope = [], _GPKG_ENVELOPE
        for blob in blobs:
            if blob is None:
                wkb.append(None)
                continue
            if blob.__class__ is not bytes or len(blob) < 8 or blob[:2] != b"GP":
                return None
            flags = blob[3]
            indicator = (flags >> 1) & 7
            if flags & 0x20 or indicator >= len(envelope):  # the extended type, or no such envelope
                return None
            wkb.append(blob[8 + envelope[indicator] :])
        try:
            geometries = shapely.from_wkb(np.array(wkb, dtype=object))
        except ShapelyError:
            return None
        if shapely.has_z(geometries).any():
            geometries = shapely.force_2d(geometries)
        columns = {}
        for (name, kind), column in zip(self.fields, values, strict=True):
            column = list(column)
            if kind == "INTEGER" and None in column:  # pyogrio gives such a batch's integers as floats
                column = [None if v is None else float(v) for v in column]
            columns[name] = column
        return Batch(list(range(start + 1, start + len(rows) + 1)), columns, geometries)


def _python_values(array: np.ndarray) -> list:
    values = array.tolist()
    if array.dtype.kind == "f":
        return [None if v != v else v for v in values]  # NaN is an empty cell
    return values


# --- Tables: CSV and xlsx -----------------------------------------------------------------


class TableGeometry:
    """Where a table keeps its geometry: a WKT column, or lon/lat columns, or nowhere."""

    def __init__(self, columns: list[str], overrides: dict[str, str]):
        lookup = {normalise_name(c): c for c in columns}
        for key in GEOMETRY_KEYS:
            if key in overrides and overrides[key] not in columns:
                raise SourceError(
                    f"--map {key}={overrides[key]}: the file has no column {overrides[key]!r}; "
                    f"its columns: {', '.join(columns)}"
                )

        def find(key: str, names: tuple[str, ...]) -> str | None:
            if key in overrides:
                return overrides[key]
            return next((lookup[n] for n in names if n in lookup), None)

        self.wkt = find("geometry", WKT_NAMES)
        self.lon = self.lat = None
        if self.wkt is None or "lon" in overrides:
            self.lon, self.lat = find("lon", LON_NAMES), find("lat", LAT_NAMES)
            if self.lon or self.lat:
                self.wkt = None
            if bool(self.lon) != bool(self.lat):
                found = self.lon or self.lat
                raise SourceError(
                    f"the file has {found!r} but not the other coordinate; name both with --map lon=COLUMN "
                    f"--map lat=COLUMN"
                )

    @property
    def columns(self) -> list[str]:
        return [c for c in (self.wkt, self.lon, self.lat) if c]

    def describe(self) -> str | None:
        if self.wkt:
            return f"WKT in column {self.wkt}"
        if self.lon:
            return f"points from columns {self.lon}, {self.lat}"
        return None

    def read(self, columns: dict[str, list]) -> tuple[np.ndarray | None, dict[int, str]]:
        errors: dict[int, str] = {}
        if self.wkt:
            texts = [SRID_PREFIX.sub("", str(v)).strip() if v not in (None, "") else None for v in columns[self.wkt]]
            geometries = shapely.from_wkt(np.array(texts, dtype=object), on_invalid="ignore")
            for i, (text, geometry) in enumerate(zip(texts, geometries, strict=True)):
                if text and geometry is None:
                    errors[i] = f"column {self.wkt}: the WKT cannot be read ({text[:40]}…)"
            return geometries, errors
        if self.lon:
            geometries = np.empty(len(columns[self.lon]), dtype=object)
            for i, (lon, lat) in enumerate(zip(columns[self.lon], columns[self.lat], strict=True)):
                if lon in (None, "") and lat in (None, ""):
                    continue
                try:
                    geometries[i] = shapely.Point(float(lon), float(lat))
                except (TypeError, ValueError):
                    errors[i] = f"columns {self.lon}/{self.lat}: {quoted(lon)}, {quoted(lat)} are not numbers"
            return geometries, errors
        return None, {}


def _unique_headers(cells: list) -> list[str]:
    headers, seen = [], {}
    for n, cell in enumerate(cells, start=1):
        name = str(cell).strip() if cell not in (None, "") else f"column{n}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
        headers.append(name)
    return headers


def _sniff_text_encoding(path: Path) -> str:
    with path.open("rb") as handle:
        data = handle.read(4 * 1024 * 1024)
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


class CsvSource(Source):
    def __init__(self, path: Path, *, encoding: str | None, overrides: dict[str, str]):
        self.path = path
        notes = []
        if not encoding:
            encoding = _sniff_text_encoding(path)
            if encoding == "gb18030":
                notes.append("the text is not UTF-8: read as GBK/GB18030 (override with --encoding)")
        self.encoding = encoding
        try:
            with path.open(encoding=encoding, newline="") as handle:
                first = handle.readline()
        except (UnicodeDecodeError, LookupError) as error:
            raise SourceError(f"cannot read {path.name} as {encoding}: {error}; try --encoding GBK or UTF-8") from error
        self.delimiter = max(",\t;|", key=first.count)
        header = next(csv.reader([first], delimiter=self.delimiter), [])
        self.columns = _unique_headers(header)
        self.geometry = TableGeometry(self.columns, overrides)
        self.info = SourceInfo(
            path=path,
            format="CSV",
            layer=None,
            count=None,
            crs=None,
            encoding=encoding,
            columns=self.columns,
            geometry=self.geometry.describe(),
            notes=notes,
        )

    def batches(self, size: int) -> Iterator[Batch]:
        with self.path.open(encoding=self.encoding, newline="") as handle:
            reader = csv.reader(handle, delimiter=self.delimiter)
            next(reader, None)
            rows, records = [], []
            try:
                for record in reader:
                    if not any(cell.strip() for cell in record):
                        continue
                    rows.append(reader.line_num)
                    records.append(record)
                    if len(records) == size:
                        yield self._batch(rows, records)
                        rows, records = [], []
            except UnicodeDecodeError as error:
                raise SourceError(
                    f"{self.path.name} near row {reader.line_num + 1} is not {self.encoding}: {error}; "
                    "name the file's encoding with --encoding"
                ) from error
            if records:
                yield self._batch(rows, records)

    def _batch(self, rows: list[int], records: list[list[str]]) -> Batch:
        width = len(self.columns)
        columns = {
            name: [(r[i].strip() or None) if i < len(r) else None for r in records]
            for i, name in enumerate(self.columns[:width])
        }
        geometries, errors = self.geometry.read(columns)
        return Batch(rows, columns, geometries, errors)


class XlsxSource(Source):
    HEADER_SEARCH_ROWS = 20

    def __init__(self, path: Path, *, sheet: str | None, overrides: dict[str, str]):
        import openpyxl

        self.path = path
        try:
            self.workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as error:  # openpyxl raises many kinds for a file that is not a workbook
            raise SourceError(f"cannot open {path.name} as an xlsx workbook: {brief(error)}") from error
        names = self.workbook.sheetnames
        notes = []
        if sheet is None:
            sheet = names[0]
            if len(names) > 1:
                notes.append(f"read sheet {sheet!r} of {', '.join(names)} (choose another with --source-layer)")
        elif sheet not in names:
            raise SourceError(f"{path.name} has no sheet {sheet!r}; its sheets: {', '.join(names)}")
        self.sheet = self.workbook[sheet]
        self.header_row, header = self._find_header()
        self.columns = _unique_headers(header)
        self.geometry = TableGeometry(self.columns, overrides)
        max_row = self.sheet.max_row
        self.info = SourceInfo(
            path=path,
            format="xlsx",
            layer=sheet,
            count=(max_row - self.header_row) if max_row else None,
            crs=None,
            encoding=None,
            columns=self.columns,
            geometry=self.geometry.describe(),
            notes=notes,
        )

    def _find_header(self) -> tuple[int, list]:
        """The first row with two or more filled cells (a title row above the table is skipped)."""
        for number, values in enumerate(
            self.sheet.iter_rows(max_row=self.HEADER_SEARCH_ROWS, values_only=True), start=1
        ):
            cells = list(values)
            if sum(1 for c in cells if c not in (None, "")) >= 2:
                while cells and cells[-1] in (None, ""):
                    cells.pop()
                return number, cells
        raise SourceError(f"sheet {self.sheet.title!r} of {self.path.name} has no header row with column names")

    def batches(self, size: int) -> Iterator[Batch]:
        width = len(self.columns)
        rows, records = [], []
        for number, values in enumerate(
            self.sheet.iter_rows(min_row=self.header_row + 1, values_only=True), start=self.header_row + 1
        ):
            cells = list(values[:width]) + [None] * (width - len(values))
            if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                continue
            rows.append(number)
            records.append(cells)
            if len(records) == size:
                yield self._batch(rows, records)
                rows, records = [], []
        if records:
            yield self._batch(rows, records)
        self.workbook.close()

    def _batch(self, rows: list[int], records: list[list]) -> Batch:
        columns = {
            name: [(v.strip() or None) if isinstance(v, str) else v for v in (r[i] for r in records)]
            for i, name in enumerate(self.columns)
        }
        geometries, errors = self.geometry.read(columns)
        return Batch(rows, columns, geometries, errors)


def open_source(
    path: Path, *, layer: str | None = None, encoding: str | None = None, overrides: dict[str, str] | None = None
) -> Source:
    """The rows of `path`; `layer` picks a layer of a GeoPackage, a sheet of a workbook or a file in a .zip."""
    path = Path(path)
    overrides = overrides or {}
    if not path.exists():
        raise SourceError(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise SourceError(
            f"{path.name}: unknown format {suffix or '(no suffix)'}; "
            "use .gpkg, .shp (or a .zip of one), .geojson, .csv or .xlsx"
        )
    if suffix in (".zip", ".xlsx", ".xlsm"):
        check_archive(path, LIMITS if suffix == ".zip" else WORKBOOK_LIMITS)
    if suffix == ".zip":
        member = _zip_member(path, layer)
        if Path(member).suffix.lower() in TABLE_SUFFIXES:
            raise SourceError(f"{path.name}: unzip {member} and import it directly")
        return OgrSource(path, layer=layer, encoding=encoding, member=member)
    if suffix == ".gpkg" and not encoding:
        source = GpkgSource.try_open(path, layer=layer)
        if source is not None:
            return source
    if suffix in (".csv", ".txt"):
        return CsvSource(path, encoding=encoding, overrides=overrides)
    if suffix in (".xlsx", ".xlsm"):
        return XlsxSource(path, sheet=layer, overrides=overrides)
    return OgrSource(path, layer=layer, encoding=encoding)
