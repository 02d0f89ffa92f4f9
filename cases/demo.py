"""Demo cases for `seed_demo` (a settings.DEMO_SEED_STEPS step): a year of cases that went through the cycle.

What it writes, in the seed's transaction:

- routing rules naming the right district department for department-type categories (城管, 住建, 应急, 市场监管,
  生态环境, 交通, 水务 …) and a few named co-handling bureaus (民政, 卫健), so that cases do not all reach the
  first bureau of the type;
- about `CASES[scale]` cases received over the past 365 days: points near buildings, weighted by households, with
  hot spots (markets and shops, school gates, old low-rise blocks, the main road along the valley floor) whose
  categories differ (占道摆卖 and 店外经营 at markets, 机动车乱停放 at school gates, 私搭乱建 and 电动车违规充电 in
  old blocks, 井盖 and 路灯 along the road …); sources and reporters from the demo workers' grids (handheld),
  the 12345 hotline and the desks;
- each routed like a live report (the resolver's own rule query, run for all points in one statement, and its
  own choice in `cases.routing.route_from_rows`), numbered XQ-YYYYMMDD-NNNNN by day in receipt order after the
  day's counter (which is then advanced), and moved through the cycle by a simulator that mirrors
  `cases.services.apply_transition` (states, steps, thresholds, deadlines, suspensions, extensions, versions and
  each event's data, including the `step_started`/`step_ended` records the statistics read) on the working
  calendar; cases whose next step would lie after now stop there, so recent cases are open with their lights;
- a pool of 54 cases anchored at now, so that every open state appears with green, yellow and red lights, twice
  (half of them in 清香坪街道, the demo dispatcher's street).

Everything is written with COPY; deterministic for a seed (given the same now and the same registry).
Events of units without a demo account have no actor (the unit is recorded). Demo events carry no photos.
"""

from __future__ import annotations

import gc
import io
import itertools
import json
import math
import random
import time
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from django.conf import settings
from django.db import connection
from django.utils import timezone

from audit import services as audit
from cases import calendar, routing
from cases.models import STEPS, Case, CaseEvent, Category, RoutingRule, RuleRole
from cases.services import YELLOW_AT
from cases.workflow import RESTARTS_STEP, STEP_OF_STATE, TERMINAL, TRANSITIONS
from gridmgmt import times
from grids.demo.accounts import HOME_STREET
from grids.models import Community, District, Role, Staff, Street, Unit, UnitType

CASES = {"small": 500, "district": 50_000, "city": 500_000}
DAYS = 365
CHUNK = 5_000

# Department-type categories → the bureau (unit code suffix, see grids/demo/plans.py DEPARTMENTS) that handles them.
DEPARTMENT_RULES = {
    "BJ0105": "ZJJ",  # 电力井盖
    "BJ0106": "ZJJ",  # 通信井盖
    "BJ0107": "ZJJ",  # 燃气井盖
    "BJ0108": "YJJ",  # 消火栓
    "BJ0109": "CGJ",  # 路灯
    "BJ0110": "ZJJ",  # 配电箱变压器
    "BJ0201": "JTJ",  # 公交站亭
    "BJ0206": "JTJ",  # 过街天桥
    "BJ0402": "CGJ",  # 古树名木 (园林)
    "BJ0406": "CGJ",  # 城市雕塑
    "SJ0302": "HBJ",  # 工地扬尘
    "SJ0306": "CGJ",  # 无证掘路
    "SJ0401": "ZJJ",  # 路面塌陷
    "SJ0402": "SWJ",  # 自来水管破裂
    "SJ0403": "ZJJ",  # 燃气管道破裂
    "SJ0406": "ZJJ",  # 架空线缆损坏
    "SJ0407": "YJJ",  # 山体滑坡落石
    "SJ0408": "YJJ",  # 火情
    "SH0106": "SJJ",  # 消费纠纷
    "SH0302": "ZJJ",  # 燃气安全隐患
    "SH0305": "YJJ",  # 地质灾害隐患
    "SH0306": "SJJ",  # 食品安全隐患
    "SH0503": "SWJ",  # 水电气供应
}
# Named co-handling bureaus for categories whose own co-handling types name no department.
CO_RULES = {"SH0401": "MZJ", "SH0501": "MZJ", "SH0403": "WJJ"}
ROLE_ZH = {RuleRole.RESPONSIBLE: "主办", RuleRole.CO_HANDLING: "协办"}

# Where reports come from, and what is reported there (relative weights; every other leaf gets BASELINE in
# "general" so that each category appears).
CONTEXT_SHARE = {
    "general": 0.34,
    "lowrise": 0.14,
    "market": 0.16,
    "school": 0.07,
    "road": 0.22,
    "industrial": 0.03,
    "towers": 0.04,
}
CONTEXT_CATEGORIES = {
    "general": {
        "SJ0102": 14, "SJ0103": 6, "SJ0104": 4, "SJ0107": 3, "SJ0201": 6, "SJ0506": 3, "SJ0505": 3,
        "SJ0111": 2, "BJ0302": 2, "BJ0303": 2.5, "SH0101": 3, "SH0103": 2, "SH0504": 2.5, "SH0304": 2,
        "SH0401": 2, "SH0506": 1.5, "SH0505": 1.2, "BJ0404": 0.8, "BJ0405": 0.8, "SJ0106": 1.5, "SJ0108": 1,
        "SJ0204": 1, "SH0102": 1, "SH0404": 0.8, "SH0205": 1, "SH0402": 0.4, "SH0405": 0.3,
    },
    "lowrise": {
        "SJ0101": 6, "SJ0111": 4, "SH0304": 5, "SH0303": 3, "SH0301": 3, "SJ0102": 8, "SH0101": 4, "SH0205": 2,
        "SH0401": 3, "SJ0404": 2, "BJ0102": 1, "SJ0109": 2, "SH0105": 1.5, "SH0305": 0.6, "SJ0407": 0.3,
        "SH0102": 1.5, "SH0403": 0.6, "SH0502": 0.8, "SH0501": 1,
    },
    "market": {
        "SJ0508": 12, "SJ0504": 10, "SJ0501": 6, "SJ0102": 8, "SJ0503": 2, "SJ0110": 3, "SJ0203": 2, "SJ0505": 3,
        "SH0106": 1.5, "SH0306": 1.2, "SJ0202": 2, "BJ0304": 1, "BJ0305": 0.8, "SJ0201": 2, "SH0201": 0.5,
        "BJ0301": 1,
    },
    "school": {
        "SJ0505": 8, "SJ0506": 5, "SJ0501": 6, "SJ0507": 3, "BJ0202": 1, "BJ0203": 1, "BJ0204": 1, "SJ0102": 3,
        "SH0404": 1, "SH0306": 2, "SJ0204": 1.5, "SH0201": 0.6,
    },
    "road": {
        "BJ0101": 2, "BJ0102": 2, "BJ0103": 2, "BJ0104": 2, "BJ0105": 1, "BJ0106": 1, "BJ0107": 1, "BJ0109": 4,
        "BJ0204": 2, "BJ0205": 2, "BJ0401": 2, "SJ0104": 4, "SJ0303": 3, "SJ0305": 2, "SJ0405": 2, "SJ0302": 1.5,
        "BJ0207": 1, "BJ0201": 1, "BJ0202": 1, "BJ0203": 1, "BJ0110": 0.8, "BJ0108": 0.8, "SJ0401": 0.5,
        "SJ0402": 0.8, "SJ0406": 0.8, "SJ0306": 0.6, "BJ0206": 0.3, "BJ0208": 1, "BJ0403": 1, "SJ0105": 0.6,
    },
    "industrial": {"SJ0302": 4, "SJ0304": 4, "SH0104": 2, "SJ0301": 2, "SH0301": 2, "SJ0103": 3, "SJ0408": 0.5},
    "towers": {
        "SH0103": 4, "SH0504": 4, "SH0304": 3, "SJ0301": 2, "SH0505": 2, "SJ0102": 4, "SH0503": 1.5, "SJ0506": 2,
        "SH0302": 0.6, "BJ0402": 0.2, "BJ0406": 0.2, "SH0101": 2,
    },
}  # fmt: skip
HOTLINE_CATEGORIES = {
    "SH0505": 5, "SH0503": 4, "SH0504": 4, "SH0103": 3, "SJ0301": 3, "SH0106": 2, "SH0101": 2, "SJ0110": 2,
    "SH0501": 1.5, "SH0502": 1, "SJ0402": 1.5, "SJ0405": 1, "SJ0102": 3, "SJ0505": 2, "SH0306": 1.5,
}  # fmt: skip
BASELINE = 0.25

