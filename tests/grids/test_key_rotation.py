"""Rotating the personal-data keys: old tokens stay readable meanwhile; afterwards only the new key is needed."""

from datetime import datetime
from uuid import uuid4

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command

from grids import pii, services
from grids.models import Person, RegistryChange
from tests.cases.helpers import person as staff_account
from tests.factories import BuildingFactory, HouseholdFactory, PersonFactory, fake_id_number, square

pytestmark = pytest.mark.django_db


def test_rotation_re_encrypts_under_the_new_key_and_rehashes(settings):
    old_key = settings.PII_KEYS[0]
    people = PersonFactory.create_batch(3)
    plain = {p.pk: pii.decrypt(p.id_number_cipher) for p in people}
    new_key = Fernet.generate_key().decode()
    settings.PII_KEYS = [new_key, old_key]
    settings.PII_HASH_KEY = "a-new-hash-key-for-the-test"
    assert pii.decrypt(Person.objects.get(pk=people[0].pk).id_number_cipher) == plain[people[0].pk]

    call_command("rotate_pii_keys", "--no-progress")

    settings.PII_KEYS = [new_key]  # the old key is gone now
    for person in Person.objects.all():
        assert pii.decrypt(person.id_number_cipher) == plain[person.pk]
        assert person.id_number_digest == pii.digest(plain[person.pk])
        assert Person.objects.filter(id_number_digest=pii.digest(plain[person.pk])).count() == 1
    settings.PII_KEYS = [old_key]
    with pytest.raises(InvalidToken):
        pii.decrypt(Person.objects.first().id_number_cipher)


def test_rotation_covers_the_registry_change_requests(settings, geo):
    household = HouseholdFactory(building=BuildingFactory(footprint=square(101.604, 26.589, 0.0003)))
    id_number = fake_id_number(124, birth="19900215")
    services.propose_change(
        worker=staff_account(grids=[geo.grids["W1"]]),
        client_uuid=uuid4(),
        kind="add_person",
        building=household.building_id,
        household=household.pk,
        captured_at=datetime.fromisoformat("2026-12-01T09:30:00+08:00"),
        proposed={"name": "李娟", "sex": "F", "birth_date": datetime(1990, 2, 15).date(), "id_number": id_number,
                  "phone": "13912345678", "residency": "floating"},
    )  # fmt: skip
    new_key = Fernet.generate_key().decode()
    settings.PII_KEYS = [new_key, settings.PII_KEYS[0]]
    settings.PII_HASH_KEY = "a-new-hash-key-for-the-test"

    call_command("rotate_pii_keys", "--no-progress")

    settings.PII_KEYS = [new_key]
    change = RegistryChange.objects.get()
    assert pii.decrypt(change.id_number_cipher) == id_number and pii.decrypt(change.phone_cipher) == "13912345678"
    assert change.id_number_digest == pii.digest(id_number)


def test_rotation_covers_the_callers_of_desk_intakes(settings, geo):
    from cases.models import Case, Source
    from tests.cases.helpers import report

    called = report(
        geo.point("W1", "N"), "SJ0101", source=Source.HOTLINE, caller_name="李女士", caller_phone="13912345678"
    )
    report(geo.point("W1", "S"), "SJ0101", source=Source.HOTLINE)  # no caller: nothing to rotate
    new_key = Fernet.generate_key().decode()
    settings.PII_KEYS = [new_key, settings.PII_KEYS[0]]
    settings.PII_HASH_KEY = "a-new-hash-key-for-the-test"

    call_command("rotate_pii_keys", "--no-progress")

    settings.PII_KEYS = [new_key]
    case = Case.objects.get(pk=called.pk)
    assert pii.decrypt(case.caller_phone_cipher) == "13912345678"
    assert case.caller_phone_digest == pii.digest("13912345678") and case.caller_phone_masked == "139****5678"
    assert Case.objects.exclude(pk=called.pk).get().caller_phone_cipher == ""
