"""The small world the access matrix runs in: one account per role and, for each, objects inside and outside its scope.

Built on tests/cases/geo.py (streets W and E, communities/grids W1 W2 E1 E2, street offices, police N and S):

    +------+------+------+------+
    | W1N  | W2N  | E1N  |      |   north half: 派出所 N (the police dispatcher's precinct)
    +------+------+------+------+
    |      |      |      | E2S  |   south half: 派出所 S
    +------+------+------+------+
      west street  |  east street

- worker: grid W1.  dispatcher: the W street office.  police: precinct N.  centre: the command centre (every case;
  its jurisdiction is the district).  manager: street W (figures only).  admin: a superuser.  anonymous: no account.
- A building with two residents in each of W1N, W2N, E1N and E2S; every resident's name, masked ID number and
  masked phone is a unique canary.
  W1N is inside every scoped role's scope, E2S outside all of them; W2N and E1N tell the scopes apart.
- Cases (made with cases.services.create_case, so routed as in production) with canary descriptions: street-office
  and police cases in W1N, a street-office case in W2N, street-office and police cases in E2S, and a case the worker
  reported in E1N (outside their grid, but their own report).
- Photos on the report events of three cases, an Open311 key and one Open311 request with a `media` photo.

Who may see which canary is written down here (`may_see`), from the data alone (grids, jurisdictions, responsible
and co-handling units, reporters, streets) and not from the product's selectors, so that the matrix checks them.
"""

import uuid
from dataclasses import dataclass, field

from django.contrib.auth.models import Permission
from django.contrib.gis.geos import Point
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from cases import services as case_services
from cases.models import Case, Category, Source
from grids.models import Building, ChangeKind, Person, Role
from grids.services import propose_change
from mobileapi.models import Open311Key
from mobileapi.open311.services import submit_request
from mobileapi.services import store_photo
from tests.cases.geo import build_geography
from tests.factories import (
    BuildingFactory,
    HouseholdFactory,
    PersonFactory,
    StaffFactory,
    UserFactory,
    fake_id_number,
    square,
)
from tests.mobileapi.test_photos import camera_jpeg

ROLES = ("anonymous", "worker", "dispatcher", "police", "centre", "manager", "admin")
SCOPED_ROLES = ("worker", "dispatcher", "police", "centre", "manager")

STREET_OFFICE_CATEGORY = "BJ0101"  # 上水井盖: handled by the street office (a public 部件 category)
POLICE_CATEGORY = "SH0201"  # 可疑人员物品: handled by the police station (社会治理, never public)
OPEN311_KEY = "access-matrix-open311-key"

QUADRANTS = {"W1N": ("W1", "N"), "W2N": ("W2", "N"), "E1N": ("E1", "N"), "E2S": ("E2", "S")}


@dataclass(frozen=True)
class Canary:
    text: str
    kind: str  # "resident" or "case"
    obj: object