DESCRIPTIONS = {
    "SJ0102": ["路边有暴露垃圾，无人清运", "垃圾散落地面，影响市容", "绿化带内有生活垃圾堆积"],
    "SJ0103": ["建筑渣土堆积在人行道旁", "积存垃圾多日未清运，有异味"],
    "SJ0104": ["路面有大面积油污和泥土", "道路保洁不到位，落叶垃圾较多"],
    "SJ0201": ["电杆和墙面上张贴大量小广告", "单元门口被喷涂办证小广告"],
    "SJ0505": ["机动车占用人行道停放", "车辆乱停放堵塞消防通道", "上下学时段车辆在校门口违停"],
    "SJ0506": ["共享单车乱停乱放堵塞通道", "电动车在人行道上乱停放"],
    "SJ0508": ["流动摊贩占道摆卖水果蔬菜", "早市摊点占用人行道经营"],
    "SJ0504": ["商铺超出门窗经营，货物摆到人行道", "餐馆在店外设置桌椅经营"],
    "SJ0501": ["无照游商在路口兜售商品", "校门口有流动摊贩售卖小食品"],
    "SJ0101": ["楼顶新搭建彩钢棚", "院内私自搭建房屋"],
    "SJ0111": ["居民向雨水井倾倒污水", "餐饮店将油污水直排路面"],
    "SH0304": ["楼道内电动车飞线充电", "电动车停放在楼梯间充电，存在火灾隐患"],
    "SH0101": ["邻里因漏水问题发生纠纷", "楼上噪音引发邻里矛盾"],
    "SH0103": ["业主与物业因收费问题发生纠纷", "物业服务不到位引发业主不满"],
    "SH0401": ["独居老人多日未出门，需上门探望", "独居老人反映生活困难"],
    "BJ0101": ["上水井盖破损", "井盖缺失，存在安全隐患"],
    "BJ0102": ["污水井盖松动，车辆经过有异响", "污水井盖破损下沉"],
    "BJ0103": ["雨水井盖缺失", "雨水井盖破损"],
    "BJ0109": ["路灯不亮", "路灯灯杆倾斜", "一排路灯夜间全部熄灭"],
    "SJ0303": ["运输车辆沿途遗撒渣土", "道路上有遗撒的砂石"],
    "SJ0405": ["降雨后路面积水严重", "下穿通道积水，行人无法通行"],
    "SH0505": ["夜间施工噪声扰民", "广场舞音响声音过大"],
    "SH0503": ["小区停水未提前通知", "燃气供应不稳定"],
    "SJ0302": ["工地未覆盖裸土，扬尘严重", "施工现场未洒水降尘"],
    "SJ0110": ["夜间露天烧烤油烟扰民", "路边摊点露天烧烤"],
}
NOTES = {
    "register": ["符合立案条件，予以立案", "经核实，予以立案"],
    "reject": ["不属于受理范围，不予立案", "重复上报，不予立案", "信息不全，无法核实，不予立案"],
    "dispatch": ["请按时限处置", "请尽快到现场处置并反馈", "转社区处置，请按时反馈"],
    "start": ["已安排人员到场处置"],
    "resolve": ["已处置完毕", "已清理完毕，恢复原状", "已修复"],
    "verify": ["经现场核查，问题已解决"],
    "rework": ["现场核查未解决，退回重新处置"],
    "close": ["核查通过，予以结案"],
    "return": ["不属于本单位职责，申请回退", "非本辖区案件，回退重新派遣"],
    "escalate": ["超出本单位处置能力，上报上级", "需多部门协调，上报上级"],
    "suspend": ["需协调多部门，暂时挂账", "等待专项整治，挂账处理"],
    "resume": ["具备处置条件，恢复办理"],
    "extend": ["工程量较大，申请延时"],
    "approve_extension": ["同意延时"],
    "close_on_spot": ["现场已解决 / solved on the spot"],
}
OPEN_STATES = ("reported", "registered", "dispatched", "processing", "resolved", "verified", "returned")
OPEN_STATES += ("suspended", "escalated")
LIGHTS = ("green", "yellow", "red")
LATE = {"register": 0.04, "dispatch": 0.05, "process": 0.09, "verify": 0.05, "close": 0.03}


# --- Working time, fast ----------------------------------------------------------------------


class FastCalendar:
    """The working calendar (cases.calendar) as sorted periods in epoch seconds with the working time before each:
    add/between in microseconds, the same answers as WorkCalendar within floating-point rounding."""

    def __init__(self, work: calendar.WorkCalendar, first: datetime, last: datetime):
        self.tz = work.tz
        self.starts: list[float] = []
        self.ends: list[float] = []
        self.cum: list[float] = []  # working seconds before each period
        self.cum_end: list[float] = []
        total = 0.0
        days = list(_days(first, last, work.tz))
        for day in days:
            for begin, end in work.periods_on(day):
                self.starts.append(begin.timestamp())
                self.ends.append(end.timestamp())
                self.cum.append(total)
                total += end.timestamp() - begin.timestamp()
                self.cum_end.append(total)
        self.workdays = {d for d in days if work.is_workday(d)}

    def work(self, t: float) -> float:
        i = bisect_right(self.starts, t) - 1
        if i < 0:
            return 0.0
        return self.cum[i] + min(t - self.starts[i], self.ends[i] - self.starts[i])

    def add(self, t: float, hours: float) -> float:
        if hours <= 0:
            return t
        w = self.work(t) + hours * 3600
        i = bisect_left(self.cum_end, w)
        if i >= len(self.starts):
            raise ValueError("beyond the demo calendar")
        return max(self.starts[i] + (w - self.cum[i]), t)

    def sub(self, t: float, hours: float) -> float:
        """The moment `hours` of working time before t (a period's start rather than the previous period's end)."""
        w = self.work(t) - hours * 3600
        i = bisect_right(self.cum, w) - 1
        if i < 0:
            raise ValueError("before the demo calendar")
        return self.starts[i] + (w - self.cum[i])

    def between(self, a: float, b: float) -> float:
        return (self.work(b) - self.work(a)) / 3600


def _days(first: datetime, last: datetime, tz):
    day = first.astimezone(tz).date()
    while day <= last.astimezone(tz).date():
        yield day
        day += timedelta(days=1)


# --- Reference data --------------------------------------------------------------------------


@dataclass
class Cat:
    id: int
    code: str
    name: str
    level: int
    limits: dict[str, float]
    handling: str
    obj: Category

    @property
    def total(self) -> float:
        return sum(self.limits[step] for step in STEPS)


@dataclass
class World:
    now: float
    fc: FastCalendar
    cats: dict[str, Cat]
    units: dict[int, Unit]
    centre_of: dict[str, int]  # district code -> command centre id
    dept_of: dict[tuple[str, str], int]  # (district code, abbr) -> unit id
    committee_of: dict[int, int]  # community id -> committee unit id
    office_of: dict[int, int]  # street id -> street office id
    account_of: dict[int, int]  # unit id -> a dispatcher account's user id
    worker_of_grid: dict[int, tuple[int, int]]  # grid id -> (user id, unit id)
    manager: tuple[int | None, int | None]
    unit_factor: dict[int, float] = field(default_factory=dict)
    hotline_seq: Counter = field(default_factory=Counter)


def leaf_categories() -> dict[str, Cat]:
    nodes = {c.id: c for c in Category.objects.all()}
    for node in nodes.values():  # Category.limit_hours walks up the parents: hand it the loaded ones
        if node.parent_id:
            node.parent = nodes[node.parent_id]
    parents = {c.parent_id for c in nodes.values() if c.parent_id}
    out = {}
    for node in nodes.values():
        if node.id in parents or not node.active:
            continue
        limits = {step: node.limit_hours(step) for step in STEPS}
        out[node.code] = Cat(
            node.id, node.code, node.name_zh, node.default_level, limits, node.handling_unit_type, node
        )
    return out


