"""The desk's queue of registry change requests (/desk/registry/): who sees which, approval applies a request to
the registry once (encrypted, masked, audited), rejection changes nothing."""

import re
import threading
import uuid
from datetime import datetime

import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from audit.models import AuditAction, AuditEntry
from grids import pii, services
from grids.models import ChangeKind, ChangeState, Household, Person, RegistryChange, Role
from tests.cases.helpers import dispatcher, person
from tests.factories import BuildingFactory, HouseholdFactory, PersonFactory, fake_id_number, square

pytestmark = pytest.mark.django_db

URL = "/desk/registry/"
NEW_ID = fake_id_number(124, birth="19900215")  # sequence 124: even, female
NEW_PHONE = "13912345678"
CAPTURED = datetime.fromisoformat("2026-12-01T09:30:00+08:00")


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def place(geo):
    """A building of community W1 (west street) with one household, and its grid worker."""
    building = BuildingFactory(footprint=square(101.604, 26.589, 0.0003))
    household = HouseholdFactory(building=building, unit_no="1", floor=3, room="301")
    worker = person(grids=[geo.grids["W1"]], username="wang")
    return {"building": building, "household": household, "worker": worker}


def propose(place, kind=ChangeKind.ADD_PERSON, **fields):
    proposed = fields.pop("proposed", None)
    if proposed is None and kind == ChangeKind.ADD_PERSON:
        proposed = {
            "name": "李娟",
            "sex": "F",
            "birth_date": datetime(1990, 2, 15).date(),
            "id_number": NEW_ID,
            "phone": NEW_PHONE,
            "residency": "floating",
            "care_tags": ["veteran"],
        }
        fields.setdefault("household", place["household"].pk)
    change, _ = services.propose_change(
        worker=place["worker"],
        client_uuid=uuid.uuid4(),
        kind=kind,
        building=place["building"].pk,
        proposed=proposed or {},
        captured_at=CAPTURED,
        **fields,
    )
    return change


def listed(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'<article class="card change" id="change-(\d+)"', response.content.decode())]


def decide(user, change, decision="approve", note=""):
    return browser(user).post(f"{URL}{change.pk}/decide", {"decision": decision, "note": note}, follow=True)


def test_the_committee_and_street_office_of_the_building_see_it_masked_others_do_not(geo, place):
    change = propose(place)
    for unit in (geo.committees["W1"], geo.offices["W"]):
        page = browser(dispatcher(unit)).get(URL)
        assert page.status_code == 200 and listed(page) == [change.pk]
        html = page.content.decode()
        assert NEW_ID not in html and NEW_PHONE not in html
        assert pii.mask_id_number(NEW_ID) in html and "139****5678" in html
        assert "李娟" in html and "新增人员" in html
    admin = person(Role.ADMIN, username="root")
    assert listed(browser(admin).get(URL)) == [change.pk]

    for unit in (geo.committees["W2"], geo.offices["E"]):
        other = dispatcher(unit)
        assert listed(browser(other).get(URL)) == []
        assert decide(other, change).status_code == 404
    for outsider in (dispatcher(geo.police["S"]), person(Role.MANAGER), place["worker"]):
        assert browser(outsider).get(URL).status_code == 403
        assert decide(outsider, change).status_code == 403
    assert Client().get(URL).status_code == 302
    assert RegistryChange.objects.get().state == ChangeState.PENDING


def test_the_menu_links_the_queue_for_deciding_desks_only(geo, place):
    assert 'href="/desk/registry/"' in browser(dispatcher(geo.committees["W1"])).get("/desk/").content.decode()
    assert 'href="/desk/registry/"' not in browser(dispatcher(geo.police["N"])).get("/desk/").content.decode()


def test_approval_adds_the_person_encrypted_masked_and_audited(geo, place):
    change = propose(place)
    desk = dispatcher(geo.committees["W1"], username="w1-desk")
    page = decide(desk, change, note="已核实")
    assert "已通过" in page.content.decode()

    added = Person.objects.get(household=place["household"])
    assert (added.name, added.sex, added.residency, added.care_tags) == ("李娟", "F", "floating", ["veteran"])
    assert pii.decrypt(added.id_number_cipher) == NEW_ID and added.id_number_masked == pii.mask_id_number(NEW_ID)
    assert added.phone_masked == "139****5678"
    change.refresh_from_db()
    assert change.state == ChangeState.APPROVED and change.person == added
    assert (change.decided_by, change.decided_unit, change.decision_note) == (desk, geo.committees["W1"], "已核实")

    entry = AuditEntry.objects.get(action=AuditAction.ADMIN_CHANGE)
    assert (entry.actor, entry.target) == ("w1-desk", f"grids.person:{added.pk}")
    assert entry.detail["registry_change"] == change.pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT string_agg(t::text, ' ') FROM audit_auditentry t")
        audit_text = cursor.fetchone()[0]
        cursor.execute("SELECT t::text FROM grids_person t WHERE id = %s", [added.pk])
        person_text = cursor.fetchone()[0]
    for text in (audit_text, person_text):
        assert NEW_ID not in text and NEW_PHONE not in text

    # The worker sees the outcome; the building's households show the person, masked.
    worker = APIClient()
    worker.force_authenticate(place["worker"])
    outcome = worker.get(f"/api/mobile/v1/registry-changes/{change.client_uuid}").json()
    assert (outcome["state"], outcome["decision_note"], outcome["person"]["id"]) == ("approved", "已核实", added.pk)
    households = worker.get(f"/api/v1/buildings/{place['building'].pk}/households")
    people = [p for h in households.json() for p in h["people"]]
    assert [(p["name"], p["id_number"], p["phone"]) for p in people] == [
        ("李娟", pii.mask_id_number(NEW_ID), "139****5678")
    ]
    assert NEW_ID not in households.content.decode()