@dataclass
class World:
    geo: object
    users: dict = field(default_factory=dict)  # role -> User (no entry for anonymous)
    other_worker: object = None  # a worker of grid E2, reporter of cases that are not the matrix worker's
    buildings: dict = field(default_factory=dict)  # quadrant -> Building
    people: dict = field(default_factory=dict)  # quadrant -> [Person, Person]
    id_numbers: list = field(default_factory=list)  # every resident's plain ID number
    phones: list = field(default_factory=list)  # and phone
    cases: dict = field(default_factory=dict)  # key -> Case
    photos: dict = field(default_factory=dict)  # case key -> sha256 of the photo on its report event
    canaries: list = field(default_factory=list)
    open311_case: object = None
    open311_photo: str = ""  # sha256 of the photo posted with it as `media`
    registry_changes: dict = field(default_factory=dict)  # quadrant -> a pending RegistryChange in its building

    # --- scope, written down from the data --------------------------------------------------------------------

    def unit_of(self, role: str):
        units = {"dispatcher": self.geo.offices["W"], "police": self.geo.police["N"], "centre": self.geo.centre}
        return units.get(role)

    def may_see_resident(self, role: str, person: Person) -> bool:
        building = person.household.building
        if role == "admin":
            return True
        if role == "worker":
            return building.grid_id == self.geo.grids["W1"].pk
        if role in ("dispatcher", "police", "centre"):
            return self.unit_of(role).jurisdiction.intersects(building.footprint)
        return False  # managers see figures only; anonymous nothing

    def may_see_case(self, role: str, case: Case) -> bool:
        if role == "admin":
            return True
        if role == "worker":
            user = self.users["worker"]
            return case.grid_id == self.geo.grids["W1"].pk or case.reporter_id == user.pk
        if role == "centre":
            return True  # a command centre sees every case (DESIGN §1, issue 7)
        if role in ("dispatcher", "police"):
            unit = self.unit_of(role)
            return case.responsible_unit_id == unit.pk or unit.pk in {u.pk for u in case.co_units.all()}
        if role == "manager":
            return case.street_id == self.geo.streets["W"].pk
        return False

    def may_see(self, role: str, canary: Canary) -> bool:
        if canary.kind == "resident":
            return self.may_see_resident(role, canary.obj)
        return self.may_see_case(role, canary.obj)

    # --- objects in and out of a role's scope -----------------------------------------------------------------

    def building(self, role: str, scope: str) -> Building:
        return self.buildings["W1N" if scope == "in" else "E2S"]

    def person(self, role: str, scope: str) -> Person:
        return self.people["W1N" if scope == "in" else "E2S"][0]

    def registry_change(self, role: str, scope: str):
        return self.registry_changes["W1N" if scope == "in" else "E2S"]

    def case_key(self, role: str, scope: str) -> str:
        if scope == "out":
            return "E2S-office"
        return "W1N-police" if role == "police" else "W1N-office"

    def case(self, role: str, scope: str) -> Case:
        return self.cases[self.case_key(role, scope)]

    def grid(self, role: str, scope: str):
        return self.geo.grids["W1" if scope == "in" else "E2"]

    def canaries_of(self, *objects) -> list[str]:
        wanted = {id(obj) for obj in objects}
        return [canary.text for canary in self.canaries if id(canary.obj) in wanted]

    @property
    def resident_canaries(self) -> list[str]:
        return [canary.text for canary in self.canaries if canary.kind == "resident"]


def _case(world: World, key: str, code: str, *, reporter, client_uuid=None) -> Case:
    community, half = QUADRANTS[key.split("-")[0]]
    point = world.geo.point(community, half)
    description = f"案情{key}哨兵"  # canary: unique, and no canary is a substring of another
    photo, _created = store_photo(data=camera_jpeg(lon=point.x, lat=point.y), uploader=reporter)
    case, _created = case_services.create_case(
        category=Category.objects.get(code=code),
        point=Point(point.x + 0.0005, point.y + 0.0005, srid=4326),
        description=description,
        address=f"测试路{key}",
        source=Source.HANDHELD,
        actor=reporter,
        reporter=reporter,
        client_uuid=client_uuid,
        attachments=[photo.sha256],
    )
    case = Case.objects.prefetch_related("co_units").get(pk=case.pk)
    world.cases[key] = case
    world.photos[key] = photo.sha256
    world.canaries.append(Canary(description, "case", case))
    return case