def load_world(now: datetime, rng: random.Random) -> World:
    units = {u.pk: u for u in Unit.objects.defer("jurisdiction")}
    centre_of, dept_of = {}, {}
    for unit in units.values():
        district = unit.code.split("-")[0][:6]
        if unit.type == UnitType.COMMAND_CENTRE:
            centre_of[district] = unit.pk
        elif unit.type == UnitType.DEPARTMENT and "-" in unit.code:
            dept_of[(district, unit.code.split("-", 1)[1])] = unit.pk
    committees = {u.code: u.pk for u in units.values() if u.type == UnitType.COMMUNITY_COMMITTEE}
    offices = {u.code: u.pk for u in units.values() if u.type == UnitType.STREET_OFFICE}
    committee_of = {
        cid: committees[f"{code}-JWH"]
        for cid, code in Community.objects.values_list("id", "code")
        if f"{code}-JWH" in committees
    }
    office_of = {
        sid: offices[f"{code}-JDB"]
        for sid, code in Street.objects.values_list("id", "code")
        if f"{code}-JDB" in offices
    }
    account_of: dict[int, int] = {}
    worker_of_grid: dict[int, tuple[int, int]] = {}
    manager = (None, None)
    for staff in Staff.objects.select_related("user").prefetch_related("grids").order_by("user__username"):
        if staff.role == Role.DISPATCHER and staff.unit_id:
            account_of.setdefault(staff.unit_id, staff.user_id)
        elif staff.role == Role.WORKER:
            for grid in staff.grids.all():
                worker_of_grid.setdefault(grid.pk, (staff.user_id, staff.unit_id))
        elif staff.role == Role.MANAGER and manager[0] is None:
            manager = (staff.user_id, staff.unit_id)
    work = calendar.get_calendar()
    moment = datetime.fromtimestamp(now.timestamp(), tz=UTC)
    fc = FastCalendar(work, moment - timedelta(days=DAYS + 60), moment + timedelta(days=DAYS))
    factor = {pk: min(3.0, max(0.3, math.exp(rng.gauss(0, 0.5)))) for pk in sorted(units)}
    return World(
        now=now.timestamp(),
        fc=fc,
        cats=leaf_categories(),
        units=units,
        centre_of=centre_of,
        dept_of=dept_of,
        committee_of=committee_of,
        office_of=office_of,
        account_of=account_of,
        worker_of_grid=worker_of_grid,
        manager=manager,
        unit_factor=factor,
    )


def ensure_demo_rules() -> int:
    """Rules naming the bureau for department-type categories (and a few named co-handling bureaus), per district.
    Idempotent: an existing rule for the same category, unit and role is kept."""
    categories = {c.code: c for c in Category.objects.filter(code__in=[*DEPARTMENT_RULES, *CO_RULES])}
    districts = list(District.objects.order_by("code").values_list("code", flat=True))
    bureaus = {
        f"{district}-{abbr}" for district in districts for abbr in [*DEPARTMENT_RULES.values(), *CO_RULES.values()]
    }
    units = {u.code: u for u in Unit.objects.filter(code__in=bureaus).defer("jurisdiction")}
    made = 0
    for district in districts:
        for table, role in ((DEPARTMENT_RULES, RuleRole.RESPONSIBLE), (CO_RULES, RuleRole.CO_HANDLING)):
            for code, abbr in table.items():
                unit = units.get(f"{district}-{abbr}")
                if unit is None or code not in categories:
                    continue
                _rule, created = RoutingRule.objects.get_or_create(
                    category=categories[code],
                    unit=unit,
                    role=role,
                    defaults={
                        "unit_type": UnitType.DEPARTMENT,
                        "priority": 10,
                        "note": f"演示数据：{categories[code].name_zh}由{unit.name}{ROLE_ZH[role]}",
                    },
                )
                made += created
    return made


# --- Where and what: sampling ----------------------------------------------------------------

BUILDINGS_SQL = """
SELECT b.id, ST_X(ST_Centroid(b.footprint)), ST_Y(ST_Centroid(b.footprint)), b.use, b.floors, b.address,
       COALESCE(h.n, 0), d.code
FROM grids_building b
JOIN grids_grid g ON g.id = b.grid_id
JOIN grids_community c ON c.id = g.community_id
JOIN grids_street s ON s.id = c.street_id
JOIN grids_district d ON d.id = s.district_id
LEFT JOIN (SELECT building_id, count(*) AS n FROM grids_household GROUP BY building_id) h ON h.building_id = b.id
ORDER BY b.id
"""


@dataclass
class Buildings:
    ids: np.ndarray
    x: np.ndarray
    y: np.ndarray
    use: np.ndarray
    floors: np.ndarray
    households: np.ndarray
    address: list[str]
    district: np.ndarray

    def subset(self, mask: np.ndarray) -> Buildings:
        idx = np.flatnonzero(mask)
        return Buildings(
            self.ids[idx],
            self.x[idx],
            self.y[idx],
            self.use[idx],
            self.floors[idx],
            self.households[idx],
            [self.address[i] for i in idx],
            self.district[idx],
        )


def load_buildings() -> Buildings:
    with connection.cursor() as cursor:
        cursor.execute(BUILDINGS_SQL)
        rows = cursor.fetchall()
    return Buildings(
        ids=np.array([r[0] for r in rows], dtype=np.int64),
        x=np.array([r[1] for r in rows]),
        y=np.array([r[2] for r in rows]),
        use=np.array([r[3] for r in rows]),
        floors=np.array([r[4] for r in rows]),
        households=np.array([r[6] for r in rows], dtype=float),
        address=[r[5] for r in rows],
        district=np.array([r[7] for r in rows]),
    )


def context_weights(b: Buildings, district: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per context, the weight of each building as the place of a report there (hot spots boosted)."""
    n = len(b.ids)
    hh = b.households
    residential = b.use == "residential"
    # Hot spots: blocks around a few dense seeds get several times their share.
    boost = np.ones(n)
    if n:
        seeds = rng.choice(n, size=min(n, max(3, n // 250)), replace=False, p=_norm(hh + 1))
        lat0 = math.radians(float(np.mean(b.y)))
        for s in seeds:
            d2 = ((b.x - b.x[s]) * math.cos(lat0) * 111_320) ** 2 + ((b.y - b.y[s]) * 110_900) ** 2
            boost[d2 < 120**2] *= rng.uniform(3, 6)
    near_road = _near_main_road(b, district)
    weights = {
        "general": np.where(residential & (b.floors >= 3) & (b.floors <= 9), hh + 1, 0.0) * boost,
        "lowrise": np.where(residential & (b.floors <= 2), hh + 1, 0.0) * boost,
        "towers": np.where(residential & (b.floors >= 10), hh + 1, 0.0),
        "market": np.where(np.isin(b.use, ["commercial", "mixed"]), 30.0, 0.0) * boost,
        "school": np.where(b.use == "public", 20.0, 0.0) * boost,
        "industrial": np.where(np.isin(b.use, ["industrial", "other"]), 3.0, 0.0),
        "road": np.where(near_road, hh + 10, 0.0) * np.where(np.isin(b.use, ["commercial", "mixed"]), 3.0, 1.0),
    }
    return {name: w for name, w in weights.items() if w.sum() > 0}


def _norm(w: np.ndarray) -> np.ndarray:
    return w / w.sum()


def _near_main_road(b: Buildings, district: str) -> np.ndarray:
    """Buildings within 150 m of the district's main valley road (the demo plan's settled line for 西区; elsewhere
    the shops and the densest fifth of the blocks stand in for it)."""
    if district == "510403":
        from grids.demo.plans import XIQU

        line = np.array(XIQU.settled[0][0])
        lat0 = math.radians(float(line[:, 1].mean()))
        kx, ky = math.cos(lat0) * 111_320, 110_900
        px, py = b.x * kx, b.y * ky
        best = np.full(len(px), np.inf)
        for (x0, y0), (x1, y1) in itertools.pairwise(line):
            ax, ay, bx, by = x0 * kx, y0 * ky, x1 * kx, y1 * ky
            dx, dy = bx - ax, by - ay
            t = np.clip(((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy), 0, 1)
            best = np.minimum(best, np.hypot(px - (ax + t * dx), py - (ay + t * dy)))
        near = best < 150
        if near.sum() >= 20:
            return near
    return np.isin(b.use, ["commercial", "mixed"]) | (b.households >= np.quantile(b.households, 0.8))


def category_table(codes: dict[str, float], cats: dict[str, Cat], *, baseline: bool) -> tuple[list[str], np.ndarray]:
    weights = {code: w for code, w in codes.items() if code in cats}
    if baseline:
        for code in cats:
            weights.setdefault(code, BASELINE)
    names = sorted(weights)
    return names, _norm(np.array([weights[c] for c in names], dtype=float))


# --- Bulk SQL: regions and routes ------------------------------------------------------------

POINTS_TABLE = "demo_case_points"
CHAIN_TABLE = "demo_category_chain"

ROUTES_SQL = f"""
SELECT p.idx, r.id, r.role, r.unit_type, r.unit_id AS named_unit, r.priority, r.is_default,
       ch.code, ch.distance, r.street_id, r.community_id, r.area IS NOT NULL AS has_area,
       u.id AS unit_id, u.code AS unit_code, u.name AS unit_name, u.type AS unit_kind,
       u.parent_id AS unit_parent_id, u.phone AS unit_phone
FROM {POINTS_TABLE} p
JOIN {CHAIN_TABLE} ch ON ch.category_id = p.category_id
JOIN cases_routingrule r ON r.category_id = ch.ancestor_id AND r.active
CROSS JOIN LATERAL (
    SELECT a.unit_id FROM cases_unitarea a
    WHERE a.geom && p.g AND ST_Covers(a.geom, p.g)
      AND a.unit_type = r.unit_type
      AND (r.unit_id IS NULL OR a.unit_id = r.unit_id)
      AND a.unit_id <> ALL(p.exclude)
    ORDER BY a.unit_area, a.unit_id
    LIMIT 1
) m
JOIN grids_unit u ON u.id = m.unit_id
WHERE (r.street_id IS NULL
       OR EXISTS (SELECT 1 FROM grids_street s WHERE s.id = r.street_id AND ST_Covers(s.boundary, p.g)))
  AND (r.community_id IS NULL
       OR EXISTS (SELECT 1 FROM grids_community c WHERE c.id = r.community_id AND ST_Covers(c.boundary, p.g)))
  AND (r.area IS NULL OR ST_Covers(r.area, p.g))
