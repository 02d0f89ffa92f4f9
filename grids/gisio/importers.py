"""Importing a layer: read in batches, convert, stage through COPY, refuse, compare and upsert in one transaction.

1. Each batch is read, its geometries brought to WGS84 and checked (grids.gisio.geometry), its values
   converted (grids.gisio.mapping); a row that fails is refused with its row number and the reason.
2. Good rows go into a temporary staging table through COPY; memory holds one batch at a time.
3. In SQL: rows repeating a key already seen in the file are refused, rows whose parent (district, street,
   community, building, household, parent unit) is not in the database are refused.
4. Dry run: the staged rows are compared with the tables (new / changed / unchanged) and everything is
   rolled back. Commit: one UPDATE … FROM of the rows that differ (unchanged rows are not rewritten), then one
   INSERT … SELECT of the new ones (units: one INSERT … ON CONFLICT); the counts come from the database.
   Refused rows stop the commit (nothing is written) unless `skip_refused` is set.

Fields absent from the file are left as they are on existing rows. A building's grid is never taken from the
file: it follows the footprint, by the rule of the database trigger (grids_grid_at). The import finds it for all
its rows in its own INSERT and UPDATE, with the trigger stood down for those two statements only
(`gridmgmt.building_grid_given`, grids migration 0006); every other writer still goes through the trigger.
ID numbers and phones reach the database only as the protected fields of grids.pii (cipher, keyed hash, mask).
"""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.db import IntegrityError, connection, transaction

from audit import services as audit
from audit.models import AuditAction
from grids.gisio import crs as crs_module
from grids.gisio import geometry as geometry_module
from grids.gisio.mapping import LAYERS, Layer, MappingError, is_blank, resolve_columns
from grids.gisio.readers import GEOMETRY_KEYS, open_source
from grids.gisio.report import SAMPLE, ImportReport
from grids.gisio.staging import StagingTable

DEFAULT_BATCH = 10_000
STAGE = "gisio_stage"
REFUSED = "gisio_refused"


class ImportFailure(Exception):
    """The import cannot start (or finish); the message says what to change."""


@dataclass(frozen=True, slots=True)
class _Refusal:
    """A value whose conversion failed, remembered with the reason."""

    reason: str


# --- What each layer writes ---------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    target: str  # column of the table
    source: str  # SQL over the staged row `s` and its parent `p`
    field: str | None = None  # the file field that makes it updatable on existing rows; None: always
    label: str | None = None  # how a change is reported (default: field or target)
    insert_only: bool = False  # written on new rows only (the key's own protected fields)
    update_sql: str | None = None  # SET expression over `t` and `s` when it is not `source` (not for units)
    compare: bool = True  # a difference here makes the row "changed"
    compare_target: str | None = None  # SQL over `t` to compare with `source` (columns written later)


@dataclass(frozen=True)
class Parent:
    join: str  # JOIN clause giving `p`
    exists: str  # EXISTS condition over `s`
    missing: str  # SQL text expression over `s` describing the missing parent


@dataclass(frozen=True)
class Target:
    table: str
    stage: tuple[tuple[str, str], ...]  # staging columns (after _row)
    columns: tuple[Column, ...]
    conflict: str  # ON CONFLICT target
    match: str  # t (the table) against s/p
    duplicate_key: str  # staged columns that must be unique in the file
    duplicate_label: str  # SQL text over `s` naming the key
    label: str  # SQL text over `s` naming the row in change lists
    parent: Parent | None = None
    self_parent: bool = False  # units: the parent is another unit, written after all rows exist
    grid_from: tuple[str, str] | None = None  # buildings: (staged, stored) footprint columns the grid follows


GRID_MAP = "gisio_grid"  # buildings: _row -> grid_id of the staged rows (_find_grids)
GRID_MAP_MIN_ROWS = 1000  # fewer new or moved buildings than this (or a tenth of the file) look up their grids alone
GRID_GIVEN = "gridmgmt.building_grid_given"  # 'on': the grid trigger stands down (grids migration 0006)


GEOM = ("geom", "geometry(Geometry, 4326)")


