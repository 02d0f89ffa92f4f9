"""Writes to the registry."""

from datetime import date

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models.functions import Now
from django.utils import timezone

from audit import services as audit
from audit.models import AuditAction
from grids import pii
from grids.models import Building, ChangeKind, ChangeState, Household, Person, RegistryChange, Role
from mobileapi import idempotency

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


# --- 信息采集: change requests from the field, decided at the desk ---------------------------

DWELLING = ("unit_no", "floor", "room")
HOUSEHOLD_FIELDS = (*DWELLING, "type")
PERSON_FIELDS = ("name", "sex", "birth_date", "id_number", "phone", "relation", "residency", "care_tags")
PERSON_PLAIN_FIELDS = tuple(name for name in PERSON_FIELDS if name not in pii.PROTECTED_FIELDS)
# What each kind may propose and must propose.
CHANGE_FIELDS = {
    ChangeKind.ADD_HOUSEHOLD: (HOUSEHOLD_FIELDS, ("floor", "room")),
    ChangeKind.CORRECT_HOUSEHOLD: (HOUSEHOLD_FIELDS, ()),
    ChangeKind.ADD_PERSON: (PERSON_FIELDS, ("name", "sex", "birth_date", "id_number", "residency")),
    ChangeKind.CORRECT_PERSON: (PERSON_FIELDS, ()),
    ChangeKind.PERSON_MOVED_OUT: ((), ()),
    ChangeKind.PERSON_DECEASED: ((), ()),
}
# The records each kind may name besides the building (a person's household is the person's own).
NAMES = {
    ChangeKind.ADD_HOUSEHOLD: (),
    ChangeKind.CORRECT_HOUSEHOLD: ("household",),
    ChangeKind.ADD_PERSON: ("household", "household_change"),
    ChangeKind.CORRECT_PERSON: ("person",),
    ChangeKind.PERSON_MOVED_OUT: ("person",),
    ChangeKind.PERSON_DECEASED: ("person",),
}
CORRECTIONS = {ChangeKind.CORRECT_HOUSEHOLD, ChangeKind.CORRECT_PERSON}
PERSON_KINDS = {
    ChangeKind.ADD_PERSON,
    ChangeKind.CORRECT_PERSON,
    ChangeKind.PERSON_MOVED_OUT,
    ChangeKind.PERSON_DECEASED,
}
ABOUT_A_PERSON = {ChangeKind.CORRECT_PERSON, ChangeKind.PERSON_MOVED_OUT, ChangeKind.PERSON_DECEASED}
REMOVALS = {ChangeKind.PERSON_MOVED_OUT, ChangeKind.PERSON_DECEASED}
DWELLING_TAKEN = "该楼栋已有此住户（单元、楼层、房号相同）。This dwelling is already registered."
ID_NUMBER_TAKEN = "该身份证号已登记。This ID number is already registered."


class InvalidChange(Exception):
    """A change request that cannot be accepted as sent: field -> messages (nested under `proposed` for fields)."""

    def __init__(self, errors: dict):
        super().__init__(errors)
        self.errors = errors