ORDER BY p.idx, ch.distance,
         (r.street_id IS NOT NULL OR r.community_id IS NOT NULL OR r.area IS NOT NULL) DESC,
         r.priority DESC, r.id
"""  # the resolver's choice (cases/routing.py) in SQL for a table of points; tests compare samples with the resolver
REGIONS_SQL = f"""
SELECT p.idx,
    (SELECT d.id FROM grids_district d WHERE ST_Covers(d.boundary, p.g) ORDER BY d.code LIMIT 1),
    (SELECT s.id FROM grids_street s WHERE ST_Covers(s.boundary, p.g) ORDER BY s.code LIMIT 1),
    (SELECT c.id FROM grids_community c WHERE ST_Covers(c.boundary, p.g) ORDER BY c.code LIMIT 1),
    (SELECT g.id FROM grids_grid g WHERE ST_Covers(g.boundary, p.g) ORDER BY g.code LIMIT 1)
FROM {POINTS_TABLE} p ORDER BY p.idx
"""  # cases.selectors.REGIONS_SQL for a table of points


def _prepare_tables(cats: dict[str, Cat]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {POINTS_TABLE} "
            "(idx integer PRIMARY KEY, g geometry(Point, 4326), category_id bigint, exclude bigint[])"
        )
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {CHAIN_TABLE} "
            "(category_id bigint, ancestor_id bigint, code text, distance integer)"
        )
        cursor.execute(f"TRUNCATE {CHAIN_TABLE}")
        cursor.execute(
            f"""
            INSERT INTO {CHAIN_TABLE}
            WITH RECURSIVE chain(category_id, id, code, parent_id, distance) AS (
                SELECT id, id, code, parent_id, 0 FROM cases_category WHERE id = ANY(%s)
                UNION ALL
                SELECT chain.category_id, c.id, c.code, c.parent_id, chain.distance + 1
                FROM cases_category c JOIN chain ON c.id = chain.parent_id
            ) SELECT category_id, id, code, distance FROM chain
            """,
            [[c.id for c in cats.values()]],
        )
        cursor.execute(f"ANALYZE {CHAIN_TABLE}")


def _drop_tables() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {POINTS_TABLE}, {CHAIN_TABLE}")


def _load_points(points: list[tuple[int, float, float, int, tuple[int, ...]]]) -> None:
    buffer = io.StringIO()
    for idx, lon, lat, category_id, exclude in points:
        buffer.write(f"{idx}\tSRID=4326;POINT({lon!r} {lat!r})\t{category_id}\t{{{','.join(map(str, exclude))}}}\n")
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {POINTS_TABLE}")
        cursor.cursor.copy_expert(f"COPY {POINTS_TABLE} (idx, g, category_id, exclude) FROM STDIN", buffer)
        cursor.execute(f"ANALYZE {POINTS_TABLE}")


def bulk_regions(points) -> dict[int, tuple]:
    _load_points(points)
    with connection.cursor() as cursor:
        cursor.execute(REGIONS_SQL)
        return {row[0]: row[1:] for row in cursor.fetchall()}


def bulk_routes(
    points, cats_by_id: dict[int, Cat], centres: dict[int, Unit], units: dict[int, Unit] | None = None
) -> dict[int, routing.Route]:
    """The resolver's answer for each (idx, lon, lat, category id, exclude): one rule query for all points, then
    `routing.route_from_rows` per point. `centres`: idx -> the command centre for points without a match."""
    _load_points(points)
    with connection.cursor() as cursor:
        cursor.execute(ROUTES_SQL)
        columns = [column.name for column in cursor.description]
        grouped: dict[int, list[dict]] = defaultdict(list)
        for row in cursor.fetchall():
            record = dict(zip(columns, row, strict=True))
            grouped[record.pop("idx")].append(record)
    routes, same = {}, {}
    for idx, lon, lat, category_id, exclude in points:
        rows = grouped.get(idx, [])
        centre = centres.get(idx)
        # Points with the same category, matching rules and units, exclusions and centre share their route but
        # for the point in the reason.
        key = (category_id, tuple((row["id"], row["unit_id"]) for row in rows), tuple(exclude), centre)
        base = same.get(key)
        if base is None:
            base = same[key] = routing.route_from_rows(
                rows, point=XY(lon, lat), category=cats_by_id[category_id].obj, exclude=tuple(exclude),
                centre=centre, units=units,
            )  # fmt: skip
        point = [round(lon, 7), round(lat, 7)]
        routes[idx] = routing.Route(base.responsible, base.co_units, {**base.reason, "point": point})
    return routes


@dataclass(frozen=True)
class XY:
    """A point for route_from_rows (it reads only x and y when the centre is given)."""

    x: float
    y: float


# --- One case through the cycle --------------------------------------------------------------


@dataclass
class Header:
    idx: int
    lon: float
    lat: float
    cat: Cat
    context: str
    address: str
    description: str
    source: str
    district: str
    received: float = 0.0
    number: str = ""
    reporter: tuple[int, int] | None = None  # (user id, unit id)
    external_ref: str = ""
    street_id: int | None = None
    community_id: int | None = None
    grid_id: int | None = None
    route: routing.Route | None = None
    plan: list = field(default_factory=list)
    plan_centre_desk: bool = False  # the command centre registers, dispatches and closes it
    pool: tuple[str, str] | None = None  # (state, light) for cases anchored at now
    building_xy: tuple[float, float] | None = None  # the building it was placed by (inside a grid)


def _iso(t: float, tz=UTC) -> str:
    """As event data is written (gridmgmt.times): the moment at +08:00 with milliseconds, whatever `tz`."""
    return times.rfc3339(datetime.fromtimestamp(t, tz=tz))


class Sim:
    """A case moved through the workflow in memory, as cases.services would move it; collects its events."""

    def __init__(self, world: World, h: Header):
        self.w, self.h, self.cat = world, h, h.cat
        route = h.route
        self.unit = route.responsible.pk
        self.co = [u.pk for u in route.co_units]
        self.routing_reason = route.reason
        self.original_unit = self.unit
        self.assigned_by = None
        self.level = h.cat.level
        self.state = "reported"
        self.resume_state = ""
        self.closed_as = ""
        self.closed_at = None
        self.version = 1
        self.step = ""
        self.seq = 0
        self.started = self.limit = self.yellow = self.deadline = None
        self.paused = 0.0
        self.suspended_at = None
        self.suspended_hours = 0.0
        self.ext_req = None
        self.extended = 0.0
        self.evaluation = None
        self.returned_by: list[int] = []
        self.escalated_from: list[int] = []
        self.events: list[tuple] = []
        self.t = h.received
        self.centre_desk = False
        self._start_step("register", h.received)
        self.case_deadline = world.fc.add(h.received, h.cat.total)
        actor = h.reporter or (None, None)
        self.events.append(
            (
                actor[0],
                actor[1],
                "report",
                "",
                "reported",
                h.description,
                [],
                {
                    "routing_reason": route.reason,
                    "captured_at": _iso(self.captured),
                    "step_started": self._started_record(),
                },
                h.received,
            )
        )

    @property
    def captured(self) -> float:
        return self.h.received - (60 * (1 + (self.h.idx * 7919) % 14) if self.h.source == "handheld" else 0)

    # Steps and thresholds, as services._start_step/_set_thresholds/_stop_clock.
    def _thresholds(self):
        fc = self.w.fc
        self.yellow = fc.add(self.started, YELLOW_AT * self.limit + self.paused)
        self.deadline = fc.add(self.started, self.limit + self.paused)

    def _start_step(self, step: str, t: float):
        self.step = step
        self.seq += 1
        self.started = t
        self.limit = self.cat.limits[step]
        self.paused = 0.0
        self.ext_req = None
        self._thresholds()

    def _stop_clock(self):
        self.step = ""
        self.started = self.limit = self.yellow = self.deadline = None
        self.ext_req = None

    def _started_record(self) -> dict:
        return {
            "step": self.step,
            "seq": self.seq,
            "unit": self.unit,
            "limit_hours": self.limit,
            "deadline_at": _iso(self.deadline, self.w.fc.tz),
        }

    def _ended_record(self, holder: int, t: float) -> dict:
        worked = self.w.fc.between(self.started, t) - self.paused
        return {
            "step": self.step,
            "seq": self.seq,
            "unit": holder,
            "limit_hours": self.limit,
            "hours": round(max(worked, 0.0), 3),
            "on_time": t <= self.deadline,
        }

    def act(self, action: str, t: float, actor: tuple, note: str = "", **kw) -> None:
        transition = TRANSITIONS[action]
        if self.state not in transition.sources:
            raise AssertionError(f"demo case {self.h.idx}: {action} from {self.state}")
        from_state, holder = self.state, self.unit
        data = getattr(self, f"_do_{action}", lambda t, actor, **kw: {})(t, actor, **kw) or {}
        to_state = self.state if transition.target is None else transition.target
        if action == "resume":
            to_state = self.resume_state or "processing"
            self.resume_state = ""
            data["resumed_to"] = to_state
        self.state = to_state
        new_step = STEP_OF_STATE.get(to_state)
        restart = bool(new_step) and (new_step != self.step or action in RESTARTS_STEP)
        if (to_state in TERMINAL or restart) and self.step and self.started is not None:
            data["step_ended"] = self._ended_record(holder, t)
        if to_state in TERMINAL:
            self._stop_clock()
        elif restart:
            self._start_step(new_step, t)
            data["step_started"] = self._started_record()
        self.version += 1
        self.t = t
        self.events.append((actor[0], actor[1], action, from_state, to_state, note, kw.get("attachments", []), data, t))

    # Handlers, as services._dispatch, _return, … (they change the case and return the event's data).
    def _do_dispatch(self, t, actor, unit=None, **kw):
        data = {"from_unit": self.unit}
        if unit is not None and unit != self.unit:
            self.unit = unit
            if unit in self.co:
                self.co.remove(unit)
        self.assigned_by = actor[1] or self.assigned_by
        data["to_unit"] = self.unit
        return data

    def _do_return(self, t, actor, route=None, **kw):
        data = {"from_unit": self.unit, "to_unit": route.responsible.pk, "routing_reason": route.reason}
        self.returned_by.append(self.unit)
        self.unit = route.responsible.pk
        self.co = [u.pk for u in route.co_units]
        self.routing_reason = route.reason
        self.assigned_by = None
        return data

    def _do_escalate(self, t, actor, **kw):
        parent = self.parent_unit()
        data = {
            "from_unit": self.unit,
            "to_unit": parent,
            "from_level": self.level,
            "to_level": min(self.level + 1, 4),
            "automatic": False,
        }
        self.escalated_from.append(self.unit)
        self.unit = parent
        if parent in self.co:
            self.co.remove(parent)
        self.level = data["to_level"]
        self.assigned_by = None
        return data

    def _do_suspend(self, t, actor, **kw):
        self.resume_state = self.state
        self.suspended_at = t
        return {}

    def _do_resume(self, t, actor, **kw):
        fc = self.w.fc
        paused = max(fc.between(self.suspended_at, t), 0.0)
        self.suspended_hours += paused
        if self.started is not None:
            self.paused += paused
            self._thresholds()
        self.case_deadline = fc.add(self.case_deadline, paused)
        data = {"suspended_at": _iso(self.suspended_at), "paused_hours": round(paused, 4)}
        self.suspended_at = None
        return data

    def _do_extend(self, t, actor, hours=8.0, **kw):
        self.ext_req = hours
        return {"hours": hours}

    def _do_approve_extension(self, t, actor, approved=True, **kw):
        hours = self.ext_req
        self.ext_req = None
        if approved:
            self.limit += hours
            self.extended += hours
            self._thresholds()
            self.case_deadline = self.w.fc.add(self.case_deadline, hours)
        return {"hours": hours, "approved": approved}

    def _do_close(self, t, actor, **kw):
        self.closed_as, self.closed_at = "normal", t
        return {}

    def _do_close_on_spot(self, t, actor, attachments=(), **kw):
        self.closed_as, self.closed_at = "on_spot", t
        return {"after_photos": list(attachments)}

    def _do_evaluate(self, t, actor, score=5, **kw):
        self.evaluation = score
        return {"score": score}

    # Who acts.
    def parent_unit(self) -> int | None:
        unit = self.w.units[self.unit]
        if unit.parent_id:
            return unit.parent_id
        if unit.type == UnitType.COMMAND_CENTRE:
            return None
        return self.w.centre_of.get(self.h.district)

    def desk(self) -> tuple:
        centre = self.w.centre_of.get(self.h.district)
        unit = centre if self.centre_desk or self.unit == centre else self.unit
        return self.who(unit)

    def who(self, unit: int | None) -> tuple:
        return (self.w.account_of.get(unit), unit)

    def handler(self) -> tuple:
        return self.who(self.unit)

    def verifier(self) -> tuple:
        if self.h.source == "handheld" and self.h.reporter is not None:
            return self.h.reporter
        return self.desk()

    def approver(self) -> tuple:
        if self.assigned_by is not None and self.assigned_by != self.unit:
            return self.who(self.assigned_by)
        return self.who(self.w.centre_of.get(self.h.district))

    def pick_target(self) -> int:
        """Where the command centre sends a case it holds: the unit first routed (unless it returned or escalated
        the case), a co-handling unit, the bureau named for the category, or 城管."""
        for unit in [self.original_unit, *self.co]:
            if unit in self.returned_by or unit in self.escalated_from:
                continue
            if self.w.units[unit].type != UnitType.COMMAND_CENTRE:
                return unit
        abbr = DEPARTMENT_RULES.get(self.cat.code, "CGJ")
        return self.w.dept_of.get((self.h.district, abbr)) or self.w.dept_of.get((self.h.district, "CGJ"))


class NeedsRoute(Exception):
    def __init__(self, exclude: tuple[int, ...]):
        self.exclude = exclude


def run(world: World, h: Header, rerouted: dict[int, routing.Route], rng: random.Random, *, cut: bool) -> Sim:
    """Apply the case's plan from its receipt; with `cut`, stop before the first step that would lie after now."""
    sim = Sim(world, h)
    sim.centre_desk = h.plan_centre_desk
    fc, now = world.fc, world.now
    t = h.received
    for token in h.plan:
        action, amount, wall, params = token
        t_next = t + amount if wall else fc.add(t, amount)
        if cut and t_next > now:
            break
        t = t_next
        if action == "close_on_spot":
            actor = h.reporter
        elif action in ("register", "reject", "close", "suspend", "resume"):
            actor = sim.desk()
        elif action == "dispatch":
            actor = sim.desk()
            centre = world.centre_of.get(h.district)
            target = params.get("unit")
            if sim.unit == centre:
                target = sim.pick_target()
            elif params.get("down"):
                target = world.committee_of.get(h.community_id) or None
                if target is not None and world.units[target].parent_id != sim.unit:
                    target = None  # only a unit below the office
            params = {**params, "unit": target}
        elif action in ("verify", "rework"):
            actor = sim.verifier()
        elif action == "approve_extension":
            if sim.ext_req is None:
                continue
            actor = sim.approver()
        elif action == "evaluate":
            who = params.get("by")
            actor = h.reporter if who == "reporter" and h.source == "handheld" else None
            actor = actor or (world.manager if who == "manager" and world.manager[0] else None)
            actor = actor or sim.who(world.centre_of.get(h.district))
        elif action == "escalate":
            if sim.parent_unit() is None:
                continue
            actor = sim.handler()
        elif action == "return":
            if world.units[sim.unit].type == UnitType.COMMAND_CENTRE:
                continue
            actor = sim.handler()
            exclude = tuple(sorted({sim.unit, *sim.returned_by}))
            route = rerouted.get(h.idx)
            if route is None or route.reason.get("excluded_units") != list(exclude):
                raise NeedsRoute(exclude)
            params = {**params, "route": route}
        else:
            actor = sim.handler()
        note = rng.choice(NOTES[action]) if action in NOTES else ""
        if action == "dispatch" and params.get("unit") is None:
            params = {k: v for k, v in params.items() if k != "unit"}
        sim.act(action, t, actor, note, **{k: v for k, v in params.items() if k not in ("down", "by")})
    return sim


