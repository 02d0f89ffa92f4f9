"""Exporting a layer, filtered, to GeoPackage, GeoJSON, CSV or xlsx, built from SQL and streamed in chunks.

Columns carry the import's field names, so an exported layer imports back unchanged. Personal data leaves
only masked: the persons layer holds `id_number_masked` and `phone_masked`, never the protected values, and
nothing here decrypts. Geometry: GeoPackage and GeoJSON (RFC 7946, 7 decimals ≈ 1 cm) as geometry; CSV and
xlsx as a `wkt` column for polygons and `lon`/`lat` columns for points (households and persons are placed
at a point inside their building). CSV is UTF-8 with a byte-order mark so that Excel reads Chinese.
"""

import csv
import dataclasses
import datetime as dt
import io
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from django.db import connection, transaction

from audit import services as audit
from audit.models import AuditAction
from gridmgmt import dblimits
from grids.gisio import policy
from grids.models import Role

FORMATS = ("gpkg", "geojson", "csv", "xlsx")
CONTENT_TYPES = {
    "gpkg": "application/geopackage+sqlite3",
    "geojson": "application/geo+json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
CHUNK = 5_000
DECIMALS = 7
EXCEL_CELL_LIMIT = 32_767


class ExportError(ValueError):
    """The export cannot be made as asked; the message says why."""


@dataclass(frozen=True)
class ExportLayer:
    name: str
    source: str  # FROM clause, with aliases d, s, c, g (district, street, community, grid) where they apply
    columns: tuple[tuple[str, str], ...]  # (name, SQL)
    geometry: str  # SQL giving a geometry
    geometry_type: str  # Point, Polygon, MultiPolygon
    order: str
    filters: dict[str, str]  # filter name -> SQL condition with one %s
    json_columns: tuple[str, ...] = ()  # columns that are SQL arrays, exported joined by commas


REGION_FILTERS = {"district": "d.code = %s", "street": "s.code = %s", "community": "c.code = %s", "grid": "g.code = %s"}
GRID_CHAIN = (
    "LEFT JOIN grids_grid g ON g.id = b.grid_id LEFT JOIN grids_community c ON c.id = g.community_id "
    "LEFT JOIN grids_street s ON s.id = c.street_id LEFT JOIN grids_district d ON d.id = s.district_id"
)


def _filters(*names: str) -> dict[str, str]:
    return {name: REGION_FILTERS[name] for name in names}


def _unit_region(table: str) -> str:
    return f"ST_Intersects(u.jurisdiction, (SELECT r.boundary FROM {table} r WHERE r.code = %s))"


LAYERS: dict[str, ExportLayer] = {
    "districts": ExportLayer(
        "districts",
        "grids_district d",
        (("code", "d.code"), ("name", "d.name")),
        "d.boundary",
        "MultiPolygon",
        "d.code",
        _filters("district"),
    ),
    "streets": ExportLayer(
        "streets",
        "grids_street s JOIN grids_district d ON d.id = s.district_id",
        (("code", "s.code"), ("name", "s.name"), ("district_code", "d.code")),
        "s.boundary",
        "MultiPolygon",
        "s.code",
        _filters("district", "street"),
    ),
    "communities": ExportLayer(
        "communities",
        "grids_community c JOIN grids_street s ON s.id = c.street_id JOIN grids_district d ON d.id = s.district_id",
        (("code", "c.code"), ("name", "c.name"), ("street_code", "s.code")),
        "c.boundary",
        "MultiPolygon",
        "c.code",
        _filters("district", "street", "community"),
    ),
    "grids": ExportLayer(
        "grids",
        "grids_grid g JOIN grids_community c ON c.id = g.community_id JOIN grids_street s ON s.id = c.street_id "
        "JOIN grids_district d ON d.id = s.district_id",
        (("code", "g.code"), ("name", "g.name"), ("community_code", "c.code")),
        "g.boundary",
        "MultiPolygon",
        "g.code",
        _filters("district", "street", "community", "grid"),
    ),
    "buildings": ExportLayer(
        "buildings",
        f"grids_building b {GRID_CHAIN}",
        (
            ("code", "b.code"),
            ("name", "b.name"),
            ("address", "b.address"),
            ("floors", "b.floors"),
            ("use", "b.use"),
            ("grid_code", "g.code"),
        ),
        "b.footprint",
        "Polygon",
        "b.code",
        _filters("district", "street", "community", "grid"),
    ),
    "households": ExportLayer(
        "households",
        f"grids_household h JOIN grids_building b ON b.id = h.building_id {GRID_CHAIN}",
        (
            ("building_code", "b.code"),
            ("unit_no", "h.unit_no"),
            ("floor", "h.floor"),
            ("room", "h.room"),
            ("type", "h.type"),
            ("people", "(SELECT count(*) FROM grids_person x WHERE x.household_id = h.id)"),
            ("grid_code", "g.code"),
        ),
        "ST_PointOnSurface(b.footprint)",
        "Point",
        "b.code, h.unit_no, h.floor, h.room",
        _filters("district", "street", "community", "grid"),
    ),
    "persons": ExportLayer(
        "persons",
        "grids_person pe JOIN grids_household h ON h.id = pe.household_id "
        f"JOIN grids_building b ON b.id = h.building_id {GRID_CHAIN}",
        (
            # Masked only: the protected columns (cipher, digest) are never selected.
            ("id_number_masked", "pe.id_number_masked"),
            ("name", "pe.name"),
            ("sex", "pe.sex"),
            ("birth_date", "pe.birth_date"),
            ("phone_masked", "pe.phone_masked"),
            ("residency", "pe.residency"),
            ("relation", "pe.relation"),
            ("care_tags", "pe.care_tags"),
            ("building_code", "b.code"),
            ("unit_no", "h.unit_no"),
            ("floor", "h.floor"),
            ("room", "h.room"),
            ("grid_code", "g.code"),
        ),
        "ST_PointOnSurface(b.footprint)",
        "Point",
        "b.code, h.unit_no, h.floor, h.room, pe.id",
        _filters("district", "street", "community", "grid"),
        json_columns=("care_tags",),
    ),
    "units": ExportLayer(
        "units",
        "grids_unit u LEFT JOIN grids_unit pu ON pu.id = u.parent_id",
        (
            ("code", "u.code"),
            ("name", "u.name"),
            ("type", "u.type"),
            ("parent_code", "pu.code"),
            ("phone", "u.phone"),
        ),
        "u.jurisdiction",
        "MultiPolygon",
        "u.type, u.code",
        {
            "type": "u.type = %s",
            "district": _unit_region("grids_district"),
            "street": _unit_region("grids_street"),
            "community": _unit_region("grids_community"),
            "grid": _unit_region("grids_grid"),
        },
    ),
}


@dataclass
class Table:
    """One table of an export (a layer; cases add their events as a second one)."""

    spec: ExportLayer
    where: str
    params: list


@dataclass
class ExportResult:
    path: Path
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    rows_read: int = 0
    on_rows: Callable[[int], None] | None = None  # told the rows read so far after each chunk


def available_layers() -> list[str]:
    from grids.gisio import case_export

    return [*LAYERS, *(["cases"] if case_export.available() else [])]


def _where(spec: ExportLayer, filters: dict[str, str]) -> tuple[str, list]:
    conditions, params = [], []
    for name, value in filters.items():
        if value in (None, ""):
            continue
        if name not in spec.filters:
            raise ExportError(f"{spec.name} cannot be filtered by {name}; filters: {', '.join(spec.filters) or 'none'}")
        conditions.append(spec.filters[name])
        params.append(value)
    return (" AND ".join(conditions) or "TRUE"), params


def tables_for(layer: str, filters: dict[str, str]) -> list[Table]:
    if layer == "cases":
        from grids.gisio import case_export

        if not case_export.available():
            raise ExportError("cases cannot be exported: there is no case model in this installation")
        return case_export.tables(filters)
    if layer not in LAYERS:
        raise ExportError(f"unknown layer {layer!r}; choose one of {', '.join(available_layers())}")
    spec = LAYERS[layer]
    where, params = _where(spec, filters)
    return [Table(spec, where, params)]


def _for_role(tables: list[Table], role: str) -> list[Table]:
    """The tables as `role` may have them (grids.gisio.policy): withheld fields left out, forbidden tables dropped."""
    allowed = []
    for table in tables:
        hidden = policy.withheld(role, table.spec.name)
        if hidden is None:
            continue
        columns = tuple(column for column in table.spec.columns if column[0] not in hidden)
        allowed.append(dataclasses.replace(table, spec=dataclasses.replace(table.spec, columns=columns)))
    if not allowed:
        raise ExportError(policy.refusal(role, tables[0].spec.name))
    return allowed


def _select(table: Table, geometry_sql: list[str]) -> tuple[str, list]:
    spec = table.spec
    columns = [f"{sql} AS {name}" for name, sql in spec.columns] + geometry_sql
    sql = f"SELECT {', '.join(columns)} FROM {spec.source} WHERE {table.where} ORDER BY {spec.order}"
    return sql, table.params


def _rows(sql: str, params: list, result: ExportResult) -> Iterator[tuple]:
    """Rows of `sql` through a server-side cursor, a chunk at a time."""
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while True:
            chunk = cursor.fetchmany(CHUNK)
            if not chunk:
                return
            yield from chunk
            result.rows_read += len(chunk)
            if result.on_rows is not None:
                result.on_rows(result.rows_read)


def _geometry_columns(spec: ExportLayer, fmt: str) -> tuple[list[str], list[str]]:
    """(SQL select items, column names) carrying the geometry for a tabular format."""
    if not spec.geometry:
        return [], []
    if spec.geometry_type == "Point":
        return (
            [
                f"round(ST_X({spec.geometry})::numeric, {DECIMALS})",
                f"round(ST_Y({spec.geometry})::numeric, {DECIMALS})",
            ],
            ["lon", "lat"],
        )
    return [f"ST_AsText({spec.geometry}, {DECIMALS})"], ["wkt"]


def _plain(value, *, joined: bool = False):
    if joined and isinstance(value, list):
        return ",".join(value)
    if hasattr(value, "is_finite") and hasattr(value, "quantize"):  # Decimal
        return float(value)
    return value


# --- Writers -----------------------------------------------------------------------------------


def _single_table(tables: list[Table], result: ExportResult) -> Table:
    """The first table, for formats that hold one; the others are named in a warning."""
    for other in tables[1:]:
        result.warnings.append(f"{other.spec.name} are not in this format's single table: export gpkg or xlsx for them")
    return tables[0]


def _csv_chunks(tables: list[Table], result: ExportResult) -> Iterator[str]:
    """The CSV text (no byte-order mark), CHUNK rows at a time."""
    table = _single_table(tables, result)
    spec = table.spec
    geometry_sql, geometry_names = _geometry_columns(spec, "csv")
    sql, params = _select(table, geometry_sql)
    names = [name for name, _ in spec.columns] + geometry_names
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(names)
    count = 0
    for row in _rows(sql, params, result):
        writer.writerow(
            [
                "" if v is None else _plain(v, joined=name in spec.json_columns)
                for name, v in zip(names, row, strict=True)
            ]
        )
        count += 1
        if count % CHUNK == 0:
            yield _drain(buffer)
    result.counts[spec.name] = count
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _write_csv(tables: list[Table], path: Path, result: ExportResult) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        handle.writelines(_csv_chunks(tables, result))


def _write_xlsx(tables: list[Table], path: Path, result: ExportResult) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    try:
        _fill_workbook(workbook, tables, result)
        workbook.save(path)
    finally:
        # A write-only sheet spools to a temporary file of its own, left until the process ends when a write fails.
        for sheet in workbook.worksheets:
            writer = getattr(sheet, "_writer", None)
            if writer is not None and isinstance(writer.out, str) and Path(writer.out).exists():
                if not sheet.closed:
                    sheet.close()
                writer.cleanup()


def _fill_workbook(workbook, tables: list[Table], result: ExportResult) -> None:
    for table in tables:
        spec = table.spec
        geometry_sql, geometry_names = _geometry_columns(spec, "xlsx")
        sql, params = _select(table, geometry_sql)
        names = [name for name, _ in spec.columns] + geometry_names
        sheet = workbook.create_sheet(spec.name)
        sheet.append(names)
        count = too_long = 0
        for row in _rows(sql, params, result):
            values = []
            for name, value in zip(names, row, strict=True):
                value = _plain(value, joined=name in spec.json_columns)
                if isinstance(value, dt.datetime):
                    value = value.replace(tzinfo=None)
                if isinstance(value, str) and len(value) > EXCEL_CELL_LIMIT:
                    value, too_long = "", too_long + 1
                values.append(value)
            sheet.append(values)
            count += 1
        if too_long:
            result.warnings.append(
                f"{spec.name}: {too_long} geometries are longer than an Excel cell holds and were left empty; "
                "export as gpkg or geojson for them"
            )
        result.counts[spec.name] = count


def _geojson_chunks(tables: list[Table], result: ExportResult) -> Iterator[str]:
    """The FeatureCollection's text, CHUNK features at a time."""
    table = _single_table(tables, result)
    spec = table.spec
    properties = ", ".join(f"'{name}', {sql}" for name, sql in spec.columns)
    geometry = f"ST_AsGeoJSON({spec.geometry}, {DECIMALS})::json" if spec.geometry else "NULL"
    sql = (
        f"SELECT json_build_object('type', 'Feature', 'geometry', {geometry}, "
        f"'properties', json_build_object({properties}))::text "
        f"FROM {spec.source} WHERE {table.where} ORDER BY {spec.order}"
    )
    parts = ['{"type": "FeatureCollection", "name": ' + json.dumps(spec.name) + ', "features": [\n']
    count = 0
    for (feature,) in _rows(sql, table.params, result):
        parts.append((",\n" if count else "") + feature)
        count += 1
        if count % CHUNK == 0:
            yield "".join(parts)
            parts = []
    parts.append("\n]}\n")
    result.counts[spec.name] = count
    yield "".join(parts)


def _write_geojson(tables: list[Table], path: Path, result: ExportResult) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.writelines(_geojson_chunks(tables, result))


def _frame(names: list[str], rows: list[tuple], spec: ExportLayer) -> pd.DataFrame:
    columns = {}
    for i, name in enumerate(names):
        values = [_plain(row[i], joined=name in spec.json_columns) for row in rows]
        if any(isinstance(v, dt.date) for v in values):
            values = [v.isoformat() if isinstance(v, dt.date) else v for v in values]
        columns[name] = values
    return pd.DataFrame(columns, columns=names)


def _gpkg_chunk(path: Path, spec: ExportLayer, names: list[str], rows: list[tuple], *, first: bool) -> None:
    import pyogrio

    frame = _frame(names, rows, spec)
    if spec.geometry:
        geometries = shapely.from_wkb([bytes(row[-1]) if row[-1] is not None else None for row in rows])
        frame = gpd.GeoDataFrame(frame, geometry=list(geometries), crs="EPSG:4326")
        pyogrio.write_dataframe(
            frame, path, layer=spec.name, driver="GPKG", append=not first, geometry_type=spec.geometry_type
        )
    else:
        pyogrio.write_dataframe(frame, path, layer=spec.name, driver="GPKG", append=not first)


def _write_gpkg(tables: list[Table], path: Path, result: ExportResult) -> None:
    logging.getLogger("pyogrio").setLevel(logging.WARNING)  # not "Created N records" per chunk
    if path.exists():
        path.unlink()
    for table in tables:
        spec = table.spec
        names = [name for name, _ in spec.columns]
        geometry_sql = [f"ST_AsBinary({spec.geometry})"] if spec.geometry else []
        sql, params = _select(table, geometry_sql)
        count, chunk = 0, []
        for row in _rows(sql, params, result):
            chunk.append(row)
            if len(chunk) == CHUNK:
                _gpkg_chunk(path, spec, names, chunk, first=count == 0)
                count += len(chunk)
                chunk = []
        if chunk or not count:
            _gpkg_chunk(path, spec, names, chunk, first=count == 0)
            count += len(chunk)
        result.counts[spec.name] = count


WRITERS = {"gpkg": _write_gpkg, "geojson": _write_geojson, "csv": _write_csv, "xlsx": _write_xlsx}
# Formats written row after row, which a web request streams instead of building a file (with what goes first).
STREAMED = {"csv": (_csv_chunks, "\ufeff"), "geojson": (_geojson_chunks, "")}


def export_layer(
    *,
    layer: str,
    fmt: str,
    path: Path | str,
    filters: dict[str, str] | None = None,
    actor: str = "manage.py",
    role: str = Role.ADMIN,
    on_rows: Callable[[int], None] | None = None,
) -> ExportResult:
    """Write `layer` (filtered, as `role` may have it) to `path` in `fmt`; returns the row counts per table.
    `on_rows` is told the rows read so far after each chunk. Every export is audited."""
    if fmt not in WRITERS:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    path = Path(path)
    tables = _for_role(tables_for(layer, filters or {}), role)
    result = ExportResult(path, on_rows=on_rows)
    with transaction.atomic():  # server-side cursors live in a transaction
        dblimits.allow_export_job()
        WRITERS[fmt](tables, path, result)
        audit.record(
            action=AuditAction.EXPORT,
            actor=actor,
            target=f"grids.{layer}",
            detail={"format": fmt, "filters": filters or {}, "rows": result.counts, "role": role},
        )
    return result


def count_rows(*, layer: str, filters: dict[str, str], role: str) -> int:
    """How many rows an export of `layer` will write (all its tables), for a progress bar."""
    total = 0
    with connection.cursor() as cursor:
        for table in _for_role(tables_for(layer, filters), role):
            cursor.execute(f"SELECT count(*) FROM {table.spec.source} WHERE {table.where}", table.params)
            total += cursor.fetchone()[0]
    return total


def stream_layer(*, layer: str, fmt: str, filters: dict[str, str], actor: str, role: str) -> Iterator[bytes]:
    """`layer` as CSV or GeoJSON bytes, read through a server-side cursor CHUNK rows at a time, so memory stays
    bounded whatever the layer's size. Refusals (ExportError) come before anything is streamed; the export is
    audited then too, since the rows counted at the end may never be reached when the client goes away."""
    if fmt not in STREAMED:
        raise ExportError(f"{fmt} is written to a file first; streamed formats: {', '.join(STREAMED)}")
    tables = _for_role(tables_for(layer, filters), role)
    audit.record(
        action=AuditAction.EXPORT,
        actor=actor,
        target=f"grids.{layer}",
        detail={"format": fmt, "filters": filters, "rows": "streamed", "role": role},
    )
    return _stream(tables, fmt)


def _stream(tables: list[Table], fmt: str) -> Iterator[bytes]:
    chunks, head = STREAMED[fmt]
    with transaction.atomic():  # closed (rolled back) with the generator when the client disconnects
        dblimits.allow_export_job()
        if head:
            yield head.encode()
        for chunk in chunks(tables, ExportResult(Path())):
            yield chunk.encode()
