"""A small world for the map tests: one street split into two communities of two grids each, buildings with
households and people, a police station, accounts of every role, and cases in known places."""

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.contrib.gis.geos import MultiPolygon, Point
from django.utils import timezone

from grids.models import CareTag, Role, UnitType
from tests.factories import (
    ORIGIN,
    BuildingFactory,
    CommunityFactory,
    GridFactory,
    HouseholdFactory,
    PersonFactory,
    StaffFactory,
    StreetFactory,
    UnitFactory,
    UserFactory,
    multi_square,
    rect,
    square,
)

PASSWORD = "test-password-123"
X0, Y0 = ORIGIN


@dataclass
class World:
    street: object = None
    communities: list = field(default_factory=list)
    grids: list = field(default_factory=list)
    buildings: list = field(default_factory=list)
    people: list = field(default_factory=list)
    police: object = None
    office: object = None
    accounts: dict = field(default_factory=dict)
    cases: list = field(default_factory=list)


def make_case(*, world: World, lon: float, lat: float, state: str = "reported", grid=None, days_ago: int = 1, **extra):
    """A case placed directly (the workflow's own tests cover how cases are made)."""
    from cases.categories import load_categories
    from cases.models import Case, Category

    if not Category.objects.exists():  # a transactional test's flush removes the migration's categories
        load_categories()
    category = extra.pop("category", None) or Category.objects.filter(children__isnull=True).order_by("code").first()
    now = timezone.now()
    received = now - timedelta(days=days_ago)
    n = len(world.cases) + 1
    case = Case.objects.create(
        number=f"XQ-TEST-{n:05d}",
        point=Point(lon, lat, srid=4326),
        address=f"测试路{n}号",
        category=category,
        level=extra.pop("level", 3),
        description=f"测试案件{n}：路灯损坏",
        source="handheld",
        captured_at=received,
        received_at=received,
        responsible_unit=extra.pop("unit", world.office),
        street=world.street,
        community=grid.community if grid else None,
        grid=grid,
        state=state,
        step="register" if state == "reported" else "process",
        step_started_at=received,
        step_yellow_at=extra.pop("yellow_at", now + timedelta(hours=5)),
        step_deadline_at=extra.pop("deadline_at", now + timedelta(hours=8)),
        deadline_at=extra.pop("case_deadline", now + timedelta(days=3)),
        **extra,
    )
    world.cases.append(case)
    return case


@pytest.fixture
def world(db):
    w = World()
    w.street = StreetFactory(name="清香坪街道", boundary=multi_square(X0, Y0, 0.04))
    for i in range(2):
        community = CommunityFactory(
            street=w.street, name=f"社区{i + 1}", boundary=MultiPolygon(rect(X0 + 0.02 * i, Y0, 0.02, 0.04), srid=4326)
        )
        w.communities.append(community)
        for j in range(2):
            w.grids.append(
                GridFactory(
                    community=community,
                    name=f"第{2 * i + j + 1}网格",
                    boundary=MultiPolygon(rect(X0 + 0.02 * i, Y0 + 0.02 * j, 0.02, 0.02), srid=4326),
                )
            )
    # Two buildings in grid 0, one in grid 3.
    spots = [(X0 + 0.005, Y0 + 0.005, 0), (X0 + 0.010, Y0 + 0.010, 0), (X0 + 0.030, Y0 + 0.030, 3)]
    for n, (x, y, _grid) in enumerate(spots):
        building = BuildingFactory(
            code=f"B5104030010{n + 1}",
            name=f"攀钢{n + 1}栋",
            address=f"攀枝花大道{n + 1}号",
            footprint=square(x, y, 0.0004),
        )
        w.buildings.append(building)
        for room in ("101", "102"):
            household = HouseholdFactory(building=building, room=f"{n + 1}{room}", floor=1)
            for k in range(2):
                tags = [CareTag.ELDERLY_ALONE] if k == 0 and room == "101" else []
                w.people.append(
                    PersonFactory(
                        household=household, name=f"王{'一二三'[n]}{'甲乙'[room == '102']}{'子丑'[k]}", care_tags=tags
                    )
                )
    w.police = UnitFactory(
        name="清香坪派出所", type=UnitType.POLICE_STATION, jurisdiction=multi_square(X0, Y0, 0.02), code="PS01"
    )
    w.office = UnitFactory(
        name="清香坪街道办", type=UnitType.STREET_OFFICE, jurisdiction=w.street.boundary, code="SO01"
    )
    w.accounts["manager"] = StaffFactory(user=UserFactory(username="t-manager"), role=Role.MANAGER).user
    w.accounts["dispatcher"] = StaffFactory(
        user=UserFactory(username="t-dispatcher"), role=Role.DISPATCHER, unit=w.office
    ).user
    w.accounts["worker"] = StaffFactory(
        user=UserFactory(username="t-worker"), role=Role.WORKER, grids=[w.grids[0]]
    ).user
    w.accounts["admin"] = UserFactory(username="t-admin", is_staff=True, is_superuser=True)
    return w


@pytest.fixture
def world_with_cases(world):
    g0, g3 = world.grids[0], world.grids[3]
    now = timezone.now()
    make_case(world=world, lon=X0 + 0.006, lat=Y0 + 0.006, grid=g0)
    make_case(
        world=world, lon=X0 + 0.007, lat=Y0 + 0.004, grid=g0, state="processing", yellow_at=now - timedelta(hours=1)
    )
    make_case(
        world=world,
        lon=X0 + 0.012,
        lat=Y0 + 0.008,
        grid=g0,
        state="processing",
        yellow_at=now - timedelta(hours=9),
        deadline_at=now - timedelta(hours=2),
    )
    make_case(
        world=world,
        lon=X0 + 0.031,
        lat=Y0 + 0.031,
        grid=g3,
        state="closed",
        closed_at=now - timedelta(hours=1),
        case_deadline=now + timedelta(days=1),
    )
    make_case(
        world=world,
        lon=X0 + 0.032,
        lat=Y0 + 0.025,
        grid=g3,
        state="closed",
        closed_at=now - timedelta(hours=1),
        case_deadline=now - timedelta(days=1),
        days_ago=40,
    )
    return world


def report_and_register(*, world: World, lon: float, lat: float) -> object:
    """A case as it really comes in: reported through cases.services (routed, numbered, first event written),
    then registered (立案) by the street office's dispatcher."""
    from cases import services
    from cases.models import Category

    category = (
        Category.objects.filter(children__isnull=True, handling_unit_type=UnitType.STREET_OFFICE, active=True)
        .order_by("code")
        .first()
    )
    case, _created = services.create_case(
        category=category,
        point=Point(lon, lat, srid=4326),
        description="井盖缺失，行人有跌落风险",
        address="攀枝花大道3号旁",
        source="handheld",
        actor=world.accounts["worker"],
        reporter=world.accounts["worker"],
    )
    case = services.apply_transition(
        case_id=case.pk,
        actor=world.accounts["dispatcher"],
        action="register",
        version=case.version,
        note="符合立案条件",
    )
    world.cases.append(case)
    return case
