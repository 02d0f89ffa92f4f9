"""信息采集: a grid worker's registry change requests from the handheld, idempotent by client UUID."""

import uuid

import pytest
from django.db import connection

from grids import pii
from grids.models import ChangeState, RegistryChange, Role
from tests.concurrency import post_at_once
from tests.factories import (
    ORIGIN,
    BuildingFactory,
    GridFactory,
    HouseholdFactory,
    PersonFactory,
    UnitFactory,
    fake_id_number,
    multi_square,
    square,
)

X, Y = ORIGIN
URL = "/api/mobile/v1/registry-changes"
NEW_ID = fake_id_number(123, birth="19900215")  # sequence 123: odd, male
NEW_PHONE = "13912345678"


@pytest.fixture
def grid(db):
    return GridFactory(boundary=multi_square(X, Y, 0.002))


@pytest.fixture
def building(grid):
    return BuildingFactory(footprint=square(X + 0.0005, Y + 0.0005, 0.0003))


@pytest.fixture
def household(building):
    return HouseholdFactory(building=building, unit_no="1", floor=3, room="301")


@pytest.fixture
def worker(client_for, grid):
    client = client_for(Role.WORKER)
    client.staff.grids.set([grid])
    return client


def new_person(household, **proposed):
    return {
        "client_uuid": str(uuid.uuid4()),
        "kind": "add_person",
        "building": household.building_id,
        "household": household.pk,
        "captured_at": "2026-12-01T09:30:00+08:00",
        "proposed": {
            "name": "李娟",
            "sex": "M",
            "birth_date": "1990-02-15",
            "id_number": NEW_ID,
            "phone": NEW_PHONE,
            "relation": "子",
            "residency": "floating",
            "care_tags": ["veteran"],
            **proposed,
        },
    }


def test_a_new_person_is_received_pending_with_id_number_and_phone_masked(worker, household):
    body = new_person(household)
    response = worker.post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    change = response.json()
    assert change["state"] == "pending" and change["kind"] == "add_person"
    assert change["household"]["id"] == household.pk
    assert change["proposed"]["id_number"] == "510403********1234"[:6] + "*" * 8 + NEW_ID[14:]
    assert change["proposed"]["phone"] == "139****5678"
    assert NEW_ID not in response.content.decode() and NEW_PHONE not in response.content.decode()

    listed = worker.get(URL).json()
    assert [item["client_uuid"] for item in listed] == [body["client_uuid"]]
    one = worker.get(f"{URL}/{body['client_uuid']}")
    assert one.status_code == 200 and one.json() == change
    assert RegistryChange.objects.get().state == ChangeState.PENDING


def errors_of(response) -> dict:
    """The field messages of a 400 (problem details: nested fields as dotted paths)."""
    assert response.status_code == 400, (response.status_code, response.content)
    return response.json()["errors"]


@pytest.mark.parametrize(
    ("proposed", "field", "words"),
    [
        ({"id_number": NEW_ID[:17] + ("0" if NEW_ID[17] != "0" else "1")}, "id_number", "校验位"),
        ({"id_number": "51040319900215"}, "id_number", "18"),
        ({"phone": "1391234567"}, "phone", "电话"),
        ({"phone": "23912345678"}, "phone", "电话"),
        ({"birth_date": "1990-02-16"}, "birth_date", "1990-02-15"),
        ({"sex": "F"}, "sex", "性别"),
        ({"care_tags": ["rich"]}, "care_tags.0", ""),
        ({"residency": None}, "residency", ""),
    ],
)
def test_bad_person_fields_are_400_naming_the_field_and_nothing_is_written(worker, household, proposed, field, words):
    body = new_person(household, **proposed)
    if proposed.get("residency", "") is None:
        del body["proposed"]["residency"]
    errors = errors_of(worker.post(URL, body, format="json"))
    assert list(errors) == [f"proposed.{field}"]
    assert words in " ".join(errors[f"proposed.{field}"])
    assert not RegistryChange.objects.exists()


