"""信息采集: a grid worker's registry change requests from the handheld, idempotent by client UUID."""

import uuid

import pytest

from grids.models import ChangeState, RegistryChange, Role
from tests.factories import ORIGIN, BuildingFactory, GridFactory, HouseholdFactory, fake_id_number, multi_square, square

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
