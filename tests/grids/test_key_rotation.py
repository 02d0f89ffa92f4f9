"""Rotating the personal-data keys: old tokens stay readable meanwhile; afterwards only the new key is needed."""

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command

from grids import pii
from grids.models import Person
from tests.factories import PersonFactory

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