def test_a_building_outside_the_workers_grids_is_refused(worker, household):
    elsewhere = GridFactory(boundary=multi_square(X + 0.01, Y, 0.002))
    outside = HouseholdFactory(building=BuildingFactory(footprint=square(X + 0.0105, Y + 0.0005, 0.0003)))
    outside.building.refresh_from_db()
    assert outside.building.grid == elsewhere
    errors = errors_of(worker.post(URL, new_person(outside), format="json"))
    assert list(errors) == ["building"] and "网格" in errors["building"][0]
    unknown = new_person(household) | {"building": 99999999}
    assert list(errors_of(worker.post(URL, unknown, format="json"))) == ["building"]
    assert not RegistryChange.objects.exists()


def test_a_correction_must_name_a_record_of_that_building(worker, household, building):
    person = PersonFactory(household=household)
    other_building = BuildingFactory(footprint=square(X + 0.0012, Y + 0.0012, 0.0003))
    stranger = PersonFactory(household=HouseholdFactory(building=other_building))
    base = {"client_uuid": str(uuid.uuid4()), "building": building.pk, "captured_at": "2026-12-01T09:30:00+08:00"}

    no_target = base | {"kind": "correct_person", "proposed": {"name": "王五"}}
    assert list(errors_of(worker.post(URL, no_target, format="json"))) == ["person"]
    elsewhere = no_target | {"person": stranger.pk}
    assert "楼栋" in errors_of(worker.post(URL, elsewhere, format="json"))["person"][0]
    no_household = base | {"kind": "correct_household", "proposed": {"room": "302"}}
    assert list(errors_of(worker.post(URL, no_household, format="json"))) == ["household"]
    wrong_household = no_household | {"household": stranger.household_id}
    assert list(errors_of(worker.post(URL, wrong_household, format="json"))) == ["household"]
    moved_out = base | {"kind": "person_moved_out", "person": stranger.pk}
    assert list(errors_of(worker.post(URL, moved_out, format="json"))) == ["person"]
    person_for_household = no_household | {"household": household.pk, "person": person.pk}
    assert list(errors_of(worker.post(URL, person_for_household, format="json"))) == ["person"]
    household_for_person = no_target | {"person": person.pk, "household": household.pk}
    assert list(errors_of(worker.post(URL, household_for_person, format="json"))) == ["household"]
    nothing_new = base | {"kind": "correct_person", "person": person.pk, "proposed": {}}
    assert list(errors_of(worker.post(URL, nothing_new, format="json"))) == ["proposed"]
    assert not RegistryChange.objects.exists()


def test_a_correction_is_checked_against_the_record_it_corrects(worker, household):
    person = PersonFactory(household=household, id_number=fake_id_number(8, birth="19800101"), birth_date="1980-01-01")
    body = {
        "client_uuid": str(uuid.uuid4()),
        "kind": "correct_person",
        "building": household.building_id,
        "person": person.pk,
        "captured_at": "2026-12-01T09:30:00+08:00",
        "proposed": {"birth_date": "1981-01-01"},
    }
    assert "1980-01-01" in errors_of(worker.post(URL, body, format="json"))["proposed.birth_date"][0]
    PersonFactory(household=household, id_number=fake_id_number(9, birth="19800101"))
    taken = body | {"proposed": {"id_number": fake_id_number(9, birth="19800101")}}
    assert "已登记" in errors_of(worker.post(URL, taken, format="json"))["proposed.id_number"][0]
    household_field = body | {"proposed": {"room": "302"}}
    assert list(errors_of(worker.post(URL, household_field, format="json"))) == ["proposed.room"]
    fine = body | {"proposed": {"phone": ""}}
    assert worker.post(URL, fine, format="json").status_code == 201


