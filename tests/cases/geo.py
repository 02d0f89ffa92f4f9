"""A small geography for case tests, inside the factories' district square (101.60–101.64 E, 26.58–26.62 N).

    26.62 +-----------+-----------+
          | W1  | W2  | E1  | E2  |   north precinct (派出所 N) covers the whole top half
    26.60 +-----+-----+-----+-----+
          | W1  | W2  | E1  | E2  |   south precinct (派出所 S) covers the whole bottom half
    26.58 +-----------+-----------+
        101.60      101.62      101.64
          west street | east street

Streets W and E each have a street office; each community (W1, W2, E1, E2, 0.01° wide, full height) has a
committee and one grid; the two police precincts cut across the street boundary; one district department
and the command centre cover the whole district. Parents: committee → street office → command centre;
police stations and the department → command centre.
"""

from dataclasses import dataclass, field

from django.contrib.gis.geos import MultiPolygon, Point

from grids.models import Unit, UnitType
from tests.factories import (
    CommunityFactory,
    DistrictFactory,
    GridFactory,
    StreetFactory,
    UnitFactory,
    rect,
)

X0, Y0 = 101.60, 26.58


def multi(x: float, y: float, width: float, height: float) -> MultiPolygon:
    return MultiPolygon(rect(x, y, width, height), srid=4326)


@dataclass
class Geography:
    district: object
    streets: dict = field(default_factory=dict)  # "W"/"E" -> Street
    communities: dict = field(default_factory=dict)  # "W1".. -> Community
    grids: dict = field(default_factory=dict)  # "W1".. -> Grid
    offices: dict = field(default_factory=dict)  # "W"/"E" -> Unit
    committees: dict = field(default_factory=dict)  # "W1".. -> Unit
    police: dict = field(default_factory=dict)  # "N"/"S" -> Unit
    department: Unit | None = None
    centre: Unit | None = None

    @staticmethod
    def point(community: str, half: str) -> Point:
        """The middle of a community's north ("N") or south ("S") half."""
        index = ["W1", "W2", "E1", "E2"].index(community)
        return Point(X0 + 0.005 + 0.01 * index, Y0 + (0.03 if half == "N" else 0.01), srid=4326)

    @staticmethod
    def street_of(community: str) -> str:
        return community[0]

    def all_quadrants(self):
        for community in self.communities:
            for half in ("N", "S"):
                yield community, half, self.point(community, half)


def build_geography() -> Geography:
    district = DistrictFactory(boundary=multi(X0, Y0, 0.04, 0.04))
    geo = Geography(district=district)
    geo.centre = UnitFactory(
        code="CC510403", name="西区网格化服务管理指挥中心", type=UnitType.COMMAND_CENTRE, jurisdiction=district.boundary
    )
    geo.department = UnitFactory(
        code="DP510403ZJ", name="西区住房和城乡建设局", type=UnitType.DEPARTMENT, jurisdiction=district.boundary,
        parent=geo.centre,
    )  # fmt: skip
    for half, y in (("S", Y0), ("N", Y0 + 0.02)):
        geo.police[half] = UnitFactory(
            code=f"PS-{half}", name=f"{'南' if half == 'S' else '北'}片派出所", type=UnitType.POLICE_STATION,
            jurisdiction=multi(X0, y, 0.04, 0.02), parent=geo.centre,
        )  # fmt: skip
    for s_index, street_key in enumerate(("W", "E")):
        x = X0 + 0.02 * s_index
        street = StreetFactory(district=district, code=f"510403{s_index + 1:03d}", boundary=multi(x, Y0, 0.02, 0.04))
        street.name = f"{'西' if street_key == 'W' else '东'}街道"
        street.save()
        geo.streets[street_key] = street
        geo.offices[street_key] = UnitFactory(
            code=f"SO-{street_key}", name=f"{street.name}办事处", type=UnitType.STREET_OFFICE,
            jurisdiction=street.boundary, parent=geo.centre,
        )  # fmt: skip
        for c_index in range(2):
            key = f"{street_key}{c_index + 1}"
            boundary = multi(x + 0.01 * c_index, Y0, 0.01, 0.04)
            community = CommunityFactory(street=street, name=f"{key}社区", boundary=boundary)
            geo.communities[key] = community
            geo.grids[key] = GridFactory(community=community, boundary=boundary)
            geo.committees[key] = UnitFactory(
                code=f"CM-{key}", name=f"{key}社区居委会", type=UnitType.COMMUNITY_COMMITTEE, jurisdiction=boundary,
                parent=geo.offices[street_key],
            )  # fmt: skip
    return geo
