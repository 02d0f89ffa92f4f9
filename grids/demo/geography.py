"""The demo's map: streets, communities, grids and buildings derived from a real district outline.

Streets and communities are Voronoi partitions of their parent (exact: see geometry.split_by_lines). Buildings
come in blocks of the district's street lattice, clustered around each community's centre on the settled
valley floor. Grids are cut from the community by recursive bisection at the household-weighted median,
each cut a straight line through a gap between buildings, so no building straddles two grids.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString, MultiPolygon, shape

from grids.demo import buildings as blocks
from grids.demo import names
from grids.demo.geometry import (
    M_PER_DEG_LAT,
    Frame,
    best_cut,
    cut_in_two,
    lloyd,
    polygonal,
    sample_points,
    snap,
    voronoi_partition,
)
from grids.demo.plans import (
    COMMUNITY_MORPHEMES,
    DEPARTMENTS,
    OTHER_DISTRICTS,
    XIQU,
    CommunityPlan,
    DistrictPlan,
    Scale,
    StreetPlan,
    outlines,
)

BUILDING_MARGIN_M = 8.0  # buildings keep this far inside their community
CUT_MARGIN_M = 1.5  # a grid boundary passes at least this far from any building


@dataclass
class Region:
    code: str
    name: str
    boundary: MultiPolygon
    parent_code: str = ""


@dataclass
class CommunityArea(Region):
    profile: str = "urban"
    households: int = 0
    centre_m: tuple[float, float] = (0.0, 0.0)


@dataclass(slots=True)
class BuildingSpec:
    code: str
    name: str
    address: str
    use: str
    style: str
    floors: int
    units: int
    per_floor: int
    households: int
    bounds: tuple[float, float, float, float]  # lon/lat, rounded to 1e-7

    def ewkt(self) -> str:
        x0, y0, x1, y1 = self.bounds
        return f"SRID=4326;POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))"


@dataclass
class CommunityLayout:
    community: CommunityArea
    grids: list[Region]
    buildings: list[BuildingSpec]


@dataclass
class DistrictMap:
    plan: DistrictPlan
    frame: Frame
    district: Region
    streets: list[Region]
    communities: list[CommunityArea]
    precincts: list[Region]  # police station precincts, name = station name
    settled_m: MultiLineString


def district_plan(code: str, rng: np.random.Generator) -> DistrictPlan:
    if code == XIQU.code:
        return XIQU
    return generated_plan(code, rng)


def generated_plan(code: str, rng: np.random.Generator) -> DistrictPlan:
    """A plan for one of the other districts (city scale): towns spread over the outline, joined by roads."""
    name, households, street_names = OTHER_DISTRICTS[code]
    outline = snap(shape(outlines()[code][1]))
    frame = Frame(*outline.centroid.coords[0])
    outline_m = frame.geom_to_m(outline)
    area_km2 = outline_m.area / 1e6
    points = sample_points(outline_m, math.sqrt(outline_m.area / 4000))
    town_m = lloyd(points, len(street_names), rng)
    # The first towns are the urban centre: more people, in 街道 rather than 镇/乡.
    weights = np.array([3.0 if n.endswith("街道") else 1.0 for n in street_names])
    weights = weights * rng.uniform(0.7, 1.3, len(weights))
    street_households = np.round(households * weights / weights.sum()).astype(int)
    morphemes = list(COMMUNITY_MORPHEMES)
    rng.shuffle(morphemes)
    used: set[str] = set()
    streets = []
    for index, (street_name, (x, y), total) in enumerate(zip(street_names, town_m, street_households, strict=True)):
        urban = street_name.endswith("街道")
        per = 1600 if urban else 900
        count = max(2, round(total / per))
        communities = []
        for k in range(count):
            stem = morphemes[(index * 13 + k) % len(morphemes)]
            if urban:
                profile = ("urban", "estate", "oldtown")[k % 3]
                cname = f"{stem}社区"
            elif k == 0:
                profile = "town"
                cname = f"{street_name[:2]}社区"
            else:
                # Villages along the roads; every other one a bigger roadside settlement of town character.
                profile = "village" if k % 2 else "town"
                cname = f"{stem}村"
            while cname in used:
                cname = cname[:-2] + "新" + cname[-2:]
            used.add(cname)
            communities.append(CommunityPlan(cname, profile, int(total / count * rng.uniform(0.85, 1.15))))
        lon, lat = frame.to_deg(x, y)
        streets.append(StreetPlan(street_name, ((float(lon), float(lat)),), tuple(communities)))
    # Settled land: around each town and along roads joining neighbouring towns.
    order = np.argsort(town_m[:, 0])
    settled = []
    for a, b in itertools.pairwise(order):
        line = [tuple(float(v) for v in frame.to_deg(*town_m[i])) for i in (a, b)]
        settled.append((tuple(line), 700.0))
    radius = min(3000.0, max(1500.0, math.sqrt(area_km2) * 80))
    for x, y in town_m:
        lon, lat = frame.to_deg(x, y)
        settled.append((((float(lon), float(lat)), (float(lon) + 1e-5, float(lat))), radius))
    police_m = lloyd(points, max(5, len(street_names) - 1), rng)
    police = tuple(
        (f"{name}第{i + 1}派出所", tuple(float(v) for v in frame.to_deg(x, y))) for i, (x, y) in enumerate(police_m)
    )
    return DistrictPlan(code, name, tuple(streets), tuple(settled), police, DEPARTMENTS)


def district_map(plan: DistrictPlan, scale: Scale, rng: np.random.Generator) -> DistrictMap:
    """Streets, communities and police precincts of one district."""
    outline = snap(shape(outlines()[plan.code][1]))
    frame = Frame(*(round(v, 2) for v in outline.centroid.coords[0]))
    district = Region(plan.code, plan.name, outline)

    seeds, labels = [], []
    for label, street in enumerate(plan.streets):
        seeds.extend(street.seeds)
        labels.extend([label] * len(street.seeds))
    street_shapes = voronoi_partition(outline, seeds, labels, frame)
    streets = [
        Region(f"{plan.code}{i + 1:03d}", street.name, geom, plan.code)
        for i, (street, geom) in enumerate(zip(plan.streets, street_shapes, strict=True))
    ]

    lines_m = [LineString(np.column_stack(frame.to_m(*zip(*line, strict=True)))) for line, _ in plan.settled]
    settled_m = shapely.union_all(
        [line.buffer(width) for line, (_, width) in zip(lines_m, plan.settled, strict=True)]
    ).intersection(frame.geom_to_m(outline))

    communities: list[CommunityArea] = []
    for street_plan, street in zip(plan.streets, streets, strict=True):
        wanted = list(street_plan.communities)
        if scale.communities_per_street:
            # The first ones listed (the town centres, then villages) make the small demo.
            wanted = wanted[: scale.communities_per_street]
        street_m = frame.geom_to_m(street.boundary)
        living = street_m.intersection(settled_m)
        if living.area < 0.05 * street_m.area:
            living = street_m
        points = sample_points(living, max(40.0, math.sqrt(living.area / 3000)))
        centres = lloyd(points, len(wanted), rng)
        centres = centres[np.lexsort((centres[:, 1], centres[:, 0]))]  # west to east
        lon, lat = frame.to_deg(centres[:, 0], centres[:, 1])
        shapes = voronoi_partition(street.boundary, list(zip(lon, lat, strict=True)), list(range(len(wanted))), frame)
        for k, (cplan, geom, centre) in enumerate(zip(wanted, shapes, centres, strict=True)):
            households = scale.households_per_community or cplan.households
            households = int(households * rng.uniform(0.88, 1.04))
            communities.append(
                CommunityArea(
                    f"{street.code}{k + 1:03d}",
                    cplan.name,
                    geom,
                    street.code,
                    profile=cplan.profile,
                    households=households,
                    centre_m=(float(centre[0]), float(centre[1])),
                )
            )

    precinct_shapes = voronoi_partition(
        outline, [seed for _, seed in plan.police], list(range(len(plan.police))), frame
    )
    precincts = [
        Region(f"{plan.code}-PCS{i + 1:02d}", station, geom, plan.code)
        for i, ((station, _), geom) in enumerate(zip(plan.police, precinct_shapes, strict=True))
    ]
    return DistrictMap(
        plan, frame, district, streets, communities, precincts, MultiLineString([list(c.coords) for c in lines_m])
    )


class Addresses:
    """House numbers along the district's roads, handed out in order."""

    def __init__(self, district_name: str, offset: int):
        self.district_name = district_name
        self.offset = offset
        self.next_number: dict[str, int] = {}

    def road(self, i: int, j: int) -> str:
        return names.ROADS[(j * 7 + i // 9 + self.offset) % len(names.ROADS)]

    def take(self, road: str) -> int:
        number = self.next_number.get(road, 1)
        self.next_number[road] = number + 2
        return number


def layout_community(
    dmap: DistrictMap,
    community: CommunityArea,
    scale: Scale,
    seed: int,
    addresses: Addresses,
    next_building_code,
    *,
    with_grids: bool = True,
) -> CommunityLayout:
    """Blocks of buildings around the community's centre until it houses its households, then its grids."""
    rng = random.Random(seed * 10**13 + int(community.code))
    frame = dmap.frame
    area_m = frame.geom_to_m(community.boundary)
    inner = area_m.buffer(-BUILDING_MARGIN_M)
    minx, miny, maxx, maxy = inner.bounds if not inner.is_empty else area_m.bounds
    cx, cy = community.centre_m
    reach = 6000.0
    i0 = math.floor(max(minx, cx - reach) / blocks.PITCH_X)
    i1 = math.ceil(min(maxx, cx + reach) / blocks.PITCH_X)
    j0 = math.floor(max(miny, cy - reach) / blocks.PITCH_Y)
    j1 = math.ceil(min(maxy, cy + reach) / blocks.PITCH_Y)
    ii, jj = np.meshgrid(np.arange(i0, i1 + 1), np.arange(j0, j1 + 1))
    ii, jj = ii.ravel(), jj.ravel()
    bx0 = ii * blocks.PITCH_X + blocks.ROAD / 2
    by0 = jj * blocks.PITCH_Y + blocks.ROAD / 2
    boxes = shapely.box(bx0, by0, bx0 + blocks.BLOCK_W, by0 + blocks.BLOCK_H)
    shapely.prepare(inner)
    inside = shapely.contains(inner, boxes) if not inner.is_empty else np.zeros(len(boxes), bool)
    ii, jj, bx0, by0 = ii[inside], jj[inside], bx0[inside], by0[inside]
    centres = shapely.points(bx0 + blocks.BLOCK_W / 2, by0 + blocks.BLOCK_H / 2)
    to_centre = np.hypot(bx0 + blocks.BLOCK_W / 2 - cx, by0 + blocks.BLOCK_H / 2 - cy)
    to_valley = shapely.distance(dmap.settled_m, centres)
    scatter = 1.2 if community.profile == "village" else 0.25
    noise = np.array([rng.gauss(0, scatter) for _ in range(len(to_centre))])
    order = np.argsort(to_centre / 450 + to_valley / 350 + noise, kind="stable")

    specs: list[BuildingSpec] = []
    households = 0
    street_name = next(s.name for s in dmap.streets if s.code == community.parent_code)
    hamlet = 0
    for index in order:
        if households >= community.households:
            break
        kind = blocks.pick_block(rng, community.profile)
        footprints = blocks.BLOCKS[kind](rng)
        i, j = int(ii[index]), int(jj[index])
        road = addresses.road(i, j)
        number = addresses.take(road)
        compound = rng.choice(names.COMPOUND_PREFIXES) + rng.choice(names.COMPOUND_SUFFIXES)
        if kind == "village":
            hamlet += 1
        for n, fp in enumerate(footprints, start=1):
            lon0, lat0 = frame.to_deg(bx0[index] + fp.x0, by0[index] + fp.y0)
            lon1, lat1 = frame.to_deg(bx0[index] + fp.x1, by0[index] + fp.y1)
            bounds = (round(float(lon0), 7), round(float(lat0), 7), round(float(lon1), 7), round(float(lat1), 7))
            address = f"攀枝花市{dmap.plan.name}{street_name}{road}{number}号"
            if fp.style in ("slab", "tower", "mixed") or (fp.style == "low" and kind == "estate"):
                name = f"{compound}{n}栋"
                address += f"{n}栋"
            elif fp.style == "house" and kind == "village":
                name = f"{community.name}{hamlet}组{n}号"
            elif fp.style in ("house", "bungalow", "low"):
                name = f"{road}{number}号附{n}号" if n > 1 else f"{road}{number}号"
            else:
                name = f"{community.name}{fp.label}" if fp.style == "public" else f"{compound}{fp.label}"
            use = {
                "slab": "residential",
                "tower": "residential",
                "low": "residential",
                "bungalow": "residential",
                "house": "residential",
                "mixed": "mixed",
                "commercial": "commercial",
                "public": "public",
                "industrial": "industrial",
            }.get(fp.style, "other")
            specs.append(
                BuildingSpec(
                    next_building_code(),
                    name,
                    address,
                    use,
                    fp.style,
                    fp.floors,
                    fp.units,
                    fp.per_floor,
                    fp.households,
                    bounds,
                )
            )
            households += fp.households

    grids = cut_grids(community, specs, scale.households_per_grid, frame) if with_grids else []
    return CommunityLayout(community, grids, specs)


def cut_grids(community: CommunityArea, specs: list[BuildingSpec], per_grid: int, frame: Frame) -> list[Region]:
    """Recursive bisection of the community at the household-weighted median, cutting only through gaps."""
    total = sum(s.households for s in specs)
    wanted = max(1, round(total / per_grid))
    boxes = np.array([s.bounds for s in specs], dtype=float).reshape(-1, 4)
    weights = np.array([s.households for s in specs], dtype=float)
    margins = (frame.metres_to_deg_lon(CUT_MARGIN_M), frame.metres_to_deg_lat(CUT_MARGIN_M))
    aspect = frame.m_per_deg_lon / M_PER_DEG_LAT

    pieces: list[MultiPolygon] = []

    def split(region: MultiPolygon, index: np.ndarray, n: int) -> None:
        if n <= 1 or len(index) < 2:
            pieces.append(region)
            return
        n_left = n // 2
        cut = best_cut(boxes[index], weights[index], n_left / n, margins, aspect)
        if cut is None:
            pieces.append(region)
            return
        left, right = cut_in_two(region, cut.axis, cut.at)
        on_left = boxes[index, cut.axis + 2] < cut.at
        split(left, index[on_left], n_left)
        split(right, index[~on_left], n - n_left)

    split(community.boundary, np.arange(len(specs)), wanted)
    pieces = [polygonal(p) for p in pieces if not p.is_empty]
    return [
        Region(f"{community.code}{k + 1:02d}", f"{community.name}第{k + 1}网格", piece, community.code)
        for k, piece in enumerate(pieces)
    ]