def test_rejection_needs_a_reason_and_changes_nothing(geo, place):
    change = propose(place)
    desk = dispatcher(geo.offices["W"])
    assert "理由" in decide(desk, change, "reject").content.decode()
    assert RegistryChange.objects.get().state == ChangeState.PENDING

    decide(desk, change, "reject", note="查无此人")
    change.refresh_from_db()
    assert (change.state, change.decision_note) == (ChangeState.REJECTED, "查无此人")
    assert not Person.objects.exists()
    assert not AuditEntry.objects.filter(action=AuditAction.ADMIN_CHANGE).exists()
    again = decide(desk, change)
    assert "已由" in again.content.decode() and not Person.objects.exists()


def test_a_correction_keeps_what_it_replaced_and_a_removal_deletes_the_person(geo, place):
    old_id = fake_id_number(7, birth="19800101")
    resident = PersonFactory(household=place["household"], id_number=old_id, sex="M", name="张三", phone="13800000001")
    resident.birth_date = datetime(1980, 1, 1).date()
    resident.save()
    correction = propose(
        place, ChangeKind.CORRECT_PERSON, person=resident.pk, proposed={"name": "张叁", "phone": NEW_PHONE}
    )
    desk = dispatcher(geo.committees["W1"])
    page = browser(desk).get(URL).content.decode()
    assert re.search(r"张三</td><td class=\"new\">张叁", page)
    decide(desk, correction)
    resident.refresh_from_db()
    assert resident.name == "张叁" and pii.decrypt(resident.phone_cipher) == NEW_PHONE
    assert pii.decrypt(resident.id_number_cipher) == old_id
    correction.refresh_from_db()
    assert correction.previous == {"name": "张三", "phone": "138****0001"}

    moved = propose(place, ChangeKind.PERSON_MOVED_OUT, person=resident.pk, note="搬往外地")
    decide(desk, moved)
    assert not Person.objects.filter(pk=resident.pk).exists()
    moved.refresh_from_db()
    assert moved.state == ChangeState.APPROVED and moved.person is None
    assert moved.previous["name"] == "张叁" and moved.previous["id_number"] == pii.mask_id_number(old_id)
    assert AuditEntry.objects.filter(target=f"grids.person:{resident.pk}").count() == 2
    decided = browser(desk).get(URL + "?show=decided").content.decode()
    assert "人员迁出" in decided and pii.mask_id_number(old_id) in decided and old_id not in decided


def test_a_person_of_a_proposed_household_waits_for_the_household(geo, place):
    new_household = propose(place, ChangeKind.ADD_HOUSEHOLD, proposed={"unit_no": "2", "floor": 5, "room": "502"})
    newcomer = propose(place, household_change=new_household.client_uuid)
    desk = dispatcher(geo.offices["W"])
    assert "先审核" in decide(desk, newcomer).content.decode()
    assert RegistryChange.objects.get(pk=newcomer.pk).state == ChangeState.PENDING

    decide(desk, new_household)
    decide(desk, newcomer)
    household = Household.objects.get(building=place["building"], unit_no="2", floor=5, room="502")
    assert [p.name for p in household.people.all()] == ["李娟"]


def test_an_id_number_registered_meanwhile_refuses_the_approval(geo, place):
    change = propose(place)
    PersonFactory(household=place["household"], id_number=NEW_ID)
    page = decide(dispatcher(geo.offices["W"]), change).content.decode()
    assert "已登记" in page
    assert RegistryChange.objects.get().state == ChangeState.PENDING
    assert Person.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_approving_at_once_apply_it_once(geo, reference_data):
    building = BuildingFactory(footprint=square(101.604, 26.589, 0.0003))
    household = HouseholdFactory(building=building)
    place = {"building": building, "household": household, "worker": person(grids=[geo.grids["W1"]])}
    change = propose(place)
    desks = [dispatcher(geo.committees["W1"]), dispatcher(geo.offices["W"])]
    pages: list[str] = []
    start = threading.Barrier(len(desks))

    def approve(user):
        try:
            client = browser(user)
            start.wait()
            pages.append(client.post(f"{URL}{change.pk}/decide", {"decision": "approve"}, follow=True).content.decode())
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(user,)) for user in desks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Person.objects.filter(household=household).count() == 1
    assert AuditEntry.objects.filter(action=AuditAction.ADMIN_CHANGE).count() == 1
    assert sorted("已通过，登记信息已更新" in page for page in pages) == [False, True]
    assert any("已由" in page for page in pages)


def test_the_queue_reads_in_english_after_the_language_switch(geo, place):
    propose(place)
    client = browser(dispatcher(geo.committees["W1"]))
    client.post("/i18n/setlang/", {"language": "en", "next": URL})
    html = client.get(URL).content.decode()
    for english in ("Registry requests", "Add person", "Approve", "Reject", "Birth date", "Floating", "Pending"):
        assert english in html, english
    assert "新增人员" not in html and "通过" not in html


def test_the_admin_site_lists_requests_read_only_and_masked(geo, place):
    change = propose(place)
    admin = person(Role.ADMIN, username="root")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client = browser(admin)
    assert "新增人员" in client.get("/admin/grids/registrychange/").content.decode()
    page = client.get(f"/admin/grids/registrychange/{change.pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200 and pii.mask_id_number(NEW_ID) in html
    assert NEW_ID not in html and NEW_PHONE not in html and change.id_number_cipher not in html
    assert client.get("/admin/grids/registrychange/add/").status_code == 403
