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


def _type_name(geometry) -> str:
    return geometry.geom_type if geometry is not None else "none"


def prepare(geometries: np.ndarray, *, kind: str, repair: bool = True) -> PreparedGeometries:
    """Check and shape `geometries` (already in WGS84) for storage as `kind`."""
    result = PreparedGeometries(ewkb=[None] * len(geometries))
    if not len(geometries):
        return result
    geometries = shapely.force_2d(np.asarray(geometries, dtype=object))
    missing = shapely.is_missing(geometries)
    empty = ~missing & shapely.is_empty(geometries)
    valid = shapely.is_valid(geometries)
    shaped: list = [None] * len(geometries)
    for i, geometry in enumerate(geometries):
        if missing[i]:
            result.refused[i] = "no geometry"
            continue
        if empty[i]:
            result.refused[i] = "empty geometry"
            continue
        if shapely.get_type_id(geometry) not in (*_POLYGONAL, GeometryType.GEOMETRYCOLLECTION):
            result.refused[i] = f"a {geometry.geom_type}, not a polygon"
            continue
        if not valid[i]:
            reason = shapely.is_valid_reason(geometry)
            if not repair:
                result.refused[i] = f"invalid geometry ({reason}); fix it or import without --no-repair"
                continue
            geometry = shapely.make_valid(geometry)
            result.repaired.append(i)
        polygons = _polygonal_part(geometry)
        if polygons is None:
            why = "cannot be repaired into a polygon" if not valid[i] else f"a {_type_name(geometry)}, not a polygon"
            result.refused[i] = why
            if i in result.repaired:
                result.repaired.remove(i)
            continue
        if kind == POLYGON:
            count = shapely.get_num_geometries(polygons)
            if count > 1:
                repaired = " after repair" if i in result.repaired else ""
                result.refused[i] = (
                    f"footprint has {count} separate parts{repaired}; a building is one polygon "
                    "(split it into several buildings)"
                )
                if i in result.repaired:
                    result.repaired.remove(i)
                continue
            polygons = shapely.get_geometry(polygons, 0)
        minx, miny, maxx, maxy = polygons.bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            result.refused[i] = (
                f"coordinates ({minx:.0f}, {miny:.0f}) are not longitude/latitude; "
                f"name the file's CRS with --crs (e.g. EPSG:4543 for CGCS2000 metres, CM 102°E)"
            )
            if i in result.repaired:
                result.repaired.remove(i)
            continue
        shaped[i] = polygons
    keep = [i for i, g in enumerate(shaped) if g is not None]
    if keep:
        stored = shapely.set_srid(np.array([shaped[i] for i in keep], dtype=object), 4326)
        for i, text in zip(keep, shapely.to_wkb(stored, hex=True, include_srid=True), strict=True):
            result.ewkb[i] = text
    return result