# --- Plans: what happens to each case, with how long each step takes -----------------------------


def _fraction(rng: random.Random, late_p: float) -> float:
    if rng.random() < late_p:
        return 1.02 + rng.expovariate(1.6)
    return max(0.03, rng.betavariate(1.4, 2.2) * 0.97)


def make_plan(world: World, h: Header, rng: random.Random) -> None:
    """The tokens (action, amount, wall-clock?, params) of a case's life; amounts in working hours unless wall."""
    cat, limits = h.cat, h.cat.limits
    unit = h.route.responsible
    # Late steps were commoner early in the year (the system bedding in) and at some units than at others.
    age = max(0.0, min(1.0, (world.now - h.received) / (DAYS * 86400)))
    late_factor = world.unit_factor.get(unit.pk, 1.0) * (0.7 + 0.6 * age)

    def work(step: str, share: float = 1.0, late: float | None = None) -> float:
        p = LATE[step] * late_factor if late is None else late
        return round(limits[step] * share * _fraction(rng, p), 4)

    plan: list = []
    h.plan = plan
    h.plan_centre_desk = unit.type == UnitType.DEPARTMENT or (h.source == "hotline" and rng.random() < 0.5)
    if cat.level == 1 and h.reporter is not None and h.source == "handheld" and rng.random() < 0.6:
        plan.append(("close_on_spot", rng.uniform(300, 2400), True, {"attachments": []}))
        _maybe_evaluate(plan, h, rng)
        return
    if rng.random() < (0.07 if h.source == "hotline" else 0.035):
        plan.append(("reject", work("register"), False, {}))
        return
    plan.append(("register", work("register"), False, {}))
    if rng.random() < 0.01 and unit.type != UnitType.COMMAND_CENTRE:
        plan.append(("return", work("dispatch", 0.5), False, {}))
    down = unit.type == UnitType.STREET_OFFICE and rng.random() < (0.45 if cat.level <= 2 else 0.2)
    plan.append(("dispatch", work("dispatch"), False, {"down": down}))
    if rng.random() < 0.02:
        plan.append(("return", work("process", 0.15, 0.0), False, {}))
        plan.append(("dispatch", work("dispatch"), False, {}))
    elif rng.random() < 0.025:
        plan.append(("escalate", work("process", 0.3, 0.0), False, {}))
        plan.append(("dispatch", work("dispatch"), False, {}))
    process = work("process")
    spent = 0.0
    started = rng.random() < 0.7
    if started:
        share = process * rng.uniform(0.02, 0.2)
        plan.append(("start", share, False, {}))
        spent += share
    if rng.random() < 0.04 and limits["process"] >= 8:
        share = (process - spent) * rng.uniform(0.3, 0.7)
        hours = float(max(4, round(limits["process"] * rng.uniform(0.5, 1.5))))
        plan.append(("extend", share, False, {"hours": hours}))
        plan.append(("approve_extension", rng.uniform(0.2, 2), False, {"approved": rng.random() < 0.85}))
        spent += share
    if rng.random() < 0.02:
        if not started:
            plan.append(("start", 0.1, False, {}))
            spent += 0.1
        share = max(process - spent, 0.1) * rng.uniform(0.1, 0.6)
        plan.append(("suspend", share, False, {}))
        plan.append(("resume", rng.uniform(16, 320), False, {}))
        spent += share
    plan.append(("resolve", round(max(process - spent, 0.05), 4), False, {}))
    for _ in range(2):
        if rng.random() < 0.07:
            plan.append(("rework", work("verify"), False, {}))
            plan.append(("resolve", work("process", 0.5), False, {}))
        else:
            break
    plan.append(("verify", work("verify"), False, {}))
    plan.append(("close", work("close"), False, {}))
    _maybe_evaluate(plan, h, rng)


