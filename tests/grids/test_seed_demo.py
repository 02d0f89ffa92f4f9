"""The demo registry as a user meets it: 西区 partitioned exactly, buildings in their grids, believable people
with valid (protected) ID numbers, the demo accounts, and a load that is repeatable."""

import datetime as dt
import io
import re
import time
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test import override_settings

from grids import pii, topology
from grids.models import (
    Building,
    Community,
    District,
    Grid,
    Household,
    Person,
    Role,
    Staff,
    Street,
    Unit,
    UnitType,
)
from grids.selectors import region_stats

SEED = 20260101
WEST_STREETS = {"清香坪街道", "河门口街道", "玉泉街道", "陶家渡街道", "大宝鼎街道", "格里坪镇"}
DEMO_USERS = ["admin", "manager", "dispatcher", "police", "command"] + [f"worker{i}" for i in range(1, 10)]


def seed_demo(**options) -> str:
    out = io.StringIO()
    call_command("seed_demo", no_progress=True, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


@contextmanager
def loaded_demo(django_db_blocker, **options):
    """The small demo, committed for a whole test module, removed again afterwards."""
    with django_db_blocker.unblock(), override_settings(DEMO_SEED_STEPS=[]):
        seed_demo(scale="small", seed=SEED, **options)
        try:
            yield
        finally:
            from grids.demo.loader import clear_registry

            with transaction.atomic():
                clear_registry()
                get_user_model().objects.filter(username__in=DEMO_USERS).delete()


@pytest.fixture(scope="module")
def small_demo(django_db_setup, django_db_blocker):
    with loaded_demo(django_db_blocker):
        yield


def scalar(sql: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchone()[0]


def content_hash() -> str:
    """A fingerprint of everything the demo wrote, except ciphertexts and password hashes (salted on purpose)."""
    parts = [
        scalar(f"SELECT md5(string_agg(code || name || md5(ST_AsEWKB(boundary)), ',' ORDER BY code)) FROM {table}")
        for table in ("grids_district", "grids_street", "grids_community", "grids_grid")
    ]
    parts.append(
        scalar(
            """SELECT md5(string_agg(concat_ws('|', b.code, b.name, b.address, b.floors, b.use,
                                               md5(ST_AsEWKB(b.footprint)), g.code), ',' ORDER BY b.code))
               FROM grids_building b LEFT JOIN grids_grid g ON g.id = b.grid_id"""
        )
    )
    parts.append(
        scalar(
            """SELECT md5(string_agg(concat_ws('|', b.code, h.unit_no, h.floor, h.room, h.type, p.name, p.sex,
                                               p.birth_date, p.relation, p.residency, p.care_tags::text,
                                               p.id_number_masked, p.id_number_digest, p.phone_masked,
                                               p.phone_digest), ',' ORDER BY p.id_number_digest))
               FROM grids_person p JOIN grids_household h ON h.id = p.household_id
               JOIN grids_building b ON b.id = h.building_id"""
        )
    )
    parts.append(
        scalar(
            """SELECT md5(string_agg(concat_ws('|', u.code, u.name, u.type, p.code, u.phone,
                                               md5(ST_AsEWKB(u.jurisdiction))), ',' ORDER BY u.code))
               FROM grids_unit u LEFT JOIN grids_unit p ON p.id = u.parent_id"""
        )
    )
    parts.append(
        scalar(
            """SELECT md5(string_agg(concat_ws('|', a.username, s.role, u.code,
                   (SELECT string_agg(g.code, ',' ORDER BY g.code) FROM grids_staff_grids sg
                    JOIN grids_grid g ON g.id = sg.grid_id WHERE sg.staff_id = s.id)), ',' ORDER BY a.username))
               FROM grids_staff s JOIN auth_user a ON a.id = s.user_id LEFT JOIN grids_unit u ON u.id = s.unit_id"""
        )
    )
    return "/".join(parts)


# -- the shape of the registry ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_small_demo_has_every_level(small_demo):
    district = District.objects.get()
    assert (district.code, district.name) == ("510403", "西区")
    assert set(Street.objects.values_list("name", flat=True)) == WEST_STREETS
    assert sorted(Street.objects.values_list("code", flat=True)) == [f"510403{i:03d}" for i in range(1, 7)]
    assert Community.objects.count() == 12
    assert not Community.objects.filter(grids__isnull=True).exists()
    assert Grid.objects.count() >= 18
    assert Building.objects.count() > 1000
    households, people = Household.objects.count(), Person.objects.count()
    assert households > 4000
    assert 2.4 < people / households < 3.1
    grid = Grid.objects.order_by("code").first()
    assert re.fullmatch(r"第\d+网格", grid.name.removeprefix(grid.community.name))


@pytest.mark.django_db
def test_every_building_lies_wholly_in_its_grid(small_demo):
    assert not Building.objects.filter(grid__isnull=True).exists()
    assert (
        scalar(
            """SELECT count(*) FROM grids_building b JOIN grids_grid g ON g.id = b.grid_id
           WHERE NOT ST_Covers(g.boundary, b.footprint)"""
        )
        == 0
    )
    assert topology.buildings_overlapping() == []


@pytest.mark.django_db
def test_streets_partition_the_district_and_grids_nest(small_demo):
    district_area = scalar("SELECT ST_Area(boundary::geography) FROM grids_district")
    streets_area = scalar("SELECT sum(ST_Area(boundary::geography)) FROM grids_street")
    assert abs(streets_area - district_area) / district_area < 0.001
    assert 100e6 < district_area < 160e6  # the real outline of 西区, about 130 km²
    for table in ("grids_street", "grids_community", "grids_grid"):
        assert topology.overlaps(table) == [], table
    assert topology.outside_parent("grids_grid", "grids_community", "community_id") == []
    assert topology.outside_parent("grids_community", "grids_street", "street_id") == []
    assert topology.gaps("grids_street", "grids_district", "district_id") == []


@pytest.mark.django_db
def test_check_topology_passes(small_demo):
    out = io.StringIO()
    call_command("check_topology", stdout=out)
    assert "topology OK" in out.getvalue()


@pytest.mark.django_db
def test_grids_are_sized_by_households_not_area(small_demo):
    rows = scalar(
        """SELECT json_agg(json_build_array(a, n)) FROM (
               SELECT ST_Area(g.boundary::geography) a, count(h.id) n FROM grids_grid g
               JOIN grids_building b ON b.grid_id = g.id JOIN grids_household h ON h.building_id = b.id
               GROUP BY g.id) x"""
    )
    areas, counts = [a for a, _ in rows], [n for _, n in rows]
    assert all(100 <= n <= 700 for n in counts), counts
    assert max(areas) / min(areas) > 10  # mountain grids are large, town grids small


# -- people ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_id_numbers_are_valid_and_agree_with_sex_and_birth_date(small_demo):
    people = list(
        Person.objects.values_list("id_number_cipher", "id_number_digest", "id_number_masked", "sex", "birth_date")
    )
    floating_area = 0
    for cipher, digest, masked, sex, birth in people:
        number = pii.decrypt(cipher)
        assert pii.normalize_id_number(number) == number  # 18 characters, valid MOD 11-2 check character
        assert pii.digest(number) == digest and pii.mask_id_number(number) == masked
        assert (int(number[16]) % 2 == 1) == (sex == "M")
        assert dt.datetime.strptime(number[6:14], "%Y%m%d").date() == birth
        floating_area += number[:6] != "510403"
    assert len({digest for _, digest, *_ in people}) == len(people)
    assert 0.1 < floating_area / len(people) < 0.4


@pytest.mark.django_db
def test_people_look_like_an_ageing_industrial_town(small_demo):
    people = Person.objects.count()
    today = dt.date(2026, 1, 1)
    elderly = Person.objects.filter(birth_date__lte=today.replace(year=1966)).count()
    children = Person.objects.filter(birth_date__gt=today.replace(year=2008)).count()
    floating = Person.objects.filter(residency="floating").count()
    assert 0.17 < elderly / people < 0.35
    assert 0.08 < children / people < 0.27
    assert 0.1 < floating / people < 0.3
    surnames = scalar(
        "SELECT array_agg(s ORDER BY n DESC) FROM (SELECT left(name, 1) s, count(*) n FROM grids_person GROUP BY 1) x"
    )
    assert set(surnames[:5]) <= {"王", "李", "张", "刘", "陈", "杨"}
    assert Person.objects.filter(care_tags__contains=["elderly_alone"]).exists()
    alone = Person.objects.filter(care_tags__contains=["elderly_alone"]).values_list("household_id", flat=True)
    assert not Person.objects.filter(household_id__in=alone).exclude(care_tags__contains=["elderly_alone"]).exists()
    assert Person.objects.filter(care_tags__contains=["subsistence"]).exists()
    assert Person.objects.filter(care_tags__contains=["disabled"]).exists()
    with_phone = Person.objects.exclude(phone_masked="").values_list("phone_cipher", flat=True)[:500]
    assert all(re.fullmatch(r"1[3-9]\d{9}", pii.decrypt(c)) for c in with_phone)
    names = Person.objects.values_list("name", flat=True)[:2000]
    assert all(2 <= len(n) <= 3 for n in names)


@pytest.mark.django_db
def test_dwellings_and_buildings_are_a_believable_mix(small_demo):
    uses = dict(
        scalar(
            "SELECT json_agg(json_build_array(use, n)) FROM (SELECT use, count(*) n FROM grids_building GROUP BY 1) x"
        )
    )
    assert uses["residential"] > uses.get("commercial", 0) > 0
    assert Building.objects.filter(households__isnull=True).exists()  # shops, schools, workshops
    types = set(Household.objects.values_list("type", flat=True).distinct())
    assert types >= {"family", "rental", "vacant"}
    assert Household.objects.filter(type="family").count() > 0.7 * Household.objects.count()
    assert not Person.objects.filter(household__type="vacant").exists()
    # Apartment slabs of 5-7 floors with numbered units; the database keeps (unit, floor, room) unique.
    assert Household.objects.filter(unit_no="2", floor__gte=5, room__regex=r"^[5-7]0[12]$").exists()


@pytest.mark.django_db
def test_no_plain_id_number_or_phone_anywhere_in_the_database(small_demo):
    sample = list(Person.objects.exclude(phone_cipher="").order_by("id")[:20])
    secrets = [pii.decrypt(p.id_number_cipher) for p in sample] + [pii.decrypt(p.phone_cipher) for p in sample]
    patterns = [f"%{s}%" for s in secrets]
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT table_name, column_name FROM information_schema.columns
               WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'jsonb', 'json', 'ARRAY')"""
        )
        columns = cursor.fetchall()
        assert ("grids_person", "name") in columns
        hits = []
        for table, column in columns:
            cursor.execute(
                f'SELECT count(*) FROM "{table}" WHERE "{column}"::text LIKE ANY (%s)',
                [patterns],
            )
            if cursor.fetchone()[0]:
                hits.append((table, column))
    assert hits == []
    # Also the whole person row as text, every column at once.
    assert scalar("SELECT count(*) FROM grids_person p WHERE p::text LIKE ANY (%s)", [patterns]) == 0


# -- units and accounts ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_units_cover_their_areas_and_police_precincts_cross_streets(small_demo):
    by_type = {t: Unit.objects.filter(type=t).count() for t in UnitType.values}
    assert by_type[UnitType.COMMAND_CENTRE] == 1
    assert by_type[UnitType.DEPARTMENT] >= 8
    assert by_type[UnitType.STREET_OFFICE] == 6
    assert by_type[UnitType.COMMUNITY_COMMITTEE] == Community.objects.count()
    assert 5 <= by_type[UnitType.POLICE_STATION] <= 7
    centre = Unit.objects.get(type=UnitType.COMMAND_CENTRE)
    assert not Unit.objects.filter(type=UnitType.DEPARTMENT).exclude(parent=centre).exists()
    bureau = Unit.objects.get(type=UnitType.DEPARTMENT, name__contains="公安")
    assert not Unit.objects.filter(type=UnitType.POLICE_STATION).exclude(parent=bureau).exists()
    office = Unit.objects.get(code="510403001-JDB")
    assert office.name == "清香坪街道办事处"
    assert Unit.objects.get(code="510403001001-JWH").parent == office
    # Precincts partition the district …
    district_area = scalar("SELECT ST_Area(boundary::geography) FROM grids_district")
    precincts = scalar("SELECT sum(ST_Area(jurisdiction::geography)) FROM grids_unit WHERE type = 'police_station'")
    assert abs(precincts - district_area) / district_area < 0.001
    # … but not along street lines: some precinct reaches well into two or more streets.
    crossing = scalar(
        """SELECT count(*) FROM grids_unit u WHERE u.type = 'police_station' AND (
               SELECT count(*) FROM grids_street s WHERE s.boundary && u.jurisdiction
               AND ST_Area(ST_Intersection(s.boundary, u.jurisdiction)) > 0.05 * ST_Area(u.jurisdiction)) >= 2"""
    )
    assert crossing >= 2


@pytest.mark.django_db
def test_demo_accounts_have_their_roles_units_and_grids(small_demo):
    User = get_user_model()
    staff = {s.user.username: s for s in Staff.objects.select_related("user", "unit").prefetch_related("grids")}
    assert set(DEMO_USERS) <= set(staff)
    admin = staff["admin"]
    assert admin.role == Role.ADMIN and admin.user.is_superuser and admin.user.is_staff
    assert staff["manager"].role == Role.MANAGER
    assert staff["manager"].street is None and staff["manager"].community is None
    assert not staff["manager"].user.is_superuser
    assert staff["dispatcher"].role == Role.DISPATCHER
    assert staff["dispatcher"].unit.name == "清香坪街道办事处"
    assert staff["police"].role == Role.DISPATCHER
    assert staff["police"].unit.type == UnitType.POLICE_STATION
    assert staff["command"].role == Role.DISPATCHER
    assert staff["command"].unit.name == "西区网格化服务管理指挥中心"
    assert staff["command"].unit.type == UnitType.COMMAND_CENTRE
    held = []
    for i in range(1, 10):
        worker = staff[f"worker{i}"]
        grids = list(worker.grids.order_by("code"))
        assert worker.role == Role.WORKER and 1 <= len(grids) <= 2
        assert {g.community_id for g in grids} == {grids[0].community_id}
        assert worker.unit.code == f"{grids[0].community.code}-JWH"
        held += [g.code for g in grids]
    assert len(held) == len(set(held))
    for username in ("admin", "worker1"):
        assert User.objects.get(username=username).check_password(settings.DEMO_PASSWORD)


# -- the command -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_if_empty_returns_at_once_and_changes_nothing(small_demo):
    before = content_hash()
    started = time.monotonic()
    out = seed_demo(scale="district", if_empty=True)
    assert time.monotonic() - started < 1
    assert "already there" in out
    assert content_hash() == before


@pytest.mark.django_db
def test_refuses_to_load_over_a_registry_without_replace(small_demo):
    with pytest.raises(CommandError, match="--replace"):
        seed_demo(scale="small")


@pytest.mark.django_db
def test_same_seed_gives_the_same_content_and_another_seed_does_not(small_demo):
    before = content_hash()
    with override_settings(DEMO_SEED_STEPS=[]):
        seed_demo(scale="small", seed=SEED, replace=True)
        assert content_hash() == before
        seed_demo(scale="small", seed=SEED + 1, replace=True)
        assert content_hash() != before


CALLS = []


def record_step(*, scale, seed, stdout):
    CALLS.append((scale, seed, Street.objects.count()))
    stdout.write("recorded")


@pytest.mark.django_db
def test_replace_runs_the_configured_demo_steps_after_the_registry(small_demo):
    CALLS.clear()
    with override_settings(DEMO_SEED_STEPS=["tests.grids.test_seed_demo.record_step"]):
        out = seed_demo(scale="small", seed=7, replace=True)
    assert CALLS == [("small", 7, 6)]
    assert "recorded" in out


@pytest.mark.django_db
def test_replace_keeps_rows_of_other_apps_that_do_not_depend_on_the_registry(small_demo):
    from cases.models import Category, RoutingRule

    category = Category.objects.filter(children__isnull=True).first()
    if category is None:
        pytest.skip("no case categories loaded")
    general = RoutingRule.objects.create(category=category, unit_type=UnitType.STREET_OFFICE, note="general")
    local = RoutingRule.objects.create(
        category=category, unit_type=UnitType.STREET_OFFICE, street=Street.objects.first(), note="local"
    )
    with override_settings(DEMO_SEED_STEPS=[]):
        seed_demo(scale="small", seed=SEED, replace=True)
    assert RoutingRule.objects.filter(pk=general.pk).exists()
    assert not RoutingRule.objects.filter(pk=local.pk).exists()


# -- district scale --------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db
def test_district_scale(small_demo):
    with override_settings(DEMO_SEED_STEPS=[]):
        started = time.monotonic()
        seed_demo(scale="district", replace=True)
        seconds = time.monotonic() - started
    print(f"\nseed_demo --scale district (registry): {seconds:.1f} s")
    assert Community.objects.count() >= 30
    assert Grid.objects.count() >= 150
    assert 9_000 <= Building.objects.count() <= 11_000
    assert 50_000 <= Household.objects.count() <= 60_000
    assert 140_000 <= Person.objects.count() <= 160_000
    counts = scalar(
        """SELECT array_agg(n) FROM (SELECT count(h.id) n FROM grids_grid g
           JOIN grids_building b ON b.grid_id = g.id JOIN grids_household h ON h.building_id = b.id GROUP BY g.id) x"""
    )
    assert len(counts) == Grid.objects.count()  # every grid has households
    assert all(100 <= n <= 700 for n in counts), sorted(counts)
    assert not Building.objects.filter(grid__isnull=True).exists()
    assert topology.check_topology() == []
    # 一图网尽社区情: a street's figures are the sum of its grids'.
    for street in Street.objects.all():
        whole = region_stats(level="street", region_id=street.pk)
        parts = [region_stats(level="grid", region_id=g.pk) for g in Grid.objects.filter(community__street=street)]
        for figure in ("buildings", "households", "people"):
            assert whole[figure] == sum(p[figure] for p in parts), (street.name, figure)
        for tag, count in whole["by_care_tag"].items():
            assert count == sum(p["by_care_tag"][tag] for p in parts), (street.name, tag)
    # The workers all hold grids of 清香坪街道, where the dispatcher's desk is.
    assert not Grid.objects.filter(workers__role=Role.WORKER).exclude(code__startswith="510403001").exists()