def build_world() -> World:
    geo = build_geography()
    world = World(geo=geo)
    reveal = Permission.objects.get(codename="reveal_person", content_type__app_label="grids")

    def account(role_key: str, **staff):
        user = UserFactory(username=f"access-{role_key}")
        StaffFactory(user=user, **staff)
        return user

    world.users["worker"] = account("worker", role=Role.WORKER, grids=[geo.grids["W1"]])
    world.users["dispatcher"] = account("dispatcher", role=Role.DISPATCHER, unit=geo.offices["W"])
    world.users["police"] = account("police", role=Role.DISPATCHER, unit=geo.police["N"])
    world.users["centre"] = account("centre", role=Role.DISPATCHER, unit=geo.centre)
    world.users["manager"] = account("manager", role=Role.MANAGER, street=geo.streets["W"])
    world.users["admin"] = UserFactory(username="access-admin", is_staff=True, is_superuser=True)
    # The reveal permission for the dispatcher (so scope decides) and the manager (so the role decides: never).
    world.users["dispatcher"].user_permissions.add(reveal)
    world.users["manager"].user_permissions.add(reveal)
    world.other_worker = account("other-worker", role=Role.WORKER, grids=[geo.grids["E2"]])

    serial = 900
    for quadrant, (community, half) in QUADRANTS.items():
        point = geo.point(community, half)
        building = BuildingFactory(
            code=f"B-ACCESS-{quadrant}",
            name=f"{quadrant}号楼",
            address=f"测试大道{quadrant}",
            footprint=square(point.x - 0.0002, point.y - 0.0002, 0.0004),
        )
        building.refresh_from_db()  # the grid is assigned by the database
        assert building.grid_id == geo.grids[community].pk, quadrant
        world.buildings[quadrant] = building
        household = HouseholdFactory(building=building, room=f"{quadrant}-101", floor=1)
        for index in range(2):
            serial += 1
            id_number = fake_id_number(serial, birth="19800101")
            phone = f"139{serial:08d}"
            person = PersonFactory(
                household=household,
                name=f"居民{quadrant}{'甲乙'[index]}哨兵",
                id_number=id_number,
                phone=phone,
                care_tags=["elderly_alone"] if index == 0 else [],
            )
            person = Person.objects.select_related("household__building").get(pk=person.pk)
            world.people.setdefault(quadrant, []).append(person)
            world.id_numbers.append(id_number)
            world.phones.append(phone)
            # Its name, and its masked ID number and phone: managers get no resident-level record, masked or not.
            for text in (person.name, person.id_number_masked, person.phone_masked):
                world.canaries.append(Canary(text, "resident", person))

    other = world.other_worker
    _case(world, "W1N-office", STREET_OFFICE_CATEGORY, reporter=other, client_uuid=uuid.uuid4())
    _case(world, "W1N-police", POLICE_CATEGORY, reporter=other)
    _case(world, "W2N-office", STREET_OFFICE_CATEGORY, reporter=other)
    _case(world, "E2S-office", STREET_OFFICE_CATEGORY, reporter=other)
    _case(world, "E2S-police", POLICE_CATEGORY, reporter=other)
    _case(world, "E1N-worker", STREET_OFFICE_CATEGORY, reporter=world.users["worker"], client_uuid=uuid.uuid4())

    # Routing is the product's: check it went where this world needs it to.
    expected_units = {
        "W1N-office": geo.offices["W"],
        "W1N-police": geo.police["N"],
        "W2N-office": geo.offices["W"],
        "E2S-office": geo.offices["E"],
        "E2S-police": geo.police["S"],
        "E1N-worker": geo.offices["E"],
    }
    for key, unit in expected_units.items():
        assert world.cases[key].responsible_unit_id == unit.pk, (key, world.cases[key].responsible_unit)

    # 信息采集 requests waiting at the desk: one in the street office W's area (W1N), one outside it (E2S).
    for quadrant, worker in (("W1N", world.users["worker"]), ("E2S", other)):
        world.registry_changes[quadrant], _made = propose_change(
            worker=worker,
            client_uuid=uuid.uuid4(),
            kind=ChangeKind.ADD_HOUSEHOLD,
            building=world.buildings[quadrant].pk,
            proposed={"floor": 2, "room": f"{quadrant}-201"},
            captured_at=timezone.now(),
        )

    api_key, _raw = Open311Key.issue(name="access matrix", key=OPEN311_KEY)
    point = geo.point("W1", "S")
    world.open311_case = submit_request(
        key=api_key,
        service_code=Category.objects.get(code=STREET_OFFICE_CATEGORY),
        lat=point.y,
        long=point.x,
        description="公开的井盖诉求",
        media=SimpleUploadedFile("media.jpg", camera_jpeg(lon=point.x, lat=point.y, size=(640, 480))),
    )
    world.open311_photo = world.open311_case.events.get(action="report").attachments[0]
    return world