def _region_target(table: str, parent_table: str | None, parent_field: str | None, parent_label: str) -> Target:
    stage = [("code", "text"), ("name", "text")]
    columns = [
        Column("code", "s.code", compare=False),
        Column("name", "s.name", "name"),
        Column("boundary", "s.geom", None, label="geometry"),
    ]
    parent = None
    if parent_table:
        stage.append((parent_field, "text"))
        fk = parent_table.removeprefix("grids_") + "_id"
        columns.append(Column(fk, "p.id", None, label=parent_field))
        parent = Parent(
            join=f"JOIN {parent_table} p ON p.code = s.{parent_field}",
            exists=f"EXISTS (SELECT 1 FROM {parent_table} x WHERE x.code = s.{parent_field})",
            missing=f"format('{parent_label} %s not found: import it first', s.{parent_field})",
        )
    return Target(
        table=table,
        stage=(*stage, GEOM),
        columns=tuple(columns),
        conflict="code",
        match="t.code = s.code",
        duplicate_key="code",
        duplicate_label="format('code %s', s.code)",
        label="s.code",
        parent=parent,
    )


DWELLING_STAGE = (("building_code", "text"), ("unit_no", "text"), ("floor", "integer"), ("room", "text"))
DWELLING_LABEL = "concat_ws(' ', s.building_code, NULLIF(s.unit_no, '') || '单元', s.floor || '层', s.room)"

TARGETS: dict[str, Target] = {
    "districts": _region_target("grids_district", None, None, ""),
    "streets": _region_target("grids_street", "grids_district", "district_code", "district"),
    "communities": _region_target("grids_community", "grids_street", "street_code", "street"),
    "grids": _region_target("grids_grid", "grids_community", "community_code", "community"),
    "buildings": Target(
        table="grids_building",
        stage=(("code", "text"), ("name", "text"), ("address", "text"), ("floors", "integer"), ("use", "text"), GEOM),
        columns=(
            Column("code", "s.code", compare=False),
            Column("name", "s.name", "name"),
            Column("address", "s.address", "address"),
            Column("floors", "s.floors", "floors"),
            Column("use", "s.use", "use"),
            Column("footprint", "s.geom", None, label="geometry"),
        ),
        conflict="code",
        match="t.code = s.code",
        duplicate_key="code",
        duplicate_label="format('code %s', s.code)",
        label="s.code",
        grid_from=("geom", "footprint"),
    ),
    "households": Target(
        table="grids_household",
        stage=(*DWELLING_STAGE, ("type", "text")),
        columns=(
            Column("building_id", "p.id", compare=False),
            Column("unit_no", "s.unit_no", compare=False),
            Column("floor", "s.floor", compare=False),
            Column("room", "s.room", compare=False),
            Column("type", "s.type", "type"),
        ),
        conflict="building_id, unit_no, floor, room",
        match="t.building_id = p.id AND t.unit_no = s.unit_no AND t.floor = s.floor AND t.room = s.room",
        duplicate_key="building_code, unit_no, floor, room",
        duplicate_label=f"format('dwelling %s', {DWELLING_LABEL})",
        label=DWELLING_LABEL,
        parent=Parent(
            join="JOIN grids_building p ON p.code = s.building_code",
            exists="EXISTS (SELECT 1 FROM grids_building x WHERE x.code = s.building_code)",
            missing="format('building %s not found: import buildings first', s.building_code)",
        ),
    ),
    "persons": Target(
        table="grids_person",
        stage=(
            ("id_number_cipher", "text"),
            ("id_number_digest", "text"),
            ("id_number_masked", "text"),
            ("name", "text"),
            ("sex", "text"),
            ("birth_date", "date"),
            ("phone_cipher", "text"),
            ("phone_digest", "text"),
            ("phone_masked", "text"),
            ("residency", "text"),
            ("relation", "text"),
            ("care_tags", "varchar(32)[]"),
            *DWELLING_STAGE,
        ),
        columns=(
            Column("id_number_cipher", "s.id_number_cipher", insert_only=True, compare=False),
            Column("id_number_digest", "s.id_number_digest", insert_only=True, compare=False),
            Column("id_number_masked", "s.id_number_masked", insert_only=True, compare=False),
            Column("household_id", "p.id", None, label="household"),
            Column("name", "s.name", "name"),
            Column("sex", "s.sex", "sex"),
            Column("birth_date", "s.birth_date", "birth_date"),
            Column("relation", "s.relation", "relation"),
            Column("residency", "s.residency", "residency"),
            Column("care_tags", "s.care_tags", "care_tags"),
            Column("phone_digest", "s.phone_digest", "phone"),
            Column(
                "phone_cipher",
                "s.phone_cipher",
                "phone",
                update_sql="CASE WHEN t.phone_digest IS DISTINCT FROM s.phone_digest "
                "THEN s.phone_cipher ELSE t.phone_cipher END",
                compare=False,
            ),
            Column("phone_masked", "s.phone_masked", "phone", compare=False),
        ),
        conflict="id_number_digest",
        match="t.id_number_digest = s.id_number_digest",
        duplicate_key="id_number_digest",
        duplicate_label="format('ID number %s', s.id_number_masked)",
        label="format('%s %s', s.name, s.id_number_masked)",
        parent=Parent(
            join="JOIN grids_building pb ON pb.code = s.building_code "
            "JOIN grids_household p ON p.building_id = pb.id AND p.unit_no = s.unit_no "
            "AND p.floor = s.floor AND p.room = s.room",
            exists="EXISTS (SELECT 1 FROM grids_building xb JOIN grids_household x ON x.building_id = xb.id "
            "WHERE xb.code = s.building_code AND x.unit_no = s.unit_no AND x.floor = s.floor AND x.room = s.room)",
            missing=f"format('household %s not found: import households first', {DWELLING_LABEL})",
        ),
    ),
    "units": Target(
        table="grids_unit",
        stage=(("code", "text"), ("name", "text"), ("type", "text"), ("parent_code", "text"), ("phone", "text"), GEOM),
        columns=(
            Column("code", "s.code", compare=False),
            Column("name", "s.name", "name"),
            Column("type", "s.type", "type"),
            Column("phone", "s.phone", "phone"),
            Column("jurisdiction", "s.geom", None, label="geometry"),
        ),
        conflict="code",
        match="t.code = s.code",
        duplicate_key="code",
        duplicate_label="format('code %s', s.code)",
        label="s.code",
        self_parent=True,
    ),
}

