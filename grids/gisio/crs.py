"""Coordinate systems of imported files, and the conversion of their geometries to the stored WGS84.

Accepted: EPSG:4326 (WGS84) and EPSG:4490 (CGCS2000), treated as equal (they differ by centimetres);
the CGCS2000 3-degree Gauss-Krüger zones (EPSG:4534–4554, CM 75°E–135°E, and 4513–4533, the same zones with
the zone number in front of the easting; 攀枝花 is EPSG:4543, CM 102°E), projected back onto CGCS2000 with
no datum shift; `gcj02` (the offset of AMap and Tencent) undone with grids.coords; any other CRS that PROJ
knows is transformed to WGS84 by PROJ.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import shapely

from grids.coords import gcj02_to_wgs84

if TYPE_CHECKING:
    import pyproj

WGS84 = 4326
CGCS2000 = 4490
GEOGRAPHIC_EQUAL = {WGS84, CGCS2000}
GK_ZONES = range(4534, 4555)  # CGCS2000 / 3-degree Gauss-Kruger CM 75E … CM 135E
GK_ZONES_WITH_PREFIX = range(4513, 4534)  # the same, zone number prefixed to the easting
PANZHIHUA_ZONE = 4543
GCJ02 = "gcj02"
# The names PROJ gives the CRSs stored as they are, for a file that names one by its code (as GDAL names a
# GeoPackage's or a GeoJSON's): no need to load PROJ for them.
GEOGRAPHIC_NAMES = {WGS84: "WGS 84", CGCS2000: "China Geodetic Coordinate System 2000"}
ALIASES = {"wgs84": WGS84, "wgs-84": WGS84, "cgcs2000": CGCS2000, "cgcs-2000": CGCS2000}


class CRSError(ValueError):
    pass


@dataclass(frozen=True)
class SourceCRS:
    """The coordinate system a file's geometries are in, and how to bring them to WGS84."""

    label: str
    convert: Callable[[np.ndarray], np.ndarray] | None  # (N, 2) array -> (N, 2) array; None: already WGS84
    assumed: bool = False  # neither the file nor the caller named it

    def to_wgs84(self, geometries: np.ndarray) -> np.ndarray:
        if self.convert is None:
            return geometries
        return shapely.transform(geometries, self.convert)


def parse(text: str) -> pyproj.CRS | str:
    """A CRS named by a user: `gcj02`, `wgs84`, `cgcs2000`, `4543`, `EPSG:4543`, or anything PROJ reads."""
    import pyproj

    value = text.strip()
    lowered = value.lower()
    if lowered in (GCJ02, "gcj-02", "gcj"):
        return GCJ02
    if lowered in ALIASES:
        return pyproj.CRS.from_epsg(ALIASES[lowered])
    if value.isdigit():
        value = f"EPSG:{value}"
    try:
        return pyproj.CRS.from_user_input(value)
    except pyproj.exceptions.CRSError as error:
        raise CRSError(
            f"unknown CRS {text!r}: use gcj02, wgs84, cgcs2000, EPSG:4326, EPSG:4490 or a CGCS2000 Gauss-Krüger "
            f"zone such as EPSG:{PANZHIHUA_ZONE} (CM 102°E)"
        ) from error


def _epsg(crs: pyproj.CRS) -> int | None:
    return crs.to_epsg(min_confidence=70)


def _describe(crs: pyproj.CRS) -> str:
    code = _epsg(crs)
    return f"EPSG:{code} {crs.name}" if code else crs.name


def _pyproj_converter(transformer: pyproj.Transformer) -> Callable[[np.ndarray], np.ndarray]:
    def convert(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return convert


def _gcj02_converter(coords: np.ndarray) -> np.ndarray:
    out = np.empty_like(coords)
    for i, (lon, lat) in enumerate(coords):
        out[i] = gcj02_to_wgs84(float(lon), float(lat))
    return out


def resolve(*, file_crs: str | None, override: str | None) -> SourceCRS:
    """The CRS to read a file in: the caller's `--crs` when given, else the file's own, else WGS84 (assumed)."""
    if override:
        chosen = parse(override)
    elif file_crs:
        code = file_crs.strip().upper().removeprefix("EPSG:")
        if code.isdigit() and int(code) in GEOGRAPHIC_NAMES:
            return SourceCRS(f"EPSG:{int(code)} {GEOGRAPHIC_NAMES[int(code)]}", None)
        chosen = parse(file_crs)
    else:
        return SourceCRS("EPSG:4326 WGS 84 (assumed: the file names no CRS; pass --crs otherwise)", None, True)
    if isinstance(chosen, str):  # GCJ02 (not `chosen == GCJ02`: pyproj would look "gcj02" up as a CRS, ~0.4 s)
        return SourceCRS("GCJ-02 (converted to WGS84)", _gcj02_converter)
    code = _epsg(chosen)
    if code in GEOGRAPHIC_EQUAL:
        return SourceCRS(_describe(chosen), None)
    import pyproj

    geodetic = chosen.geodetic_crs
    target = _epsg(geodetic) if geodetic is not None else None
    if chosen.is_projected and target in GEOGRAPHIC_EQUAL:
        # Undo the projection only: CGCS2000 and WGS84 coordinates are stored as equal.
        transformer = pyproj.Transformer.from_crs(chosen, pyproj.CRS.from_epsg(target), always_xy=True)
    else:
        transformer = pyproj.Transformer.from_crs(chosen, pyproj.CRS.from_epsg(WGS84), always_xy=True)
    return SourceCRS(f"{_describe(chosen)} (converted to WGS84)", _pyproj_converter(transformer))