def test_a_new_household_must_be_a_new_dwelling_within_the_buildings_floors(worker, household, building):
    body = {
        "client_uuid": str(uuid.uuid4()),
        "kind": "add_household",
        "building": building.pk,
        "captured_at": "2026-12-01T09:30:00+08:00",
        "proposed": {"unit_no": "1", "floor": 3, "room": "301"},
    }
    assert "已有" in errors_of(worker.post(URL, body, format="json"))["proposed.room"][0]
    too_high = body | {"proposed": {"floor": building.floors + 1, "room": "x"}}
    assert list(errors_of(worker.post(URL, too_high, format="json"))) == ["proposed.floor"]
    new = worker.post(
        URL, body | {"proposed": {"unit_no": "2", "floor": 3, "room": "301", "type": "rental"}}, format="json"
    )
    assert new.status_code == 201 and new.json()["proposed"] == {
        "unit_no": "2",
        "floor": 3,
        "room": "301",
        "type": "rental",
    }


def test_a_retry_answers_the_first_body_and_other_content_is_409_naming_it(worker, household):
    body = new_person(household)
    first = worker.post(URL, body, format="json")
    again = worker.post(URL, body, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()

    other = new_person(household, phone="13900000000") | {"client_uuid": body["client_uuid"]}
    conflict = worker.post(URL, other, format="json")
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "client_uuid_conflict"
    assert conflict.json()["existing"] == {
        "id": first.json()["id"],
        "client_uuid": body["client_uuid"],
        "kind": "add_person",
        "state": "pending",
    }
    assert RegistryChange.objects.count() == 1


def test_client_uuids_are_the_workers_own(worker, client_for, grid, household):
    body = new_person(household)
    assert worker.post(URL, body, format="json").status_code == 201
    colleague = client_for(Role.WORKER)
    colleague.staff.grids.set([grid])
    assert colleague.get(f"{URL}/{body['client_uuid']}").status_code == 404
    assert colleague.get(URL).json() == []
    # The same UUID from another device of another worker is another request (the ID number is then taken by
    # nobody yet: both wait for the desk).
    assert colleague.post(URL, body, format="json").status_code == 201
    assert RegistryChange.objects.count() == 2


def test_only_grid_workers_send_requests(client_for, household):
    dispatcher = client_for(Role.DISPATCHER, unit=UnitFactory())
    assert dispatcher.post(URL, new_person(household), format="json").status_code == 403
    assert dispatcher.get(URL).status_code == 403


def test_the_list_is_newest_first(worker, household, building):
    first = worker.post(URL, new_person(household), format="json").json()
    moved = {
        "client_uuid": str(uuid.uuid4()),
        "kind": "person_moved_out",
        "building": building.pk,
        "person": PersonFactory(household=household).pk,
        "note": "已搬走",
        "captured_at": "2026-12-01T10:30:00+08:00",
    }
    second = worker.post(URL, moved, format="json").json()
    assert [item["id"] for item in worker.get(URL).json()] == [second["id"], first["id"]]


def test_id_numbers_and_phones_are_never_in_plain_text_in_the_database(worker, household):
    worker.post(URL, new_person(household), format="json")
    with connection.cursor() as cursor:
        cursor.execute("SELECT t::text FROM grids_registrychange t")
        (row,) = cursor.fetchone()
    assert NEW_ID not in row and NEW_ID[6:14] + NEW_ID[14:] not in row
    assert NEW_PHONE not in row
    change = RegistryChange.objects.get()
    assert pii.decrypt(change.id_number_cipher) == NEW_ID and pii.decrypt(change.phone_cipher) == NEW_PHONE


@pytest.mark.django_db(transaction=True)
def test_identical_requests_sent_at_once_make_one_request(client_for, reference_data):
    grid = GridFactory(boundary=multi_square(X, Y, 0.002))
    household = HouseholdFactory(building=BuildingFactory(footprint=square(X + 0.0005, Y + 0.0005, 0.0003)))
    worker = client_for(Role.WORKER)
    worker.staff.grids.set([grid])
    statuses = post_at_once(credentials=worker._credentials, url=URL, payload=new_person(household), times=6)
    assert sorted(statuses) == [200] * 5 + [201]
    assert RegistryChange.objects.count() == 1
