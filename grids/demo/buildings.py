"""Blocks of buildings: the kinds of block a community is made of and the buildings in each.

A block is one cell of the district's street lattice (roads between cells). Buildings are axis-aligned
rectangles in block-local metres (x east, y north; residential slabs run east-west and face south),
never overlapping and at least a few metres apart, so straight cuts can always pass between them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

PITCH_X, PITCH_Y, ROAD = 140.0, 110.0, 14.0
BLOCK_W, BLOCK_H = PITCH_X - ROAD, PITCH_Y - ROAD  # 126 x 96 m inside the roads


@dataclass(slots=True)
class Footprint:
    """A building in block-local metres and what it holds."""

    x0: float
    y0: float
    x1: float
    y1: float
    style: str  # slab, tower, low, bungalow, house, mixed, commercial, public, industrial, other
    floors: int
    units: int = 1  # stairwells (单元) of an apartment building
    per_floor: int = 0  # dwellings per landing/floor; for houses the number of households
    label: str = ""  # what a non-residential building is

    @property
    def households(self) -> int:
        if self.style in ("slab", "tower"):
            return self.units * self.floors * self.per_floor
        if self.style == "low":
            return self.floors * self.per_floor
        if self.style == "mixed":
            return (self.floors - 1) * self.per_floor
        if self.style in ("bungalow", "house"):
            return self.per_floor
        return 0


def _floors(rng: random.Random, low: int, high: int, weights: list[float] | None = None) -> int:
    return rng.choices(range(low, high + 1), weights=weights)[0]


def estate(rng: random.Random) -> list[Footprint]:
    """A works estate (工矿/钢厂生活区): rows of five-to-seven-storey slabs, 2 flats per landing."""
    out: list[Footprint] = []
    for row, y0 in enumerate((6.0, 40.0, 74.0)):
        if rng.random() < 0.5:
            spans = [(6.0, 51.0, 3), (64.0, 109.0, 3)]
        else:
            spans = [(6.0, 36.0, 2), (46.0, 76.0, 2), (86.0, 116.0, 2)]
        for x0, x1, units in spans:
            if row == 0 and rng.random() < 0.15:
                out.append(Footprint(x0, y0, x1, y0 + 12, "mixed", _floors(rng, 3, 5), 1, 4))
            else:
                floors = _floors(rng, 5, 7, [3, 5, 2])
                out.append(Footprint(x0, y0, x1, y0 + 12, "slab", floors, units, 2))
        if len(spans) == 2 and rng.random() < 0.4:
            out.append(Footprint(114.0, y0 + 3, 122.0, y0 + 9, "other", 1, label=rng.choice(("车棚", "配电房"))))
    return out


def towers(rng: random.Random) -> list[Footprint]:
    """Newer housing: two 11-18-storey towers over a row of shops, sometimes a slab behind."""
    out = [Footprint(13.0, 6.0, 113.0, 20.0, "commercial", _floors(rng, 2, 3), label="商业楼")]
    for x0 in (10.0, 70.0):
        out.append(Footprint(x0, 46.0, x0 + 30, 62.0, "tower", _floors(rng, 11, 18), 2, 2))
    if rng.random() < 0.5:
        out.append(Footprint(48.0, 76.0, 78.0, 88.0, "slab", _floors(rng, 5, 7), 2, 2))
    return out


def old_town(rng: random.Random) -> list[Footprint]:
    """Old town blocks: low two-to-four-storey buildings, bungalows, shops on the street front."""
    out: list[Footprint] = []
    for row, y0 in enumerate((6.0, 36.0, 66.0)):
        for col in range(5):
            x0 = 4.0 + col * 24.5
            r = rng.random()
            if r < 0.06:
                continue
            if row == 0 and r < 0.30:
                out.append(Footprint(x0, y0, x0 + 20, y0 + 10, "commercial", _floors(rng, 1, 3), label="商铺"))
            elif row == 0 and r < 0.45:
                out.append(Footprint(x0, y0, x0 + 20, y0 + 10, "mixed", _floors(rng, 3, 4), 1, 2))
            elif r < 0.62:
                out.append(
                    Footprint(x0, y0, x0 + 20, y0 + 10, "low", _floors(rng, 2, 4, [3, 4, 2]), 1, rng.choice((2, 3)))
                )
            elif r < 0.95:
                out.append(Footprint(x0 + 1, y0 + 1, x0 + 17, y0 + 9, "bungalow", 1, 1, rng.choice((1, 2, 2, 3))))
            else:
                label = rng.choice(("老年活动室", "社区卫生服务站", "仓库"))
                out.append(
                    Footprint(x0, y0, x0 + 20, y0 + 10, "public" if label != "仓库" else "other", 1, label=label)
                )
    return out


def self_built(rng: random.Random) -> list[Footprint]:
    """Self-built houses (自建房) on a hillside or in an urban village, often let to tenants."""
    out: list[Footprint] = []
    cell_w, cell_h = BLOCK_W / 5, BLOCK_H / 4
    for row in range(4):
        for col in range(5):
            r = rng.random()
            if r < 0.12:
                continue
            w, d = rng.uniform(9, 15), rng.uniform(8, 12)
            x0 = col * cell_w + rng.uniform(2, cell_w - w - 2)
            y0 = row * cell_h + rng.uniform(2, cell_h - d - 2)
            if r < 0.16:
                out.append(Footprint(x0, y0, x0 + min(w, 8), y0 + min(d, 6), "other", 1, label="杂物房"))
                continue
            floors = _floors(rng, 2, 4, [3, 4, 2])
            households = min(floors, rng.choices((1, 2, 3), weights=(3, 4, 3))[0])
            out.append(Footprint(x0, y0, x0 + w, y0 + d, "house", floors, 1, households))
    return out


def village(rng: random.Random) -> list[Footprint]:
    """A hamlet (村民小组): scattered village houses with outbuildings."""
    out: list[Footprint] = []
    cell_w, cell_h = BLOCK_W / 4, BLOCK_H / 3
    for row in range(3):
        for col in range(4):
            if rng.random() < 0.33:
                continue
            w, d = rng.uniform(10, 14), rng.uniform(8, 11)
            x0 = col * cell_w + rng.uniform(2, cell_w - w - 10)
            y0 = row * cell_h + rng.uniform(2, cell_h - d - 2)
            floors = _floors(rng, 1, 3, [3, 5, 2])
            out.append(Footprint(x0, y0, x0 + w, y0 + d, "house", floors, 1, 1 if rng.random() < 0.6 else 2))
            if rng.random() < 0.25:
                out.append(Footprint(x0 + w + 2, y0, x0 + w + 7, y0 + 5, "other", 1, label="杂物房"))
    return out


def public(rng: random.Random) -> list[Footprint]:
    """A school, a market or a community centre: no households."""
    kind = rng.choice(("school", "market", "centre"))
    if kind == "school":
        return [
            Footprint(20.0, 60.0, 86.0, 78.0, "public", 4, label=rng.choice(("小学", "中学"))),
            Footprint(20.0, 10.0, 50.0, 24.0, "public", 3, label="幼儿园"),
        ]
    if kind == "market":
        return [
            Footprint(10.0, 10.0, 70.0, 45.0, "commercial", 1, label="农贸市场"),
            Footprint(80.0, 10.0, 110.0, 24.0, "commercial", 2, label="超市"),
        ]
    return [
        Footprint(10.0, 10.0, 50.0, 30.0, "public", 3, label="社区党群服务中心"),
        Footprint(60.0, 10.0, 90.0, 25.0, "public", 2, label="养老服务中心"),
        Footprint(60.0, 50.0, 90.0, 66.0, "public", 2, label="社区卫生服务站"),
    ]


def industrial(rng: random.Random) -> list[Footprint]:
    """Workshops of the mines and steel works: no households."""
    labels = ("机修车间", "选煤厂厂房", "仓库", "轧钢车间", "材料库", "运输队车库")
    out = [
        Footprint(6.0, 10.0, 56.0, 42.0, "industrial", _floors(rng, 1, 2), label=rng.choice(labels)),
        Footprint(66.0, 10.0, 116.0, 42.0, "industrial", _floors(rng, 1, 2), label=rng.choice(labels)),
    ]
    if rng.random() < 0.6:
        out.append(Footprint(20.0, 60.0, 40.0, 72.0, "other", 1, label=rng.choice(("配电房", "水泵房"))))
    return out


BLOCKS = {
    "estate": estate,
    "towers": towers,
    "old_town": old_town,
    "self_built": self_built,
    "village": village,
    "public": public,
    "industrial": industrial,
}

# Share of blocks of each kind, per community profile.
PROFILES: dict[str, dict[str, float]] = {
    "urban": {"estate": 30, "towers": 12, "old_town": 24, "self_built": 24, "public": 8, "village": 3},
    "estate": {"estate": 38, "towers": 2, "old_town": 22, "self_built": 25, "public": 6, "industrial": 8, "village": 2},
    "oldtown": {
        "estate": 14,
        "towers": 3,
        "old_town": 44,
        "self_built": 30,
        "public": 8,
        "industrial": 2,
        "village": 2,
    },
    "town": {"estate": 5, "old_town": 30, "self_built": 35, "public": 8, "industrial": 4, "village": 18},
    "village": {"village": 88, "self_built": 5, "public": 3, "industrial": 4},
}


def pick_block(rng: random.Random, profile: str) -> str:
    weights = PROFILES[profile]
    kinds = list(weights)
    return rng.choices(kinds, weights=[weights[k] for k in kinds])[0]