class ChangeRefused(Exception):
    """A decision that cannot be taken now (decided already, record gone or taken): a message for the desk."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.message, self.code = message, code


def _proposed_errors(*, kind: str, proposed: dict) -> dict[str, list[str]]:
    allowed, required = CHANGE_FIELDS[kind]
    errors = {
        name: ["此类变更不可填写该项。Not part of this kind of change."] for name in proposed if name not in allowed
    }
    errors |= {name: ["此项必填。This field is required."] for name in required if name not in proposed}
    if kind in CORRECTIONS and not proposed:
        errors["non_field_errors"] = ["更正至少需要一项新值。A correction needs at least one new value."]
    return errors


def _identity_errors(*, id_number: str, birth_date, sex: str) -> dict[str, list[str]]:
    """Birth date and sex must agree with what the ID number encodes (GB 11643)."""
    errors = {}
    try:
        encoded = pii.born_on(id_number)
    except ValueError:
        return {"id_number": ["身份证号中的出生日期无效。The ID number holds no valid birth date."]}
    if birth_date and birth_date != encoded:
        errors["birth_date"] = [
            f"出生日期与身份证号不符（应为 {encoded:%Y-%m-%d}）。It differs from the ID number's ({encoded})."
        ]
    if sex and sex != pii.sex_of(id_number):
        errors["sex"] = ["性别与身份证号不符。The sex differs from the ID number's."]
    return errors


def _resolve_targets(*, worker, kind: str, building_id: int, household_id, person_id, household_change_uuid) -> dict:
    """The building (in the worker's grids) and the records the change names (in that building)."""
    named = {"household": household_id, "person": person_id, "household_change": household_change_uuid}
    if extra := [name for name, value in named.items() if value is not None and name not in NAMES[kind]]:
        raise InvalidChange({name: ["此类变更不需要该项。Not part of this kind of change."] for name in extra})
    building = Building.objects.filter(pk=building_id, grid__in=worker.staff.grids.all()).first()
    if building is None:
        raise InvalidChange({"building": ["该楼栋不存在或不在您的网格内。The building is not in your grids."]})
    targets = {"building": building, "household": None, "person": None, "household_change": None}
    if kind in ABOUT_A_PERSON:
        if person_id is None:
            raise InvalidChange({"person": ["请指明要更正的人员。Name the person this change is about."]})
        person = Person.objects.filter(pk=person_id, household__building=building).select_related("household").first()
        if person is None:
            raise InvalidChange({"person": ["该人员不在此楼栋。This person is not registered in the building."]})
        targets |= {"person": person, "household": person.household}
    elif kind == ChangeKind.ADD_PERSON and household_id is not None and household_change_uuid is not None:
        raise InvalidChange({"household_change": ["请只指明一个住户。Name household or household_change, not both."]})
    elif kind == ChangeKind.CORRECT_HOUSEHOLD or (kind == ChangeKind.ADD_PERSON and household_change_uuid is None):
        if household_id is None:
            raise InvalidChange({"household": ["请指明住户。Name the household."]})
        household = Household.objects.filter(pk=household_id, building=building).first()
        if household is None:
            raise InvalidChange({"household": ["该住户不在此楼栋。This household is not in the building."]})
        targets["household"] = household
    elif kind == ChangeKind.ADD_PERSON:
        pending = RegistryChange.objects.filter(
            worker=worker, client_uuid=household_change_uuid, kind=ChangeKind.ADD_HOUSEHOLD, building=building
        ).exclude(state=ChangeState.REJECTED)
        targets["household_change"] = pending.first()
        if targets["household_change"] is None:
            raise InvalidChange(
                {"household_change": ["没有您在此楼栋新增住户的该项申请。No add_household request of yours here."]}
            )
    return targets


def _check_person(*, proposed: dict, person: Person | None) -> None:
    """What is proposed agrees with the ID number (a new ID number with the birth date and sex it will stand
    beside), and the ID number is no one else's."""
    id_number = proposed.get("id_number")
    check_birth = "birth_date" in proposed or id_number
    check_sex = "sex" in proposed or id_number
    if not (check_birth or check_sex):
        return
    errors = _identity_errors(
        id_number=id_number or pii.decrypt(person.id_number_cipher),
        birth_date=(proposed.get("birth_date") or person.birth_date) if check_birth else None,
        sex=(proposed.get("sex") or person.sex) if check_sex else "",
    )
    if id_number:
        others = Person.objects.filter(id_number_digest=pii.digest(id_number))
        if person is not None:
            others = others.exclude(pk=person.pk)
        if others.exists():
            errors["id_number"] = [ID_NUMBER_TAKEN]
    if errors:
        raise InvalidChange({"proposed": errors})


def _check_dwelling(*, building: Building, proposed: dict, household: Household | None) -> None:
    dwelling = {name: proposed.get(name, getattr(household, name, "")) for name in DWELLING}
    errors = {}
    if dwelling["floor"] is not None and not -5 <= dwelling["floor"] <= building.floors:
        errors["floor"] = [f"楼层应在 -5 至 {building.floors} 之间。The floor must be -5 to {building.floors}."]
    taken = Household.objects.filter(building=building, **dwelling)
    if household is not None:
        taken = taken.exclude(pk=household.pk)
    if taken.exists():
        errors["room"] = [DWELLING_TAKEN]
    if errors:
        raise InvalidChange({"proposed": errors})


def _stored_proposal(proposed: dict) -> dict:
    """The proposal as kept: plain fields as JSON, ID number and phone as masks plus their protected columns."""
    shown = {name: value for name, value in proposed.items() if name not in pii.PROTECTED_FIELDS}
    if "birth_date" in shown:
        shown["birth_date"] = shown["birth_date"].isoformat()
    columns = {}
    if proposed.get("id_number"):
        protected = pii.protected_id_number(proposed["id_number"])
        shown["id_number"] = protected.pop("id_number_masked")
        columns |= protected
    if "phone" in proposed:
        protected = pii.protected_phone(proposed["phone"])
        shown["phone"] = protected.pop("phone_masked")
        columns |= protected
    return {"proposed": shown, **columns}


def change_fingerprint(*, kind, building, household, person, household_change, proposed, note, captured_at) -> str:
    """What makes two requests the same; ID numbers and phones enter as keyed digests, never in plain."""
    content = {name: value for name, value in proposed.items() if name not in pii.PROTECTED_FIELDS}
    for name in pii.PROTECTED_FIELDS:
        if name in proposed:
            content[name] = pii.digest(proposed[name]) if proposed[name] else ""
    return idempotency.fingerprint(
        {
            "kind": kind,
            "building": building,
            "household": household,
            "person": person,
            "household_change": str(household_change or ""),
            "proposed": content,
            "note": note,
            "captured_at": captured_at.isoformat(),
        }
    )


def propose_change(
    *,
    worker,
    client_uuid,
    kind: str,
    building: int,
    proposed: dict,
    captured_at,
    household: int | None = None,
    person: int | None = None,
    household_change=None,
    note: str = "",
) -> tuple[RegistryChange, bool]:
    """A worker's change request, kept once per (worker, client UUID): (the request, whether this call made it).

    `proposed` holds normalized values (ID number and phone checked by the caller's serializer)."""
    digest = change_fingerprint(
        kind=kind,
        building=building,
        household=household,
        person=person,
        household_change=household_change,
        proposed=proposed,
        note=note,
        captured_at=captured_at,
    )

    def create() -> RegistryChange:
        if errors := _proposed_errors(kind=kind, proposed=proposed):
            raise InvalidChange({"proposed": errors})
        targets = _resolve_targets(
            worker=worker,
            kind=kind,
            building_id=building,
            household_id=household,
            person_id=person,
            household_change_uuid=household_change,
        )
        if kind in (ChangeKind.ADD_PERSON, ChangeKind.CORRECT_PERSON):
            _check_person(proposed=proposed, person=targets["person"])
        if kind in (ChangeKind.ADD_HOUSEHOLD, ChangeKind.CORRECT_HOUSEHOLD) and proposed.keys() & set(DWELLING):
            _check_dwelling(building=targets["building"], proposed=proposed, household=targets["household"])
        return RegistryChange.objects.create(
            client_uuid=client_uuid,
            fingerprint=digest,
            worker=worker,
            kind=kind,
            note=note,
            captured_at=captured_at,
            **targets,
            **_stored_proposal(proposed),
        )

    return idempotency.create_once(
        model=RegistryChange, client_uuid=client_uuid, digest=digest, create=create, scope={"worker": worker}
    )


def _plain_proposal(change: RegistryChange) -> dict:
    """The proposal with its typed values and its ID number and phone decrypted, to apply or to check again."""
    proposed = dict(change.proposed)
    if "birth_date" in proposed:
        proposed["birth_date"] = date.fromisoformat(proposed["birth_date"])
    if "id_number" in proposed:
        proposed["id_number"] = pii.decrypt(change.id_number_cipher)
    if "phone" in proposed:
        proposed["phone"] = pii.decrypt(change.phone_cipher) if change.phone_cipher else ""
    return proposed


def household_fields(household: Household) -> dict:
    return {name: getattr(household, name) for name in HOUSEHOLD_FIELDS}


def person_fields(person: Person) -> dict:
    """A person's registry fields as the desk shows them: ID number and phone masked."""
    shown = {name: getattr(person, name) for name in PERSON_PLAIN_FIELDS}
    shown["birth_date"] = person.birth_date.isoformat()
    return shown | {"id_number": person.id_number_masked, "phone": person.phone_masked}


def _refuse_gone(what: str):
    return ChangeRefused(f"要更正的{what}已不在登记中。The record this change is about no longer exists.", code="gone")


def _apply_household(change: RegistryChange, proposed: dict) -> dict:
    if change.kind == ChangeKind.ADD_HOUSEHOLD:
        household = Household(building=change.building)
    else:
        household = Household.objects.select_for_update().filter(pk=change.household_id).first()
        if household is None:
            raise _refuse_gone("住户")
    previous = {name: value for name, value in household_fields(household).items() if name in proposed}
    for name, value in proposed.items():
        setattr(household, name, value)
    try:
        with transaction.atomic():
            household.save()
    except IntegrityError:
        raise ChangeRefused(DWELLING_TAKEN, code="taken") from None
    change.household = household
    return previous if change.kind == ChangeKind.CORRECT_HOUSEHOLD else {}


def _household_joined(change: RegistryChange) -> Household:
    if change.household_change_id is None:
        if change.household is None:
            raise _refuse_gone("住户")
        return change.household
    proposal = change.household_change
    if proposal.state == ChangeState.REJECTED:
        raise ChangeRefused(
            "该人员所属的新增住户申请已被驳回。The request adding the household was rejected.",
            code="household_rejected",
        )
    if proposal.state != ChangeState.APPROVED or proposal.household is None:
        raise ChangeRefused(
            "请先审核通过该人员所属的新增住户申请。Approve the request that adds the household first.",
            code="household_pending",
        )
    return proposal.household


def _apply_person(change: RegistryChange, proposed: dict) -> dict:
    if change.kind == ChangeKind.ADD_PERSON:
        person, previous = Person(household=_household_joined(change)), {}
    else:
        person = Person.objects.select_for_update().filter(pk=change.person_id).first()
        if person is None:
            raise _refuse_gone("人员")
        previous = person_fields(person)
    if change.kind in REMOVALS:
        person.delete()
        # The household's summary (its head count) changed: handheld packages fetched `since` must resend it.
        Household.objects.filter(pk=person.household_id).update(updated_at=Now())
        change.person = None
        return previous
    try:
        _check_person(proposed=proposed, person=person if person.pk else None)
    except InvalidChange as invalid:
        messages = [message for field in invalid.errors["proposed"].values() for message in field]
        raise ChangeRefused(" ".join(messages), code="invalid_now") from None
    for name in PERSON_PLAIN_FIELDS:
        if name in proposed:
            setattr(person, name, proposed[name])
    set_person_contact(person=person, id_number=proposed.get("id_number"), phone=proposed.get("phone"))
    try:
        with transaction.atomic():
            person.save()
    except IntegrityError:
        raise ChangeRefused(ID_NUMBER_TAKEN, code="taken") from None
    change.person, change.household_id = person, person.household_id
    return {name: value for name, value in previous.items() if name in proposed}


def decide_change(*, change_id: int, actor, approve: bool, note: str = "", address: str = "") -> RegistryChange:
    """Approve (apply to the registry) or reject a pending change request, once: the row lock makes a second,
    concurrent decision wait and then find it decided. The caller has checked that `actor` may decide it."""
    note = note.strip()
    if not approve and not note:
        raise InvalidChange({"note": ["驳回时请说明理由。Give the reason for a rejection."]})
    with transaction.atomic():
        change = RegistryChange.objects.select_for_update().filter(pk=change_id).first()
        if change is None:
            raise ChangeRefused("没有这项采集申请。No such request.", code="gone")
        if change.state != ChangeState.PENDING:
            who = change.decided_by.get_full_name() or change.decided_by.get_username() if change.decided_by else ""
            raise ChangeRefused(
                f"该申请已由 {who} 于 {timezone.localtime(change.decided_at):%Y-%m-%d %H:%M} "
                f"{change.get_state_display()}。This request was already decided ({change.state}).",
                code="decided",
            )
        person_before = change.person_id  # gone after a removal, still named in the audit entry
        if approve:
            proposed = _plain_proposal(change)
            apply = _apply_person if change.kind in PERSON_KINDS else _apply_household
            change.previous = apply(change, proposed)
        staff = getattr(actor, "staff", None)
        change.state = ChangeState.APPROVED if approve else ChangeState.REJECTED
        change.decided_by, change.decided_unit = actor, staff.unit if staff is not None else None
        change.decided_at, change.decision_note = timezone.now(), note
        change.save()
        if approve:
            if change.kind in PERSON_KINDS:
                target = f"grids.person:{change.person_id or person_before}"
            else:
                target = f"grids.household:{change.household_id}"
            audit.record(
                action=AuditAction.ADMIN_CHANGE,
                actor=actor.get_username(),
                target=target,
                address=address,
                detail={
                    "registry_change": change.pk,
                    "kind": change.kind,
                    "worker": change.worker.get_username(),
                    "fields": sorted(change.proposed),
                    "previous": change.previous,
                    "proposed": change.proposed,
                },
            )
    return change


def record_contact_search(
    *, actor, field: str, masked: str, found: list[int], address: str = "", cases: list[int] | None = None
) -> None:
    """Someone looked residents up by a full ID number or phone: logged as a reveal is, with the number masked
    (the search answers whether that number lives here, and where); `cases`: those whose caller had that phone."""
    audit.record(
        action=AuditAction.REVEAL,
        actor=actor.get_username(),
        target="grids.person:search",
        address=address,
        detail={"search": field, "term": masked, "found": found, **({"cases": cases} if cases is not None else {})},
    )