def _maybe_evaluate(plan: list, h: Header, rng: random.Random) -> None:
    if rng.random() < 0.35:
        handheld = h.source == "handheld" and h.reporter is not None
        by = "reporter" if handheld and rng.random() < 0.7 else rng.choice(["manager", "centre"])
        score = rng.choices([5, 4, 3, 2, 1], weights=[55, 30, 10, 3, 2])[0]
        plan.append(("evaluate", rng.uniform(1, 48) * 3600, True, {"score": score, "by": by}))


# Pool cases: a plan that ends in a given open state, whose current step has run a given share of its limit.
POOL_PATHS = {
    "reported": [],
    "registered": ["register"],
    "dispatched": ["register", "dispatch"],
    "processing": ["register", "dispatch", "start"],
    "resolved": ["register", "dispatch", "start", "resolve"],
    "verified": ["register", "dispatch", "start", "resolve", "verify"],
    "returned": ["register", "return"],
    "escalated": ["register", "dispatch", "escalate"],
    "suspended": ["register", "dispatch", "start", "suspend"],
}
# The action that started the step running in each state (start and suspend do not start a step).
STEP_STARTER = {"registered": "register", "dispatched": "dispatch", "processing": "dispatch", "resolved": "resolve"}
STEP_STARTER |= {"verified": "verify", "returned": "return", "escalated": "escalate", "suspended": "dispatch"}
POOL_SHARE = {"green": (0.1, 0.7), "yellow": (0.83, 0.97), "red": (1.1, 2.6)}
TOKEN_STEP = {"register": "register", "dispatch": "dispatch", "start": "process", "resolve": "process"}
TOKEN_STEP |= {"verify": "verify", "return": "dispatch", "escalate": "process", "suspend": "process"}


def make_pool_plan(world: World, h: Header, rng: random.Random) -> float:
    """The plan for a pool case; returns the working hours from its receipt to now."""
    state, light = h.pool
    limits = h.cat.limits
    h.plan = plan = []
    h.plan_centre_desk = h.route.responsible.type == UnitType.DEPARTMENT
    for action in POOL_PATHS[state]:
        share = (
            rng.uniform(0.05, 0.3) if action in ("start", "return", "escalate", "suspend") else rng.uniform(0.2, 0.6)
        )
        plan.append((action, round(limits[TOKEN_STEP[action]] * share, 4), False, {}))
    current = "process" if state == "suspended" else STEP_OF_STATE[state]
    elapsed = limits[current] * rng.uniform(*POOL_SHARE[light])
    starter = STEP_STARTER.get(state)
    first = max((i for i, token in enumerate(plan) if token[0] == starter), default=-1) + 1
    tail = sum(token[1] for token in plan[first:])
    if tail > 0.6 * elapsed:  # the actions after the step began must fit in the step's elapsed time
        plan[first:] = [(a, round(amount * 0.5 * elapsed / tail, 4), w, p) for a, amount, w, p in plan[first:]]
        tail = sum(token[1] for token in plan[first:])
    if state == "suspended":
        # The clock stopped at the suspension: the step's share ran before it, and the suspension has lasted since.
        action, amount, wall, params = plan[-1]
        plan[-1] = (action, round(amount + elapsed - tail, 4), wall, params)
        return sum(token[1] for token in plan) + rng.uniform(4, 60)
    return sum(token[1] for token in plan) + elapsed - tail


# --- Writing ---------------------------------------------------------------------------------


NULL = "\\N"


