"""What the demo builds: the scales, 西区 as designed by hand, and the other districts of 攀枝花 for city scale.

西区 (510403) is a narrow valley town on the north bank of the 金沙江: the river follows the southern
edge of the outline, the town lies along it (清香坪, 玉泉, 陶家渡 and 河门口 from west to east), a road
climbs north to the 大宝鼎 coal mines and another runs west to 格里坪 and its villages. Street and police
seeds below are picked on the real outline; communities are placed by k-means on the settled valley floor.
The names are plausible demo data, not an official list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from django.conf import settings

FIXTURE = Path(settings.BASE_DIR) / "fixtures" / "panzhihua_districts.geojson"


@dataclass(frozen=True)
class Scale:
    """What one --scale loads (described for users in the seed_demo command's help)."""

    name: str
    districts: tuple[str, ...]  # district codes, 西区 first
    communities_per_street: int | None  # None = all the plan's communities
    households_per_community: int | None  # None = the plan's own figures
    households_per_grid: int


SCALES = {
    "small": Scale(
        "small",
        ("510403",),
        2,
        500,
        250,
    ),
    "district": Scale(
        "district",
        ("510403",),
        None,
        None,
        340,
    ),
    "city": Scale(
        "city",
        ("510403", "510402", "510411", "510421", "510422"),
        None,
        None,
        340,
    ),
}


@dataclass(frozen=True)
class CommunityPlan:
    name: str
    profile: str  # key of geography.PROFILES
    households: int


@dataclass(frozen=True)
class StreetPlan:
    name: str
    seeds: tuple[tuple[float, float], ...]  # lon, lat; the street is the union of their Voronoi cells
    communities: tuple[CommunityPlan, ...]  # west to east


@dataclass(frozen=True)
class DistrictPlan:
    code: str
    name: str
    streets: tuple[StreetPlan, ...]
    # Where people live: polylines (lon, lat) along valley floors and roads, and the half-width in metres.
    settled: tuple[tuple[tuple[tuple[float, float], ...], float], ...]
    police: tuple[tuple[str, tuple[float, float]], ...]
    departments: tuple[tuple[str, str], ...] = field(default=())


def _c(name: str, profile: str, households: int) -> CommunityPlan:
    return CommunityPlan(name, profile, households)


DEPARTMENTS = (
    ("CGJ", "区综合行政执法局（城管）"),
    ("ZJJ", "区住房和城乡建设局"),
    ("YJJ", "区应急管理局"),
    ("SJJ", "区市场监督管理局"),
    ("HBJ", "区生态环境局"),
    ("JTJ", "区交通运输局"),
    ("MZJ", "区民政局"),
    ("SWJ", "区水务局"),
    ("WJJ", "区卫生健康局"),
    ("GAJ", "公安分局"),
)
POLICE_DEPARTMENT = "GAJ"

XIQU = DistrictPlan(
    code="510403",
    name="西区",
    streets=(
        StreetPlan(
            "清香坪街道",
            ((101.574, 26.607), (101.578, 26.626)),
            (
                _c("清香坪西区社区", "urban", 1900),
                _c("龙洞社区", "oldtown", 1700),
                _c("苏铁社区", "estate", 1900),
                _c("清香坪中区社区", "urban", 2100),
                _c("民建社区", "oldtown", 1800),
                _c("新街社区", "urban", 2000),
                _c("清香坪东区社区", "urban", 2000),
                _c("巴关河社区", "estate", 1800),
            ),
        ),
        StreetPlan(
            "河门口街道",
            ((101.648, 26.600), (101.645, 26.580), (101.648, 26.620)),
            (
                _c("河门口社区", "oldtown", 1800),
                _c("蓝家坡社区", "estate", 1700),
                _c("电厂社区", "estate", 1700),
                _c("五十一社区", "estate", 1600),
                _c("新桥社区", "oldtown", 1700),
            ),
        ),
        StreetPlan(
            "玉泉街道",
            ((101.600, 26.602), (101.600, 26.622)),
            (
                _c("玉泉社区", "urban", 1700),
                _c("十九冶社区", "estate", 1700),
                _c("杨家坪社区", "oldtown", 1500),
                _c("硫磺沟社区", "estate", 1500),
                _c("金沙江社区", "urban", 1700),
                _c("清河社区", "oldtown", 1500),
            ),
        ),
        StreetPlan(
            "陶家渡街道",
            ((101.622, 26.597), (101.622, 26.620)),
            (
                _c("陶家渡社区", "oldtown", 1600),
                _c("矿山社区", "estate", 1600),
                _c("民主社区", "oldtown", 1500),
                _c("渡口社区", "urban", 1700),
                _c("团结社区", "estate", 1600),
                _c("太阳湾社区", "urban", 1600),
            ),
        ),
        StreetPlan(
            "大宝鼎街道",
            ((101.545, 26.612), (101.530, 26.630), (101.555, 26.632)),
            (
                _c("新庄社区", "town", 1300),
                _c("煤矿社区", "estate", 1600),
                _c("大宝鼎社区", "estate", 1600),
                _c("摩梭河社区", "oldtown", 1400),
                _c("小宝鼎社区", "estate", 1500),
            ),
        ),
        StreetPlan(
            "格里坪镇",
            ((101.500, 26.610), (101.475, 26.570), (101.480, 26.650), (101.510, 26.650)),
            (
                _c("金沙村", "village", 550),
                _c("大箐沟村", "village", 550),
                _c("干巴塘村", "village", 600),
                _c("庄上村", "village", 600),
                _c("格里坪社区", "town", 1500),
                _c("大水井村", "village", 600),
            ),
        ),
    ),
    settled=(
        # The valley floor along the 金沙江, west to east.
        (
            (
                (101.463, 26.552),
                (101.468, 26.570),
                (101.478, 26.586),
                (101.488, 26.600),
                (101.500, 26.604),
                (101.515, 26.606),
                (101.530, 26.599),
                (101.550, 26.601),
                (101.570, 26.603),
                (101.585, 26.603),
                (101.597, 26.598),
                (101.612, 26.599),
                (101.624, 26.594),
                (101.632, 26.581),
                (101.643, 26.578),
                (101.655, 26.593),
            ),
            1100.0,
        ),
        # The road north to the 大宝鼎 coal mines.
        (((101.550, 26.601), (101.548, 26.615), (101.540, 26.628), (101.528, 26.636)), 700.0),
        # The village road from 格里坪 into the hills.
        (((101.488, 26.600), (101.482, 26.625), (101.476, 26.650)), 600.0),
        # Side valleys above 清香坪 and 陶家渡.
        (((101.585, 26.603), (101.590, 26.622)), 600.0),
        (((101.624, 26.596), (101.628, 26.618)), 500.0),
    ),
    police=(
        ("格里坪派出所", (101.490, 26.600)),
        ("大宝鼎派出所", (101.538, 26.628)),
        ("清香坪派出所", (101.566, 26.613)),
        ("玉泉派出所", (101.591, 26.606)),
        ("陶家渡派出所", (101.614, 26.602)),
        ("河门口派出所", (101.640, 26.590)),
    ),
    departments=DEPARTMENTS,
)

# City scale: the other four districts, generated on their real outlines (see geography.generated_plan).
# Names of streets/towns are plausible demo data; (name, households, streets). The household totals are set so
# that the city (with 西区) holds a little over 1.5M people.
OTHER_DISTRICTS = {
    "510402": (
        "东区",
        196_000,
        ("炳草岗街道", "大渡口街道", "东华街道", "弄弄坪街道", "瓜子坪街道", "向阳村街道", "南山街道", "银江镇"),
    ),
    "510411": (
        "仁和区",
        124_000,
        ("仁和镇", "金江镇", "前进镇", "同德镇", "大田镇", "平地镇", "布德镇", "总发镇", "太平镇", "大龙潭彝族乡"),
    ),
    "510421": (
        "米易县",
        98_000,
        ("攀莲镇", "丙谷镇", "撒莲镇", "白马镇", "普威镇", "得石镇", "草场镇", "垭口镇", "新山傈僳族乡", "麻陇彝族乡"),
    ),
    "510422": (
        "盐边县",
        93_000,
        ("桐子林镇", "红格镇", "渔门镇", "永兴镇", "新九镇", "惠民镇", "共和乡", "国胜乡", "红果彝族乡", "温泉彝族乡"),
    ),
}

COMMUNITY_MORPHEMES = (
    "新桥", "沙坝", "大坪", "田坝", "河口", "龙潭", "松林", "青杠", "石门", "马店", "黄草", "岔河", "安宁",
    "大湾", "小河", "中坝", "花山", "新民", "团山", "营盘", "湾子", "凉风", "白坡", "回龙", "金竹", "响水",
    "水塘", "桥头", "红星", "平安", "向荣", "联合", "永胜", "和平", "中心", "新华", "太阳", "光明", "共和",
    "柳树", "竹林", "核桃", "芒果", "枇杷", "攀莲", "长坡", "丰收", "新村", "鱼塘", "双龙", "三堆", "五一",
    "胜利", "建新", "兴隆", "木棉", "红岩", "黑泥", "干沟", "石灰", "板桥", "高峰", "坪地", "阳雀",
)  # fmt: skip


@lru_cache(maxsize=1)
def outlines() -> dict[str, tuple[str, dict]]:
    """District code → (name, GeoJSON geometry) from the fixture."""
    names = {"东区": "510402", "西区": "510403", "仁和区": "510411", "米易县": "510421", "盐边县": "510422"}
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return {
        names[feature["properties"]["district"]]: (feature["properties"]["district"], feature["geometry"])
        for feature in data["features"]
    }
