"""Writes to the registry."""

from grids import pii
from grids.models import Person


def set_person_contact(*, person: Person, id_number: str | None = None, phone: str | None = None) -> Person:
    """Store a new ID number and/or phone on `person`, protected (not saved; the caller saves)."""
    if id_number:
        for field, value in pii.protected_id_number(id_number).items():
            setattr(person, field, value)
    if phone is not None:
        for field, value in pii.protected_phone(phone).items():
            setattr(person, field, value)
    return person
