"""Writes to the registry."""

from django.core.exceptions import PermissionDenied

from audit import services as audit
from audit.models import AuditAction
from grids import pii
from grids.models import Person, Role

REVEALABLE = {"id_number": "id_number_cipher", "phone": "phone_cipher"}


def set_person_contact(*, person: Person, id_number: str | None = None, phone: str | None = None) -> Person:
    """Store a new ID number and/or phone on `person`, protected (not saved; the caller saves)."""
    if id_number:
        for field, value in pii.protected_id_number(id_number).items():
            setattr(person, field, value)
    if phone is not None:
        for field, value in pii.protected_phone(phone).items():
            setattr(person, field, value)
    return person


def reveal_person(*, person: Person, actor, fields: list[str], reason: str, address: str = "") -> dict[str, str]:
    """The plain ID number and/or phone of one person, for an actor allowed to see them; every reveal is logged.

    The caller has already checked that the person is within the actor's scope.
    """
    staff = getattr(actor, "staff", None)
    if staff is not None and staff.role == Role.MANAGER:
        raise PermissionDenied("管理人员不可查看个人敏感信息。Managers never see personal data.")
    if not actor.has_perm("grids.reveal_person"):
        raise PermissionDenied("没有查看完整个人信息的权限。You lack the reveal permission.")
    revealed = {
        field: pii.decrypt(getattr(person, REVEALABLE[field])) for field in fields if getattr(person, REVEALABLE[field])
    }
    audit.record(
        action=AuditAction.REVEAL,
        actor=actor.get_username(),
        target=f"grids.person:{person.pk}",
        address=address,
        detail={"fields": sorted(fields), "reason": reason},
    )
    return revealed


def record_contact_search(*, actor, field: str, masked: str, found: list[int], address: str = "") -> None:
    """Someone looked residents up by a full ID number or phone: logged as a reveal is, with the number masked
    (the search answers whether that number lives here, and where)."""
    audit.record(
        action=AuditAction.REVEAL,
        actor=actor.get_username(),
        target="grids.person:search",
        address=address,
        detail={"search": field, "term": masked, "found": found},
    )
