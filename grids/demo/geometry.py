"""Geometry helpers for the demo: exact partitions, a local metric frame, cuts in gaps between buildings.

Everything is stored in EPSG:4326. The district outline is snapped to PRECISION (1e-7 degrees, about a
centimetre); partitions below it are cut from one noded linework (see split_by_lines), so pieces share
their edges vertex for vertex and PostGIS sees no gaps or overlaps (independent overlays with snap rounding
would kink long shared edges by millimetres, which adds up to square metres along a street boundary).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon, box
from shapely.geometry.base import BaseGeometry

PRECISION = 1e-7
M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON_EQUATOR = 111_320.0


@dataclass(frozen=True)
class Frame:
    """Equirectangular metres around an origin: x east, y north. Good to a few parts in a thousand over a county."""

    lon0: float
    lat0: float

    @property
    def m_per_deg_lon(self) -> float:
        return M_PER_DEG_LON_EQUATOR * math.cos(math.radians(self.lat0))

    def to_m(self, lon, lat):
        return (np.asarray(lon) - self.lon0) * self.m_per_deg_lon, (np.asarray(lat) - self.lat0) * M_PER_DEG_LAT

    def to_deg(self, x, y):
        return self.lon0 + np.asarray(x) / self.m_per_deg_lon, self.lat0 + np.asarray(y) / M_PER_DEG_LAT

    def geom_to_m(self, geom: BaseGeometry) -> BaseGeometry:
        return shapely.transform(geom, lambda c: np.column_stack(self.to_m(c[:, 0], c[:, 1])))

    def geom_to_deg(self, geom: BaseGeometry) -> BaseGeometry:
        return shapely.transform(geom, lambda c: np.column_stack(self.to_deg(c[:, 0], c[:, 1])))

    def metres_to_deg_lon(self, metres: float) -> float:
        return metres / self.m_per_deg_lon

    def metres_to_deg_lat(self, metres: float) -> float:
        return metres / M_PER_DEG_LAT


def polygonal(geom: BaseGeometry) -> MultiPolygon:
    """The polygons of an overlay result as one MultiPolygon (lines and points of degenerate pieces dropped)."""
    parts: list[Polygon] = []
    for part in shapely.get_parts(geom):
        if isinstance(part, Polygon):
            if not part.is_empty and part.area > 0:
                parts.append(part)
        elif isinstance(part, MultiPolygon):
            parts.extend(p for p in part.geoms if p.area > 0)
        elif part.geom_type == "GeometryCollection":
            parts.extend(polygonal(part).geoms)
    return MultiPolygon(parts)


def snap(geom: BaseGeometry) -> MultiPolygon:
    return polygonal(shapely.set_precision(geom, PRECISION))


def split_by_lines(parent: BaseGeometry, lines: BaseGeometry, label_of: Callable[[np.ndarray], np.ndarray], n: int):
    """Cut `parent` along `lines` into faces and merge the faces by label: an exact partition into n pieces.

    The faces come from one noded linework (`polygonize`), so neighbouring pieces share their edges vertex
    for vertex and their union is the parent: no overlay rounding, hence no slivers along long edges.
    `label_of` maps the faces' interior points (an (m, 2) array of lon/lat) to labels 0..n-1.
    """
    parent = polygonal(parent)
    linework = shapely.union_all([parent.boundary, lines])
    faces = np.array(list(shapely.get_parts(shapely.polygonize(shapely.get_parts(linework)))), dtype=object)
    points = shapely.point_on_surface(faces)
    shapely.prepare(parent)
    inside = shapely.contains(parent, points)
    faces, points = faces[inside], points[inside]
    labels = label_of(shapely.get_coordinates(points)) if len(points) else np.array([], dtype=int)
    return [polygonal(shapely.union_all(faces[labels == k])) for k in range(n)]


def voronoi_partition(
    parent: MultiPolygon, seeds_deg: Sequence[tuple[float, float]], labels: Sequence[int], frame: Frame
) -> list[MultiPolygon]:
    """Partition `parent` by the Voronoi cells (in metres) of the seeds; cells with the same label are merged.

    Returns one MultiPolygon per distinct label, in label order 0..n-1. The pieces cover `parent` exactly.
    """
    xs, ys = frame.to_m([s[0] for s in seeds_deg], [s[1] for s in seeds_deg])
    seeds_m = np.column_stack([xs, ys])
    parent_m = frame.geom_to_m(parent)
    minx, miny, maxx, maxy = parent_m.bounds
    pad = max(maxx - minx, maxy - miny)
    envelope = box(minx - pad, miny - pad, maxx + pad, maxy + pad)
    edges = shapely.voronoi_polygons(shapely.multipoints(seeds_m), extend_to=envelope, only_edges=True)
    label_array = np.asarray(labels)

    def label_of(points_deg: np.ndarray) -> np.ndarray:
        px, py = frame.to_m(points_deg[:, 0], points_deg[:, 1])
        d2 = (px[:, None] - seeds_m[None, :, 0]) ** 2 + (py[:, None] - seeds_m[None, :, 1]) ** 2
        return label_array[np.argmin(d2, axis=1)]

    return split_by_lines(parent, frame.geom_to_deg(edges), label_of, int(label_array.max()) + 1)


def cut_in_two(region: BaseGeometry, axis: int, at: float) -> tuple[MultiPolygon, MultiPolygon]:
    """The parts of `region` below/left of and above/right of the straight line `axis` = `at`."""
    minx, miny, maxx, maxy = region.bounds
    if axis == 0:
        line = LineString([(at, miny - 1), (at, maxy + 1)])
    else:
        line = LineString([(minx - 1, at), (maxx + 1, at)])
    left, right = split_by_lines(region, line, lambda p: (p[:, axis] > at).astype(int), 2)
    return left, right


def lloyd(points: np.ndarray, k: int, rng: np.random.Generator, weights: np.ndarray | None = None, rounds: int = 25):
    """k-means on sample points (metres); returns k centres, each moved onto its nearest sample point."""
    if len(points) <= k:
        return points.copy()
    w = np.ones(len(points)) if weights is None else weights
    # k-means++ seeding, deterministic for a given generator.
    centres = [points[rng.choice(len(points), p=w / w.sum())]]
    for _ in range(1, k):
        d2 = np.min(((points[:, None, :] - np.array(centres)[None, :, :]) ** 2).sum(-1), axis=1) * w
        centres.append(points[rng.choice(len(points), p=d2 / d2.sum())])
    centres = np.array(centres, dtype=float)
    for _ in range(rounds):
        nearest = np.argmin(((points[:, None, :] - centres[None, :, :]) ** 2).sum(-1), axis=1)
        for j in range(k):
            member = nearest == j
            if member.any():
                centres[j] = np.average(points[member], axis=0, weights=w[member])
    # Snap onto sample points so every centre lies where people can live.
    snapped = []
    taken: set[int] = set()
    for centre in centres:
        order = np.argsort(((points - centre) ** 2).sum(-1))
        index = next(int(i) for i in order if int(i) not in taken)
        taken.add(index)
        snapped.append(points[index])
    return np.array(snapped)


def sample_points(area_m: BaseGeometry, spacing: float) -> np.ndarray:
    """Lattice points (metres) inside an area."""
    minx, miny, maxx, maxy = area_m.bounds
    xs = np.arange(math.floor(minx / spacing) * spacing, maxx + spacing, spacing)
    ys = np.arange(math.floor(miny / spacing) * spacing, maxy + spacing, spacing)
    gx, gy = np.meshgrid(xs, ys)
    gx, gy = gx.ravel(), gy.ravel()
    shapely.prepare(area_m)
    inside = shapely.contains_xy(area_m, gx, gy)
    return np.column_stack([gx[inside], gy[inside]])


@dataclass
class Cut:
    axis: int  # 0 = x (lon), 1 = y (lat)
    at: float
    left_weight: float


def gap_cuts(lo: np.ndarray, hi: np.ndarray, weights: np.ndarray, margin: float) -> list[tuple[float, float]]:
    """Positions in the gaps between intervals [lo, hi] (at least 2*margin wide) and the weight left of each."""
    order = np.argsort(lo, kind="stable")
    lo, hi, w = lo[order], hi[order], weights[order]
    reach = np.maximum.accumulate(hi)
    cuts = []
    left = np.cumsum(w)
    for i in range(len(lo) - 1):
        gap_start, gap_end = reach[i], lo[i + 1]
        if gap_end - gap_start >= 2 * margin:
            cuts.append(((gap_start + gap_end) / 2, float(left[i])))
    return cuts


def best_cut(
    boxes: np.ndarray, weights: np.ndarray, fraction: float, margin_deg: tuple[float, float], aspect: float
) -> Cut | None:
    """The straight cut through a gap between boxes (minx, miny, maxx, maxy) that best splits the weight.

    `fraction` is the share wanted left of (or below) the cut; the longer side of the buildings' extent is
    preferred (`aspect` = metres per degree of lon / metres per degree of lat, to compare sides).
    """
    total = float(weights.sum())
    extent_x = (boxes[:, 2].max() - boxes[:, 0].min()) * aspect
    extent_y = boxes[:, 3].max() - boxes[:, 1].min()
    best: Cut | None = None
    best_score = math.inf
    for axis in (0, 1):
        longer = (extent_x >= extent_y) if axis == 0 else (extent_y > extent_x)
        for at, left in gap_cuts(boxes[:, axis], boxes[:, axis + 2], weights, margin_deg[axis]):
            if total > 0 and (left <= 0 or left >= total):
                continue
            score = abs(left / total - fraction) if total > 0 else 0.0
            score += 0.0 if longer else 0.04
            if score < best_score:
                best, best_score = Cut(axis, at, left), score
    return best
