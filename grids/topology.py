"""Topology checks of the registry, in SQL: 区—街道—社区—网格 must nest and partition exactly, buildings sit
inside their grid and do not overlap.

Every pair test starts with `&&` so the spatial indexes choose the candidates. Areas are planar, like the
data (straight edges in lon/lat), scaled to square metres at the shape's latitude: a geography area would
read the edges as great circles and turn a hair-thin sliver along a kilometre-long boundary into tens of
square metres. Differences below TOLERANCE_M2 are rounding, not problems.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

TOLERANCE_M2 = 1.0
M2_PER_DEG2_AT_EQUATOR = 111_320.0 * 110_574.0


def m2(geom: str) -> str:
    """SQL for the area in m² of a (lon/lat, planar) geometry expression; 0 for an empty one."""
    return (
        f"COALESCE(ST_Area({geom}) * {M2_PER_DEG2_AT_EQUATOR} "
        f"* cos(radians((ST_YMin({geom}::box2d) + ST_YMax({geom}::box2d)) / 2)), 0)"
    )


# (table, zh, en, parent table, foreign key to it) from the top down.
LEVELS = (
    ("grids_district", "区", "district", None, None),
    ("grids_street", "街道", "street", "grids_district", "district_id"),
    ("grids_community", "社区", "community", "grids_street", "street_id"),
    ("grids_grid", "网格", "grid", "grids_community", "community_id"),
)
NAMES = {table: (zh, en) for table, zh, en, _, _ in LEVELS}


@dataclass(frozen=True)
class Problem:
    kind: str  # outside_parent, overlap, gap, building_outside_grid, building_without_grid, buildings_overlap
    codes: tuple[str, ...]
    area_m2: float | None
    zh: str
    en: str

    def __str__(self) -> str:
        return f"{self.zh} / {self.en}"


def _rows(sql: str, params: dict | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or {})
        return cursor.fetchall()


def outside_parent(table: str, parent: str, fk: str) -> list[Problem]:
    """Regions not covered by their parent (more than the tolerance outside)."""
    zh, en = NAMES[table]
    pzh, pen = NAMES[parent]
    sql = f"""
        SELECT c.code, p.code, {m2("d.geom")}
        FROM {table} c JOIN {parent} p ON p.id = c.{fk}
        CROSS JOIN LATERAL (SELECT ST_Difference(c.boundary, p.boundary) AS geom) d
        WHERE NOT ST_Covers(p.boundary, c.boundary)
        ORDER BY c.code
    """
    return [
        Problem(
            "outside_parent",
            (code, parent_code),
            area,
            f"{zh} {code} 超出所属{pzh} {parent_code} {area:,.1f} 平方米",
            f"{en} {code} extends {area:,.1f} m² outside its {pen} {parent_code}",
        )
        for code, parent_code, area in _rows(sql)
        if area > TOLERANCE_M2
    ]


def overlaps(table: str) -> list[Problem]:
    """Pairs of regions of one level (same parent or not) whose interiors overlap."""
    zh, en = NAMES[table]
    sql = f"""
        SELECT a.code, b.code, {m2("i.geom")}
        FROM {table} a JOIN {table} b ON a.id < b.id AND a.boundary && b.boundary
        CROSS JOIN LATERAL (SELECT ST_Intersection(a.boundary, b.boundary) AS geom) i
        WHERE ST_Relate(a.boundary, b.boundary, '2********')
        ORDER BY a.code, b.code
    """
    return [
        Problem(
            "overlap",
            (a, b),
            area,
            f"{zh} {a} 与{zh} {b} 重叠 {area:,.1f} 平方米",
            f"{en}s {a} and {b} overlap by {area:,.1f} m²",
        )
        for a, b, area in _rows(sql)
        if area > TOLERANCE_M2
    ]


def gaps(table: str, parent: str, fk: str) -> list[Problem]:
    """Parts of a parent covered by none of its children (the whole parent when it has none)."""
    zh, en = NAMES[table]
    pzh, pen = NAMES[parent]
    sql = f"""
        SELECT p.code, {m2("d.geom")}
        FROM {parent} p
        LEFT JOIN LATERAL (SELECT ST_Union(c.boundary) AS geom FROM {table} c WHERE c.{fk} = p.id) u ON true
        CROSS JOIN LATERAL (
            SELECT ST_Difference(p.boundary, COALESCE(u.geom, 'SRID=4326;POLYGON EMPTY'::geometry)) AS geom
        ) d
        ORDER BY p.code
    """
    return [
        Problem(
            "gap",
            (code,),
            area,
            f"{pzh} {code} 有 {area:,.1f} 平方米不属于其任何{zh}",
            f"{area:,.1f} m² of {pen} {code} lies in none of its {en}s",
        )
        for code, area in _rows(sql)
        if area > TOLERANCE_M2
    ]


def buildings_outside_grid() -> list[Problem]:
    """Buildings with no grid, or not wholly inside the grid they belong to (naming the grids they reach into)."""
    sql = """
        SELECT b.code, g.code, (
            SELECT string_agg(o.code, ',' ORDER BY o.code) FROM grids_grid o
            WHERE o.boundary && b.footprint AND o.id IS DISTINCT FROM b.grid_id
              AND ST_Relate(o.boundary, b.footprint, '2********')
        )
        FROM grids_building b LEFT JOIN grids_grid g ON g.id = b.grid_id
        WHERE g.id IS NULL OR NOT ST_Covers(g.boundary, b.footprint)
        ORDER BY b.code
    """
    problems = []
    for code, grid, others in _rows(sql):
        if grid is None:
            problems.append(
                Problem(
                    "building_without_grid",
                    (code,),
                    None,
                    f"楼栋 {code} 不在任何网格内",
                    f"building {code} lies in no grid",
                )
            )
        else:
            also = f"，跨入网格 {others}" if others else ""
            also_en = f", reaching into {others}" if others else ""
            problems.append(
                Problem(
                    "building_outside_grid",
                    (code, grid, *(others.split(",") if others else ())),
                    None,
                    f"楼栋 {code} 未完全位于所属网格 {grid} 内{also}",
                    f"building {code} is not wholly inside its grid {grid}{also_en}",
                )
            )
    return problems


def buildings_overlapping() -> list[Problem]:
    sql = f"""
        SELECT a.code, b.code, {m2("ST_Intersection(a.footprint, b.footprint)")}
        FROM grids_building a JOIN grids_building b ON a.id < b.id AND a.footprint && b.footprint
        WHERE ST_Relate(a.footprint, b.footprint, '2********')
        ORDER BY a.code, b.code
    """
    return [
        Problem(
            "buildings_overlap",
            (a, b),
            area,
            f"楼栋 {a} 与楼栋 {b} 重叠 {area:,.1f} 平方米",
            f"buildings {a} and {b} overlap by {area:,.1f} m²",
        )
        for a, b, area in _rows(sql)
        if area > TOLERANCE_M2
    ]


def check_topology() -> list[Problem]:
    """Every problem found, from the districts down to the buildings."""
    problems: list[Problem] = []
    for table, _, _, parent, fk in LEVELS:
        if parent:
            problems += outside_parent(table, parent, fk)
        problems += overlaps(table)
        if parent:
            problems += gaps(table, parent, fk)
    problems += buildings_outside_grid()
    problems += buildings_overlapping()
    return problems