def _esc(text: str) -> str:
    """COPY text format: backslash, tab and line breaks escaped."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _json(value) -> str:
    return _esc(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def _n(value) -> str:
    return NULL if value is None else str(value)


def _ts(t: float | None) -> str:
    return NULL if t is None else datetime.fromtimestamp(t, tz=UTC).isoformat()


def _copy(table: str, columns: list[str], lines: list[str]) -> None:
    buffer = io.StringIO("".join(lines))
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)


CASE_COLUMNS = [
    "id", "number", "point", "address", "category_id", "level", "description", "source", "reporter_id",
    "external_ref", "client_uuid", "intake_digest", "captured_at", "received_at", "responsible_unit_id",
    "assigned_by_unit_id", "street_id", "community_id", "grid_id", "routing_reason", "resolved_on_site", "state",
    "resume_state", "closed_as", "version", "step", "step_seq", "step_started_at", "step_limit_hours",
    "step_paused_hours", "step_yellow_at", "step_deadline_at", "deadline_at", "suspended_at", "suspended_hours",
    "extension_requested_hours", "extended_hours", "overdue_handled_seq", "evaluation", "duplicate_of_id",
    "created_at", "updated_at", "closed_at",
]  # fmt: skip
EVENT_COLUMNS = ["case_id", "actor_id", "unit_id", "action", "from_state", "to_state", "note", "attachments", "data"]
EVENT_COLUMNS += ["created_at"]


def write(sims: list[tuple[int, Header, Sim]]) -> int:
    """COPY the cases, their co-handling units and their events."""
    cases, co_rows, events = [], [], []
    for case_id, h, s in sims:
        reporter = h.reporter[0] if h.reporter else None
        received = _ts(h.received)
        fields = (
            case_id, h.number, f"SRID=4326;POINT({h.lon!r} {h.lat!r})", _esc(h.address), h.cat.id, s.level,
            _esc(h.description), h.source, _n(reporter), h.external_ref, NULL, "", _ts(s.captured), received,
            s.unit, _n(s.assigned_by), _n(h.street_id), _n(h.community_id), _n(h.grid_id), _json(s.routing_reason),
            "f", s.state, s.resume_state, s.closed_as, s.version, s.step, s.seq, _ts(s.started), _n(s.limit),
            s.paused, _ts(s.yellow), _ts(s.deadline), _ts(s.case_deadline), _ts(s.suspended_at), s.suspended_hours,
            _n(s.ext_req), s.extended, NULL, _n(s.evaluation), NULL, received, _ts(s.t), _ts(s.closed_at),
        )  # fmt: skip
        cases.append("\t".join(map(str, fields)) + "\n")
        co_rows.extend(f"{case_id}\t{unit}\n" for unit in s.co)
        for actor, unit, action, from_state, to_state, note, attachments, data, t in s.events:
            events.append(
                f"{case_id}\t{_n(actor)}\t{_n(unit)}\t{action}\t{from_state}\t{to_state}\t{_esc(note)}\t"
                f"{_json(attachments) if attachments else '[]'}\t{_json(data)}\t{_ts(t)}\n"
            )
    _copy(Case._meta.db_table, CASE_COLUMNS, cases)
    _copy(Case.co_units.through._meta.db_table, ["case_id", "unit_id"], co_rows)
    _copy(CaseEvent._meta.db_table, EVENT_COLUMNS, events)
    return len(events)


INDEXES_SQL = """
SELECT i.relname, pg_get_indexdef(i.oid)
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
WHERE t.relname = ANY(%s) AND t.relnamespace = 'public'::regnamespace
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)
ORDER BY 1
"""
FOREIGN_KEYS_SQL = """
SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
WHERE c.contype = 'f' AND t.relname = ANY(%s) AND t.relnamespace = 'public'::regnamespace
ORDER BY 1, 2
"""


@contextmanager
def bulk_load():
    """Into empty case tables, load first, then build their secondary indexes and add their foreign keys again
    (checked by one join each instead of a trigger per row, and several times faster than keeping a dozen
    indexes, two of them GiST, up to date row by row), as pg_restore does. Primary keys and unique constraints
    stay. All in the seed's transaction: a failure leaves the tables as they were."""
    tables = [model._meta.db_table for model in (Case, CaseEvent, Case.co_units.through)]
    quote = connection.ops.quote_name
    timing: dict = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM cases_case) OR EXISTS (SELECT 1 FROM cases_caseevent)")
        if cursor.fetchone()[0]:
            yield timing
            return
        cursor.execute(INDEXES_SQL, [tables])
        indexes = cursor.fetchall()
        cursor.execute(FOREIGN_KEYS_SQL, [tables])
        foreign_keys = cursor.fetchall()
        # A foreign key cannot be dropped while checks on its tables are queued (the registry just written):
        # run the queued checks now (they would run at commit), and defer again afterwards.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table, name, _definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {quote(name)}")
    yield timing
    clock = time.monotonic()
    with connection.cursor() as cursor:
        for _name, definition in indexes:
            cursor.execute(definition)
        for table, name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    timing["indexes"] = round(time.monotonic() - clock, 1)


def _reserve_case_ids(count: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [Case._meta.db_table, count],
        )
        return [row[0] for row in cursor.fetchall()]


# --- The step --------------------------------------------------------------------------------


def _received_times(world: World, n: int, rng: np.random.Generator) -> np.ndarray:
    """n receipt moments over the past year: more on working days and in the daytime, rising gently over the year."""
    tz = world.fc.tz
    end = datetime.fromtimestamp(world.now, tz=tz)
    days = [(end - timedelta(days=i)).date() for i in range(DAYS, -1, -1)]
    weights = np.array(
        [(1.0 if d in world.fc.workdays else 0.55) * (0.85 + 0.3 * i / DAYS) for i, d in enumerate(days)]
    )
    hours = np.array([0.2, 0.1, 0.1, 0.1, 0.1, 0.3, 1, 3, 7, 9, 9, 8, 5, 4, 7, 8, 8, 7, 5, 4, 3, 2, 1, 0.5])
    day_index = rng.choice(len(days), size=n, p=_norm(weights))
    hour = rng.choice(24, size=n, p=_norm(hours))
    seconds = hour * 3600 + rng.uniform(0, 3600, size=n)
    midnights = np.array([datetime(d.year, d.month, d.day, tzinfo=tz).timestamp() for d in days])
    t = midnights[day_index] + seconds
    # Today's reports lie before now: those drawn later in the day are drawn again between midnight and now.
    late = t > world.now - 60
    t[late] = midnights[-1] + rng.uniform(0, max(world.now - 60 - midnights[-1], 1), size=int(late.sum()))
    return t


def _numbers(times: list[float]) -> tuple[list[str], dict]:
    """XQ-YYYYMMDD-NNNNN for receipt moments: in receipt order per day (settings.TIME_ZONE, as
    cases.services._insert_case), after each day's existing counter. Returns the numbers and the new counters."""
    prefix = getattr(settings, "CASE_NUMBER_PREFIX", "XQ")
    tz = timezone.get_default_timezone()
    days = [datetime.fromtimestamp(t, tz=tz).date() for t in times]
    with connection.cursor() as cursor:
        cursor.execute("SELECT day, n FROM cases_casecounter WHERE day = ANY(%s)", [sorted(set(days))])
        counters = dict(cursor.fetchall())
    numbers = [""] * len(times)
    for i in sorted(range(len(times)), key=lambda i: times[i]):
        counters[days[i]] = counters.get(days[i], 0) + 1
        numbers[i] = f"{prefix}-{days[i]:%Y%m%d}-{counters[days[i]]:05d}"
    return numbers, counters


def _save_counters(counters: dict) -> None:
    if not counters:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO cases_casecounter (day, n) SELECT * FROM unnest(%s::date[], %s::int[]) "
            "ON CONFLICT (day) DO UPDATE SET n = GREATEST(cases_casecounter.n, EXCLUDED.n)",
            [list(counters), list(counters.values())],
        )


def _describe(cat: Cat, rng: random.Random) -> str:
    options = DESCRIPTIONS.get(cat.code)
    return rng.choice(options) if options else f"发现{cat.name}问题，请核实处理"


class Sampler:
    """Reports in one district: a context, a building of that context (hot spots fixed once per district), a point
    8–45 m from it, a category of that context (some from the hotline's mix)."""

    def __init__(self, world: World, b: Buildings, district: str, rng: np.random.Generator):
        self.world, self.b, self.district, self.rng = world, b, district, rng
        self.weights = {c: _norm(w) for c, w in context_weights(b, district, rng).items()}
        self.contexts = sorted(self.weights)
        self.share = _norm(np.array([CONTEXT_SHARE[c] for c in self.contexts]))
        self.tables = {}
        for c in self.contexts:
            names, p = category_table(CONTEXT_CATEGORIES[c], world.cats, baseline=c == "general")
            self.tables[c] = (names, np.cumsum(p))
        names, p = category_table(HOTLINE_CATEGORIES, world.cats, baseline=False)
        self.hotline = (names, np.cumsum(p))
        self.lat0 = math.radians(float(np.mean(b.y))) if len(b.ids) else 0.0

    def draw(self, n: int, start_idx: int) -> list[Header]:
        if n <= 0 or not len(self.b.ids):
            return []
        b, rng = self.b, self.rng
        chosen = rng.choice(len(self.contexts), size=n, p=self.share)
        picks = {
            c: iter(rng.choice(len(b.ids), size=int((chosen == i).sum()), p=self.weights[c]))
            for i, c in enumerate(self.contexts)
        }
        angles = rng.uniform(0, 2 * math.pi, size=n)
        dists = rng.uniform(8, 45, size=n)
        cat_draw = rng.random(size=n)
        hot_draw = rng.random(size=n)
        kx, ky = 111_320 * math.cos(self.lat0), 110_900
        headers = []
        for k in range(n):
            context = self.contexts[chosen[k]]
            i = next(picks[context])
            names, cumulative = self.hotline if hot_draw[k] < 0.15 else self.tables[context]
            code = names[min(int(np.searchsorted(cumulative, cat_draw[k] * cumulative[-1])), len(names) - 1)]
            suffix = {"road": "路段", "market": "门前", "school": "校门口"}.get(context, "附近")
            headers.append(
                Header(
                    idx=start_idx + k,
                    lon=round(float(b.x[i] + dists[k] * math.cos(angles[k]) / kx), 7),
                    lat=round(float(b.y[i] + dists[k] * math.sin(angles[k]) / ky), 7),
                    cat=self.world.cats[code],
                    context=context,
                    address=f"{b.address[i]}{suffix}",
                    description="",
                    source="",
                    district=self.district,
                    building_xy=(round(float(b.x[i]), 7), round(float(b.y[i]), 7)),
                )
            )
        return headers


def _assign_sources(world: World, headers: list[Header], rng: random.Random) -> None:
    hotline_seq = world.hotline_seq
    for h in headers:
        worker = world.worker_of_grid.get(h.grid_id)
        if worker is not None and rng.random() < 0.85:
            h.source, h.reporter = "handheld", worker
        elif rng.random() < 0.65:
            h.source = "hotline"
            day = datetime.fromtimestamp(h.received, tz=world.fc.tz).strftime("%Y%m%d")
            hotline_seq[day] += 1
            h.external_ref = f"12345-{day}-{hotline_seq[day]:04d}"
        else:
            h.source = "desk"
            office = world.office_of.get(h.street_id)
            account = world.account_of.get(office)
            h.reporter = (account, office) if account else None
        h.description = _describe(h.cat, rng)