UNIT_PARENT = Column(
    "parent_id",
    "s.parent_code",
    "parent_code",
    label="parent_code",
    compare_target="(SELECT x.code FROM grids_unit x WHERE x.id = t.parent_id)",
)


# --- Options and the import itself --------------------------------------------------------------


@dataclass
class ImportOptions:
    mapping: dict[str, str] = field(default_factory=dict)  # field -> column (also geometry/lon/lat for tables)
    source_layer: str | None = None
    encoding: str | None = None
    crs: str | None = None
    commit: bool = False
    skip_refused: bool = False
    repair: bool = True
    batch_size: int = DEFAULT_BATCH
    actor: str = "manage.py"  # who imports, for the audit log


class LayerImport:
    """One import of one file into one layer. Construct it (opens the file, finds the columns), then run()."""

    def __init__(self, layer: str, path: Path | str, options: ImportOptions):
        if layer not in LAYERS:
            raise ImportFailure(f"unknown layer {layer!r}; choose one of {', '.join(LAYERS)}")
        self.layer: Layer = LAYERS[layer]
        self.target = TARGETS[layer]
        self.options = options
        self.path = Path(path)
        try:
            self.source = open_source(
                self.path, layer=options.source_layer, encoding=options.encoding, overrides=options.mapping
            )
            reserved = getattr(getattr(self.source, "geometry", None), "columns", [])
            self.columns = resolve_columns(
                self.layer,
                self.source.info.columns,
                {k: v for k, v in options.mapping.items() if k not in GEOMETRY_KEYS},
                reserved=reserved,
            )
            self.crs = crs_module.resolve(file_crs=self.source.info.crs, override=options.crs)
        except (ValueError, MappingError) as error:
            raise ImportFailure(str(error)) from error
        info = self.source.info
        if self.layer.geometry and not info.geometry:
            raise ImportFailure(
                f"{self.layer.name} need a polygon geometry and {self.path.name} has none: a CSV or xlsx needs a "
                "WKT column (wkt, geometry …, or --map geometry=COLUMN)"
            )
        used = set(self.columns.values()) | set(getattr(getattr(self.source, "geometry", None), "columns", []))
        self.report = ImportReport(
            layer=layer,
            source=self.path.name,
            format=info.format + (f", layer {info.layer}" if info.layer else ""),
            crs=self.crs.label if self.layer.geometry else None,
            encoding=info.encoding,
            mapping=dict(self.columns),
            ignored_columns=[c for c in info.columns if c not in used],
            commit=options.commit,
            skip_refused=options.skip_refused,
            notes=list(info.notes),
        )
        if info.geometry and self.layer.geometry and str(info.geometry).startswith("points"):
            self.report.notes.append("the file holds points; a polygon layer refuses them")
        if info.crs and options.crs and self.layer.geometry:
            self.report.notes.append(f"the file says its CRS is {info.crs}; read as {options.crs} (--crs)")
        self.stage = StagingTable(STAGE, [("_row", "integer"), *self.target.stage])
        self._grid_map = False  # GRID_MAP holds the staged rows' grids

    @property
    def count(self) -> int | None:
        return self.source.info.count

    # -- reading and converting --

    def _convert(self, batch) -> tuple[list[str], dict[str, list], dict[int, list[str]]]:
        """The batch's values by field, converted column by column, and the reasons rows are refused.

        A value seen before in the same column is converted once (codes of use, floors, types …); ID numbers and
        phones are not cached, so that their protected forms are made afresh for every row."""
        size = len(batch)
        converted: dict[str, list] = {}
        errors: dict[int, list[str]] = {}
        for spec in self.layer.fields:
            column = self.columns.get(spec.name)
            if column is None:
                converted[spec.name] = [spec.default] * size
                continue
            convert, default, required = spec.convert, spec.default, spec.required
            raws = batch.columns[column]
            fast = self._convert_many(convert, raws, default)
            if fast is not None:
                values, blanks = fast
                if required:
                    for i in blanks:
                        errors.setdefault(i, []).append(f"column {column}: empty {spec.name}")
                converted[spec.name] = values
                continue
            cache: dict | None = {} if spec.cacheable else None
            values = [None] * size
            for i, raw in enumerate(raws):
                if is_blank(raw):
                    if required:
                        errors.setdefault(i, []).append(f"column {column}: empty {spec.name}")
                    values[i] = default
                    continue
                if cache is not None:
                    key = (raw.__class__, raw)
                    try:
                        hit = cache[key]
                    except KeyError:
                        pass
                    except TypeError:  # unhashable: convert it alone
                        key = None
                    else:
                        if hit.__class__ is _Refusal:
                            errors.setdefault(i, []).append(f"column {column}: {hit.reason}")
                        else:
                            values[i] = hit
                        continue
                else:
                    key = None
                try:
                    value = convert(raw)
                except ValueError as error:
                    errors.setdefault(i, []).append(f"column {column}: {error}")
                    if key is not None:
                        cache[key] = _Refusal(str(error))
                    continue
                values[i] = value
                if key is not None:
                    cache[key] = value
            converted[spec.name] = values
        return list(converted), converted, errors

    @staticmethod
    def _convert_many(convert, raws: list, default) -> tuple[list, list[int]] | None:
        """A column of strings (and blanks) converted at once when the converter can (`convert.many`), or a column
        of ints (`convert.many_ints`): the values and the positions of the blanks; None when it cannot or a value
        fails (the caller goes value by value)."""
        many = getattr(convert, "many", None)
        if many is None and getattr(convert, "many_ints", None) is None:
            return None
        kinds = set(map(type, raws))
        if kinds == {int} and getattr(convert, "many_ints", None) is not None:
            result = convert.many_ints(raws)
            return None if result is None else (list(result), [])
        if many is None:
            return None
        if kinds == {str} and all(map(str.strip, raws)):  # the usual column: strings, none blank
            result = many(raws)
            return None if result is None else (list(result), [])
        positions, texts, blanks = [], [], []
        for i, raw in enumerate(raws):
            kind = raw.__class__
            if kind is str:
                if raw.strip():
                    positions.append(i)
                    texts.append(raw)
                else:
                    blanks.append(i)
            elif is_blank(raw):
                blanks.append(i)
            else:
                return None
        result = many(texts)
        if result is None:
            return None
        values = [default] * len(raws)
        for i, value in zip(positions, result, strict=True):
            values[i] = value
        return values, blanks

    def _stage_columns(self, converted: dict[str, list], keep: list[int], ewkb: list | None) -> list[list]:
        """The staging table's columns (after _row) for the rows kept, derived from the converted fields."""
        name = self.layer.name
        pick = {field: [values[i] for i in keep] for field, values in converted.items()}
        if self.layer.parent_from_code:
            parent_field, length = self.layer.parent_from_code
            pick[parent_field] = [
                code[:length] if parent is None else parent
                for parent, code in zip(pick[parent_field], pick["code"], strict=True)
            ]
        if name == "buildings":
            pick["name"] = [value or code for value, code in zip(pick["name"], pick["code"], strict=True)]
        if name == "persons":
            ids = pick.pop("id_number")  # (protected fields, birth date, sex) per row
            for key in ("id_number_cipher", "id_number_digest", "id_number_masked"):
                pick[key] = [protected[key] for protected, _, _ in ids]
            births, sexes = pick["birth_date"], pick["sex"]
            pick["birth_date"] = [b if b is not None else plain for b, (_, plain, _) in zip(births, ids, strict=True)]
            pick["sex"] = [x if x is not None else plain for x, (_, _, plain) in zip(sexes, ids, strict=True)]
            phones = pick.pop("phone")
            for key in ("phone_cipher", "phone_digest", "phone_masked"):
                pick[key] = [phone[key] if phone else "" for phone in phones]
        pick["geom"] = [ewkb[i] for i in keep] if ewkb is not None else [None] * len(keep)
        return [pick[column] for column, _ in self.target.stage]

    def _stage_batch(self, batch) -> str:
        """Convert and check one batch, refuse what fails; the COPY text of the rest ("" for none)."""
        report = self.report
        prepared = None
        if self.layer.geometry:
            geometries = batch.geometries if batch.geometries is not None else np.full(len(batch), None, dtype=object)
            geometries = self.crs.to_wgs84(geometries)
            prepared = geometry_module.prepare(geometries, kind=self.layer.geometry, repair=self.options.repair)
        _names, converted, errors = self._convert(batch)
        suspects = set(errors) | set(batch.geometry_errors)
        if prepared is not None:
            suspects |= set(prepared.refused)
        if self.layer.name == "units":
            suspects |= {
                i
                for i, (parent, code) in enumerate(zip(converted["parent_code"], converted["code"], strict=True))
                if parent is not None and parent == code
            }
        refused = set()
        for i in sorted(suspects):
            reasons = []
            if i in batch.geometry_errors:
                reasons.append(batch.geometry_errors[i])
            elif prepared is not None and i in prepared.refused:
                reasons.append(prepared.refused[i])
            reasons.extend(errors.get(i, ()))
            if not reasons:  # units: its own parent, and nothing else wrong
                reasons.append("a unit cannot be its own parent")
            report.refuse(batch.rows[i], "; ".join(reasons))
            refused.add(i)
        if prepared is not None:
            for i in sorted(set(prepared.repaired) - refused):
                report.repair(batch.rows[i])
        keep = [i for i in range(len(batch)) if i not in refused] if refused else list(range(len(batch)))
        if not keep:
            return ""
        columns = self._stage_columns(converted, keep, prepared.ewkb if prepared is not None else None)
        return self.stage.copy_data([[batch.rows[i] for i in keep], *columns])

    # -- SQL steps --

    def _sql_refusals(self, cursor) -> None:
        t = self.target
        cursor.execute(f"DROP TABLE IF EXISTS {REFUSED}")
        cursor.execute(f"CREATE TEMP TABLE {REFUSED} (_row integer, reason text) ON COMMIT DROP")
        cursor.execute(f"""
            WITH d AS (
                SELECT _row, min(_row) OVER (PARTITION BY {t.duplicate_key}) AS first FROM {STAGE}
            ), gone AS (
                DELETE FROM {STAGE} s USING d WHERE s._row = d._row AND d._row <> d.first
                RETURNING s._row, d.first, {t.duplicate_label} AS what
            )
            INSERT INTO {REFUSED} SELECT _row, format('same %s as row %s', what, first) FROM gone
        """)
        if t.parent is not None:
            cursor.execute(f"""
                WITH gone AS (
                    DELETE FROM {STAGE} s WHERE NOT {t.parent.exists} RETURNING s._row, {t.parent.missing} AS why
                )
                INSERT INTO {REFUSED} SELECT _row, why FROM gone
            """)
        if t.self_parent and "parent_code" in self.columns:
            while True:  # a unit whose parent was refused is refused too
                cursor.execute(f"""
                    WITH gone AS (
                        DELETE FROM {STAGE} s WHERE s.parent_code IS NOT NULL
                        AND NOT EXISTS (SELECT 1 FROM grids_unit x WHERE x.code = s.parent_code)
                        AND NOT EXISTS (SELECT 1 FROM {STAGE} y WHERE y.code = s.parent_code)
                        RETURNING s._row, s.parent_code
                    )
                    INSERT INTO {REFUSED}
                    SELECT _row, format('parent unit %s not found in the database or the file', parent_code) FROM gone
                """)
                if not cursor.rowcount:
                    break
        cursor.execute(f"SELECT count(*) FROM {REFUSED}")
        (count,) = cursor.fetchone()
        cursor.execute(f"SELECT _row, reason FROM {REFUSED} ORDER BY _row LIMIT {SAMPLE}")
        for row, reason in cursor.fetchall():
            self.report.refuse(row, reason)
        self.report.refused += count - min(count, SAMPLE)

    def _columns_in_play(self) -> list[Column]:
        columns = list(self.target.columns)
        if self.target.self_parent and "parent_code" in self.columns:
            columns.append(UNIT_PARENT)
        return columns

    def _updatable(self, column: Column) -> bool:
        return not column.insert_only and (column.field is None or column.field in self.columns)

    def _compared(self) -> list[Column]:
        return [c for c in self._columns_in_play() if c.compare and self._updatable(c)]

    def _from(self) -> str:
        parent = self.target.parent.join if self.target.parent else ""
        return f"{STAGE} s {parent}"

    def _classify(self, cursor) -> tuple[int, int, int]:
        """(new, changed, unchanged) of the staged rows against the table, without writing."""
        compared = self._compared()
        differs = "false"
        if compared:
            left = ", ".join(c.compare_target or f"t.{c.target}" for c in compared)
            right = ", ".join(c.source for c in compared)
            differs = f"ROW({left}) IS DISTINCT FROM ROW({right})"
        table = self.target.table
        cursor.execute(f"""
            SELECT count(*) FILTER (WHERE t.id IS NULL),
                   count(*) FILTER (WHERE t.id IS NOT NULL AND {differs}),
                   count(*) FILTER (WHERE t.id IS NOT NULL AND NOT ({differs}))
            FROM {self._from()} LEFT JOIN {table} t ON {self.target.match}
        """)
        new, changed, unchanged = cursor.fetchone()
        if compared and changed:
            flags = ", ".join(
                f"CASE WHEN {c.compare_target or 't.' + c.target} IS DISTINCT FROM {c.source} "
                f"THEN '{c.label or c.field or c.target}' END"
                for c in compared
            )
            cursor.execute(f"""
                SELECT s._row, {self.target.label}, array_remove(ARRAY[{flags}], NULL)
                FROM {self._from()} JOIN {table} t ON {self.target.match}
                WHERE {differs} ORDER BY s._row LIMIT {SAMPLE}
            """)
            self.report.changed_rows = [(row, label, list(fields)) for row, label, fields in cursor.fetchall()]
        return new, changed, unchanged

    def _upsert(self, cursor) -> tuple[int, int]:
        """Write the staged rows; (new, changed) as the database counts them.

        Changed rows are updated in one UPDATE … FROM (rows that did not change are not touched), then new rows
        are inserted in one plain INSERT … SELECT … WHERE NOT EXISTS. Not INSERT … ON CONFLICT: PostgreSQL fires
        BEFORE INSERT row triggers for every proposed row, conflicting or not, and speculative insertion costs
        more besides — with the building grid trigger, ON CONFLICT made the insert of 100k new buildings ~40 %
        slower and made a re-import of unchanged buildings look up 100k grids for nothing. A row with the same key
        written by someone else between the two statements ends the import with an IntegrityError (nothing is
        written; run it again).

        Buildings get their grid in both statements while the grid trigger stands down (_grid_given): from
        _find_grids when many rows are new or moved, else from grids_grid_at row by row (a changed row whose footprint
        did not move keeps its grid)."""
        t = self.target
        if t.self_parent:
            return self._upsert_units(cursor)
        columns = [c for c in t.columns if not c.compare_target]
        names = ", ".join(c.target for c in columns)
        sources = ", ".join(c.source for c in columns)
        updated = [c for c in columns if self._updatable(c)]
        compared = [c for c in updated if c.compare]
        source, grid_set = self._from(), ""
        if t.grid_from:
            staged, stored = t.grid_from
            names += ", grid_id"
            if self._find_grids(cursor, moved_only=True):
                source += f" LEFT JOIN {GRID_MAP} m ON m._row = s._row"
                sources += ", m.grid_id"
                grid_set = ", grid_id = m.grid_id"
            else:  # few rows are new or moved: each finds its grid alone
                sources += f", grids_grid_at(s.{staged})"
                grid_set = (
                    f", grid_id = CASE WHEN t.{stored} = s.{staged} THEN t.grid_id ELSE grids_grid_at(s.{staged}) END"
                )
        changed = 0
        with self._grid_given(cursor):
            if updated and compared:
                sets = ", ".join(f"{c.target} = {c.update_sql or c.source}" for c in updated)
                left = ", ".join(f"t.{c.target}" for c in compared)
                right = ", ".join(c.source for c in compared)
                cursor.execute(f"""
                    UPDATE {t.table} AS t SET {sets}{grid_set}
                    FROM {source}
                    WHERE {t.match} AND ROW({left}) IS DISTINCT FROM ROW({right})
                """)
                changed = cursor.rowcount
            cursor.execute(f"""
                INSERT INTO {t.table} ({names})
                SELECT {sources} FROM {source}
                WHERE NOT EXISTS (SELECT 1 FROM {t.table} t WHERE {t.match})
                ORDER BY s._row
            """)
            new = cursor.rowcount
        return new, changed

    def _find_grids(self, cursor, *, moved_only: bool) -> bool:
        """Buildings: the grid of every staged row, found for all rows at once, into GRID_MAP (_row, grid_id; a
        row in no grid is not in it). With `moved_only`, only when many staged rows are new or have a footprint
        other than the stored one (and then False: the few that are find their grid one by one).

        The rule is grids_grid_at's (grids migration 0002), the join the other way round: the staged footprints
        are indexed, and each grid looks up the footprints whose bounding box meets its own, keeping those whose
        point on surface it covers; the first grid by code wins. ~0.7 s for 100k buildings where a lookup per building
        costs ~5 s (a GiST probe of grids_grid each)."""
        staged, stored = self.target.grid_from
        if moved_only:
            cursor.execute(f"""
                SELECT count(*) FILTER (WHERE t.id IS NULL OR t.{stored} IS DISTINCT FROM s.{staged}), count(*)
                FROM {STAGE} s LEFT JOIN {self.target.table} t ON {self.target.match}
            """)
            moved, total = cursor.fetchone()
            if moved <= max(GRID_MAP_MIN_ROWS, total // 10):
                return False
        cursor.execute(f"CREATE INDEX ON {STAGE} USING gist ({staged})")
        cursor.execute(f"DROP TABLE IF EXISTS {GRID_MAP}")
        cursor.execute(f"""
            CREATE TEMP TABLE {GRID_MAP} ON COMMIT DROP AS
            SELECT DISTINCT ON (s._row) s._row, g.id AS grid_id
            FROM grids_grid g JOIN {STAGE} s
              ON s.{staged} && g.boundary AND ST_Covers(g.boundary, ST_PointOnSurface(s.{staged}))
            ORDER BY s._row, g.code
        """)
        self._grid_map = True
        return True

    @contextmanager
    def _grid_given(self, cursor):
        """The building grid trigger stands down while the import writes grid_id itself, and only then.

        SET LOCAL ends with the transaction (or the savepoint) whatever happens; after the statements it is set
        back at once, so that nothing else in the same transaction (an audit line, a caller's own writes) skips
        the trigger. When a statement fails the transaction is aborted and rolls the setting back itself."""
        if not self.target.grid_from:
            yield
            return
        cursor.execute("SELECT set_config(%s, 'on', true)", [GRID_GIVEN])
        yield
        cursor.execute("SELECT set_config(%s, 'off', true)", [GRID_GIVEN])

    def _upsert_units(self, cursor) -> tuple[int, int]:
        """Units (a few hundred rows) in one INSERT … ON CONFLICT, then their parents once every unit exists."""
        t = self.target
        columns = [c for c in t.columns if not c.compare_target]
        names = ", ".join(c.target for c in columns)
        sources = ", ".join(c.source for c in columns)
        updated = [c for c in columns if self._updatable(c)]
        compared = [c for c in updated if c.compare]
        if updated and compared:
            sets = ", ".join(f"{c.target} = EXCLUDED.{c.target}" for c in updated)
            left = ", ".join(f"t.{c.target}" for c in compared)
            right = ", ".join(f"EXCLUDED.{c.target}" for c in compared)
            action = f"DO UPDATE SET {sets} WHERE ROW({left}) IS DISTINCT FROM ROW({right})"
        else:
            action = "DO NOTHING"
        cursor.execute(f"""
            INSERT INTO {t.table} AS t ({names})
            SELECT {sources} FROM {self._from()} ORDER BY s._row
            ON CONFLICT ({t.conflict}) {action}
            RETURNING (t.xmax = 0) AS inserted, t.code
        """)
        results = cursor.fetchall()
        new = sum(1 for r in results if r[0])
        changed = len(results) - new
        if "parent_code" in self.columns:
            touched = {r[1] for r in results}
            cursor.execute(f"""
                UPDATE grids_unit u SET parent_id = p.id
                FROM {STAGE} s LEFT JOIN grids_unit p ON p.code = s.parent_code
                WHERE u.code = s.code AND u.parent_id IS DISTINCT FROM p.id
                RETURNING u.code
            """)
            changed += len({code for (code,) in cursor.fetchall()} - touched)
        return new, changed

    def _notes_after(self, cursor, written: bool) -> None:
        if self.layer.name != "buildings":
            return
        if not self._grid_map and not written:
            self._find_grids(cursor, moved_only=False)
        if self._grid_map:  # every staged building's grid, new or not (the trigger keeps stored grids current)
            cursor.execute(
                f"SELECT count(*) FROM {STAGE} s WHERE NOT EXISTS (SELECT 1 FROM {GRID_MAP} m WHERE m._row = s._row)"
            )
        else:
            cursor.execute(
                f"SELECT count(*) FROM grids_building b JOIN {STAGE} s ON s.code = b.code WHERE b.grid_id IS NULL"
            )
        (outside,) = cursor.fetchone()
        if outside:
            self.report.notes.append(f"{outside} building(s) lie in no grid (their grid stays empty)")

    def run(self, on_progress: Callable[[int], None] | None = None) -> ImportReport:
        report = self.report
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    # These statements are bound by writes and triggers; JIT compilation would only add seconds.
                    cursor.execute("SET LOCAL jit = off")
                    # The joins and sorts over the staged rows (100k buildings: ~25 MB sorted by row, hashed by
                    # code) stay in memory instead of spilling to temporary files at the default 4 MB.
                    cursor.execute("SET LOCAL work_mem = '64MB'")
                self.stage.create()
                # One batch is sent (the server parses and stores it) while the next is read and converted: two
                # batches in memory at most.
                raw = connection.connection  # opened by stage.create(); Django's proxy is per thread
                with ThreadPoolExecutor(max_workers=1, thread_name_prefix="gisio-copy") as sender:
                    sending = None
                    for batch in self.source.batches(self.options.batch_size):
                        report.read += len(batch)
                        data = self._stage_batch(batch)
                        if sending is not None:
                            sending.result()
                            sending = None
                        if data:
                            sending = sender.submit(self.stage.send, data, raw)
                        if on_progress:
                            on_progress(len(batch))
                    if sending is not None:
                        sending.result()
                if self.target.parent or self.target.self_parent:
                    # Only joins through a parent's columns need the staged rows indexed and counted; the others
                    # (regions, buildings) are hash joins on the key, as good without (~0.3 s saved on 100k rows).
                    self.stage.index(self.target.duplicate_key)
                with connection.cursor() as cursor:
                    self._sql_refusals(cursor)
                    if self.options.commit and not report.blocked:
                        # The dry run lists what changes; a commit only counts what it wrote.
                        new, changed = self._upsert(cursor)
                        cursor.execute(f"SELECT count(*) FROM {STAGE}")
                        unchanged = cursor.fetchone()[0] - new - changed
                        report.written = True
                    else:
                        new, changed, unchanged = self._classify(cursor)
                    report.new, report.changed, report.unchanged = new, changed, unchanged
                    self._notes_after(cursor, report.written)
                if report.written:  # in the import's own transaction: no import without its audit line
                    audit.record(
                        action=AuditAction.IMPORT,
                        actor=self.options.actor,
                        target=f"grids.{report.layer}",
                        detail={"file": report.source, "new": new, "changed": changed, "unchanged": unchanged},
                    )
                if not report.written:
                    transaction.set_rollback(True)
        except IntegrityError as error:
            raise ImportFailure(
                f"nothing was written: the database refused a row ({str(error).strip().splitlines()[0]}); "
                "if someone else wrote the same rows meanwhile, run the import again"
            ) from error
        return report
