"""Shape checks and repairs of imported geometries, batch by batch (vectorised with shapely 2).

Every geometry ends either stored (as hex EWKB, SRID 4326, 2D) or refused with a reason a user can act on.
Invalid polygons are repaired with `make_valid`, keeping only the polygonal part, unless repair is off.
"""

from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely import GeometryType

MULTIPOLYGON = "multipolygon"  # regions and unit jurisdictions
POLYGON = "polygon"  # building footprints: one polygon

_POLYGONAL = (GeometryType.POLYGON, GeometryType.MULTIPOLYGON)


@dataclass
class PreparedGeometries:
    ewkb: list[str | None]  # hex EWKB per row, None where refused
    refused: dict[int, str] = field(default_factory=dict)  # position in batch -> reason
    repaired: list[int] = field(default_factory=list)  # positions in batch


def _polygonal_part(geometry) -> shapely.Geometry | None:
    """The polygons of a (repaired) geometry as one MultiPolygon, or None when it has none."""
    parts = [
        part for part in shapely.get_parts(geometry) if shapely.get_type_id(part) in _POLYGONAL and not part.is_empty
    ]
    polygons = []
    for part in parts:
        polygons.extend(shapely.get_parts(part) if shapely.get_type_id(part) == GeometryType.MULTIPOLYGON else [part])
    return shapely.MultiPolygon(polygons) if polygons else None


def _slow_path(geometry, valid: bool, kind: str, repair: bool, result: PreparedGeometries, i: int):
    """Shape one geometry that is not simply a valid polygon; record why it is refused or that it was repaired."""
    if shapely.get_type_id(geometry) not in (*_POLYGONAL, GeometryType.GEOMETRYCOLLECTION):
        result.refused[i] = f"a {geometry.geom_type}, not a polygon"
        return None
    repaired = False
    if not valid:
        if not repair:
            reason = shapely.is_valid_reason(geometry)
            result.refused[i] = f"invalid geometry ({reason}); fix it or import without --no-repair"
            return None
        geometry = shapely.make_valid(geometry)
        repaired = True
    polygons = _polygonal_part(geometry)
    if polygons is None:
        result.refused[i] = "cannot be repaired into a polygon" if repaired else "a GeometryCollection with no polygon"
        return None
    if kind == POLYGON:
        count = shapely.get_num_geometries(polygons)
        if count > 1:
            after = " after repair" if repaired else ""
            result.refused[i] = (
                f"footprint has {count} separate parts{after}; "
                "a building is one polygon (split it into several buildings)"
            )
            return None
        polygons = shapely.get_geometry(polygons, 0)
    if repaired:
        result.repaired.append(i)
    return polygons


def prepare(geometries: np.ndarray, *, kind: str, repair: bool = True) -> PreparedGeometries:
    """Check and shape `geometries` (already in WGS84) for storage as `kind`.

    The common case (a valid Polygon, or a valid MultiPolygon where one is expected) is handled for the whole
    batch at once; only the others are looked at one by one.
    """
    size = len(geometries)
    result = PreparedGeometries(ewkb=[None] * size)
    if not size:
        return result
    geometries = np.asarray(geometries, dtype=object)
    if shapely.has_z(geometries).any():
        geometries = shapely.force_2d(geometries)
    missing = shapely.is_missing(geometries)
    empty = ~missing & shapely.is_empty(geometries)
    types = shapely.get_type_id(geometries)
    valid = shapely.is_valid(geometries)
    parts = shapely.get_num_geometries(geometries)
    shaped = np.full(size, None, dtype=object)
    simple_polygon = valid & ~empty & (types == GeometryType.POLYGON)
    simple_multi = valid & ~empty & (types == GeometryType.MULTIPOLYGON)
    if kind == MULTIPOLYGON:
        if simple_polygon.any():
            shaped[simple_polygon] = shapely.multipolygons(
                geometries[simple_polygon], indices=np.arange(simple_polygon.sum())
            )
        shaped[simple_multi] = geometries[simple_multi]
        handled = simple_polygon | simple_multi
    else:
        one_part = simple_multi & (parts == 1)
        shaped[simple_polygon] = geometries[simple_polygon]
        if one_part.any():
            shaped[one_part] = shapely.get_geometry(geometries[one_part], 0)
        handled = simple_polygon | one_part
    for i in np.flatnonzero(~handled):
        if missing[i]:
            result.refused[i] = "no geometry"
        elif empty[i]:
            result.refused[i] = "empty geometry"
        else:
            shaped[i] = _slow_path(geometries[i], bool(valid[i]), kind, repair, result, int(i))
    present = ~shapely.is_missing(shaped)
    if not present.any():
        return result
    bounds = shapely.bounds(shaped[present])
    inside = (bounds[:, 0] >= -180) & (bounds[:, 2] <= 180) & (bounds[:, 1] >= -90) & (bounds[:, 3] <= 90)
    positions = np.flatnonzero(present)
    for i, (minx, miny, _, _) in zip(positions[~inside], bounds[~inside], strict=True):
        result.refused[int(i)] = (
            f"coordinates ({minx:.0f}, {miny:.0f}) are not longitude/latitude; "
            f"name the file's CRS with --crs (e.g. EPSG:4543 for CGCS2000 metres, CM 102°E)"
        )
        if int(i) in result.repaired:
            result.repaired.remove(int(i))
    keep = positions[inside]
    for i, text in zip(keep, hex_ewkb(shaped[keep]), strict=True):
        result.ewkb[int(i)] = text
    return result


_EWKB_SRID_FLAG = 0x20000000
_SRID_4326 = (4326).to_bytes(4, "little")


def hex_ewkb(geometries: np.ndarray) -> list[str]:
    """Hex EWKB with SRID 4326, as PostGIS reads it, for 2D geometries.

    GEOS writes plain little-endian WKB quickly, but its hex EWKB writer (and set_srid on every geometry) cost
    several times more; the SRID is spliced in here instead: byte order, geometry type with the SRID flag set,
    the SRID, then the rest of the WKB unchanged (nested parts carry no SRID in EWKB either).
    """
    if not len(geometries):
        return []
    wkb = shapely.to_wkb(geometries, hex=False, byte_order=1, include_srid=False)
    flag, srid, from_bytes = _EWKB_SRID_FLAG, _SRID_4326, int.from_bytes
    return [(b[:1] + (from_bytes(b[1:5], "little") | flag).to_bytes(4, "little") + srid + b[5:]).hex() for b in wkb]