def _locate(headers: list[Header]) -> list[Header]:
    """Regions of each point (as selectors.regions_at); a point outside every grid moves to its building's centre,
    and is dropped if that is outside too."""
    kept, pending = [], headers
    for attempt in range(2):
        regions = bulk_regions([(h.idx, h.lon, h.lat, h.cat.id, ()) for h in pending])
        missed = []
        for h in pending:
            district_id, street_id, community_id, grid_id = regions[h.idx]
            if district_id is None or grid_id is None:
                if attempt == 0 and h.building_xy is not None:
                    h.lon, h.lat = h.building_xy
                    missed.append(h)
                continue
            h.street_id, h.community_id, h.grid_id = street_id, community_id, grid_id
            kept.append(h)
        if not missed:
            break
        pending = missed
    return sorted(kept, key=lambda h: h.idx)


def _route(world: World, headers: list[Header], exclude: dict[int, tuple] | None = None) -> dict[int, routing.Route]:
    exclude = exclude or {}
    centres = {h.idx: world.units[world.centre_of[h.district]] for h in headers if h.district in world.centre_of}
    cats_by_id = {c.id: c for c in world.cats.values()}
    points = [(h.idx, h.lon, h.lat, h.cat.id, exclude.get(h.idx, ())) for h in headers]
    return bulk_routes(points, cats_by_id, centres, world.units)


def _simulate(world: World, headers: list[Header], seed: int, *, cut: bool) -> list[tuple[Header, Sim]]:
    """Run every case; those that reach a `return` are re-routed in one bulk query and run again."""
    rerouted: dict[int, routing.Route] = {}
    pending = list(headers)
    done: list[tuple[Header, Sim]] = []
    for _round in range(3):
        waiting, excludes = [], {}
        for h in pending:
            try:
                done.append((h, run(world, h, rerouted, random.Random(seed * 7_919 + h.idx), cut=cut)))
            except NeedsRoute as need:
                waiting.append(h)
                excludes[h.idx] = need.exclude
        if not waiting:
            break
        rerouted.update(_route(world, waiting, excludes))
        pending = waiting
    return done


def seed_cases(*, scale: str, seed: int, stdout=None, now: datetime | None = None) -> dict:
    """The seed_demo step: demo routing rules, then a year of cases with their events (see the module's doc)."""
    # Hundreds of thousands of small objects that all live to the end: the cyclic collector would only rescan them.
    enabled = gc.isenabled()
    gc.disable()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(id), 0) FROM cases_caseevent")
            last_event = cursor.fetchone()[0]
        with bulk_load() as timing:
            summary = _seed_cases(scale=scale, seed=seed, stdout=stdout, now=now)
        clock = time.monotonic()
        audit.seal_case_events_after(last_event)  # the events were COPYed in: seal them as the web path does
        timing["seal"] = time.monotonic() - clock
        summary.setdefault("phases", {}).update(timing)
        if stdout is not None and timing:
            stdout.write(f"  索引与外键 indexes and foreign keys: {timing['indexes']:.1f} s\n")
        return summary
    finally:
        if enabled:
            gc.enable()


def _seed_cases(*, scale: str, seed: int, stdout, now: datetime | None) -> dict:
    started = time.monotonic()
    now = now or timezone.now()
    total = CASES.get(scale, CASES["district"])
    prng = random.Random(seed)
    nrng = np.random.default_rng(seed + 31)
    rules = ensure_demo_rules()
    with connection.cursor() as cursor:
        # Large set queries below: JIT compilation would cost more than it saves.
        cursor.execute("SELECT current_setting('jit'), set_config('jit', 'off', true)")
        jit = cursor.fetchone()[0]
    world = load_world(now, prng)
    _prepare_tables(world.cats)
    buildings = load_buildings()
    districts = sorted(world.centre_of)
    people = {code: float(buildings.households[buildings.district == code].sum()) for code in districts}
    if not districts or sum(people.values()) == 0:
        _drop_tables()
        return {"cases": 0}

    samplers = {code: Sampler(world, buildings.subset(buildings.district == code), code, nrng) for code in districts}
    del buildings

    # The pool: every open state with each light, anchored at now; half in 清香坪街道 (the demo dispatcher's).
    pool_n = len(OPEN_STATES) * len(LIGHTS) * 2
    combos = [(state, light) for light in LIGHTS for state in OPEN_STATES]
    pool_district = "510403" if "510403" in districts else districts[0]
    pool = _locate(samplers[pool_district].draw(pool_n * 3, 0))
    home_street = Street.objects.filter(code=HOME_STREET).values_list("id", flat=True).first()
    in_home = [h for h in pool if h.street_id == home_street]
    elsewhere = [h for h in pool if h.street_id != home_street]
    pool = (in_home[: pool_n // 2] + elsewhere)[:pool_n]
    routes = _route(world, pool)
    for k, h in enumerate(pool):
        h.route = routes[h.idx]
        h.pool = combos[k % len(combos)] if k < 2 * len(combos) else (prng.choice(OPEN_STATES), prng.choice(LIGHTS))
        if h.pool[0] in ("escalated", "returned") and h.route.responsible.type == UnitType.COMMAND_CENTRE:
            h.pool = ("registered", h.pool[1])
        hours = make_pool_plan(world, h, random.Random(seed * 104_729 + h.idx))
        h.received = world.fc.sub(world.now, hours)
    pool.sort(key=lambda h: (h.received, h.idx))
    _assign_sources(world, pool, prng)

    # Everything else: receipt moments for all (sorted), a district for each by its households; numbers by day
    # across the pool and the rest. Points, categories and routes are drawn chunk by chunk (flat memory).
    n_rest = max(total - len(pool), 0)
    times = np.sort(_received_times(world, n_rest, nrng)).tolist()
    weights = np.array([people[code] for code in districts])
    owner = nrng.choice(len(districts), size=n_rest, p=_norm(weights))
    numbers, counters = _numbers([h.received for h in pool] + times)
    for h, number in zip(pool, numbers, strict=False):
        h.number = number
    numbers = numbers[len(pool) :]
    next_idx = pool_n * 3 + 1

    written = {"cases": 0, "events": 0}
    states: Counter = Counter()

    phases: Counter = Counter()
    phases["prepare"] = time.monotonic() - started

    def timed(name: str, clock: float) -> float:
        now_ = time.monotonic()
        phases[name] += now_ - clock
        return now_

    def flush(batch: list[tuple[Header, Sim]]):
        clock = time.monotonic()
        ids = _reserve_case_ids(len(batch))
        written["events"] += write([(case_id, h, s) for case_id, (h, s) in zip(ids, batch, strict=True)])
        written["cases"] += len(batch)
        states.update(s.state for _, s in batch)
        timed("write", clock)

    flush(_simulate(world, pool, seed, cut=False))
    for start in range(0, n_rest, CHUNK):
        clock = time.monotonic()
        chunk = []
        span = range(start, min(start + CHUNK, n_rest))
        for d_index, code in enumerate(districts):
            mine = [i for i in span if owner[i] == d_index]
            for i, h in zip(mine, samplers[code].draw(len(mine), 0), strict=True):
                h.idx, h.received, h.number = next_idx + i, times[i], numbers[i]
                chunk.append(h)
        chunk = _locate(chunk)
        timed("prepare", clock)
        clock = time.monotonic()
        _assign_sources(world, chunk, prng)
        routes = _route(world, chunk)
        clock = timed("route", clock)
        for h in chunk:
            h.route = routes[h.idx]
            make_plan(world, h, random.Random(seed * 15_485_863 + h.idx))
        sims = _simulate(world, chunk, seed, cut=True)
        timed("simulate", clock)
        flush(sims)
    _save_counters(counters)
    _drop_tables()
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('jit', %s, true)", [jit])
    with connection.cursor() as cursor:
        for model in (Case, CaseEvent, Case.co_units.through):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    seconds = time.monotonic() - started
    summary = {**written, "rules": rules, "seconds": round(seconds, 1), "states": dict(states)}
    summary["phases"] = {name: round(value, 1) for name, value in phases.items()}
    if stdout is not None:
        by_state = ", ".join(f"{state} {n:,}" for state, n in sorted(states.items(), key=lambda kv: -kv[1]))
        stdout.write(
            f"演示案件 demo cases: {written['cases']:,} cases, {written['events']:,} events "
            f"({by_state}); {rules} demo routing rules; {seconds:.1f} s "
            f"({', '.join(f'{k} {v:.1f}' for k, v in summary['phases'].items())})\n"
        )
    return summary
