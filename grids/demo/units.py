"""The units that handle cases: command centre, departments, street offices, community committees, police."""

from __future__ import annotations

import random

from django.contrib.gis.geos import GEOSGeometry

from grids.demo.geography import DistrictMap
from grids.demo.plans import POLICE_DEPARTMENT
from grids.models import Unit, UnitType


def _geos(geom) -> GEOSGeometry:
    import shapely

    return GEOSGeometry(shapely.to_wkb(geom, hex=True), srid=4326)


def department_name(district: str, name: str, abbr: str) -> str:
    if abbr == POLICE_DEPARTMENT:
        return f"{district}公安局" if district.endswith("县") else f"攀枝花市公安局{district}分局"
    return district + name[1:]  # 区住房和城乡建设局 -> 西区住房和城乡建设局


def street_office_name(street: str) -> str:
    return f"{street}办事处" if street.endswith("街道") else f"{street}人民政府"


def committee_name(community: str) -> str:
    return f"{community}村民委员会" if community.endswith("村") else f"{community}居民委员会"


def create_units(dmap: DistrictMap, seed: int) -> int:
    """All units of one district; jurisdictions are the region boundaries and the police precincts."""
    rng = random.Random(seed * 1000 + int(dmap.plan.code) % 1000)
    code = dmap.plan.code

    def phone() -> str:
        return f"0812-{rng.randrange(2_000_000, 9_999_999)}"

    centre = Unit.objects.create(
        code=f"{code}-ZHZX",
        name=f"{dmap.plan.name}网格化服务管理指挥中心",
        type=UnitType.COMMAND_CENTRE,
        jurisdiction=_geos(dmap.district.boundary),
        phone=phone(),
    )
    departments = Unit.objects.bulk_create(
        [
            Unit(
                code=f"{code}-{abbr}",
                name=department_name(dmap.plan.name, name, abbr),
                type=UnitType.DEPARTMENT,
                jurisdiction=centre.jurisdiction,
                parent=centre,
                phone=phone(),
            )
            for abbr, name in dmap.plan.departments
        ]
    )
    police_department = next(d for d in departments if d.code.endswith(f"-{POLICE_DEPARTMENT}"))
    offices = Unit.objects.bulk_create(
        [
            Unit(
                code=f"{street.code}-JDB",
                name=street_office_name(street.name),
                type=UnitType.STREET_OFFICE,
                jurisdiction=_geos(street.boundary),
                parent=centre,
                phone=phone(),
            )
            for street in dmap.streets
        ]
    )
    office_of = {office.code[:9]: office for office in offices}
    committees = Unit.objects.bulk_create(
        [
            Unit(
                code=f"{community.code}-JWH",
                name=committee_name(community.name),
                type=UnitType.COMMUNITY_COMMITTEE,
                jurisdiction=_geos(community.boundary),
                parent=office_of[community.parent_code],
                phone=phone(),
            )
            for community in dmap.communities
        ]
    )
    stations = Unit.objects.bulk_create(
        [
            Unit(
                code=precinct.code,
                name=precinct.name,
                type=UnitType.POLICE_STATION,
                jurisdiction=_geos(precinct.boundary),
                parent=police_department,
                phone=phone(),
            )
            for precinct in dmap.precincts
        ]
    )
    return 1 + len(departments) + len(offices) + len(committees) + len(stations)
