"""Case events are sealed into the audit chain as they are written: rewriting a case's history shows."""

import hashlib
import json

import pytest
from django.core.management import call_command
from django.db import connection

from audit import chain
from audit.models import AuditAction, AuditEntry
from audit.selectors import KINDS
from cases.models import CaseEvent, Category
from cases.services import apply_transition, create_case
from grids.models import Role
from tests.audit.test_tamper import KEY_A, audit_key, found, tamper, verify_audit  # noqa: F401 - the key fixture

pytestmark = pytest.mark.django_db


def tamper_events(*statements):
    tamper(*statements, table="cases_caseevent", trigger="cases_caseevent_append_only")


@pytest.fixture
def history(geo, client_for, django_capture_on_commit_callbacks, capsys):
    """One case reported, registered, commented on twice: four events, each sealed in the transaction that wrote it."""
    desk = client_for(Role.DISPATCHER, unit=geo.offices["W"]).staff.user
    with django_capture_on_commit_callbacks(execute=True):
        case, _ = create_case(
            category=Category.objects.get(code="BJ0101"),
            point=geo.point("W1", "S"),
            description="井盖缺失",
            source="hotline",
        )
        case = apply_transition(case_id=case.pk, actor=desk, action="register", version=case.version)
        for note in ("已联系", "已到场"):
            CaseEvent.objects.create(
                case=case, actor=desk, action="comment", from_state=case.state, to_state=case.state, note=note
            )
    call_command("audit_checkpoint")
    events = list(CaseEvent.objects.filter(case=case).order_by("id"))
    passed, out, err = verify_audit(capsys)
    assert passed and "4 case events" in out and err == ""
    return events


def test_every_case_event_is_sealed_in_the_audit_chain(history):
    sealed = {
        event_id
        for entry in AuditEntry.objects.filter(action=AuditAction.CASE_EVENTS)
        for event_id, _ in entry.detail["events"]
    }
    assert sealed == {event.pk for event in history}


def test_an_edited_case_event_is_named(history, capsys):
    tamper_events(("UPDATE cases_caseevent SET note = '未联系' WHERE id = %s", [history[2].pk]))
    err = found(capsys, "event_edited")
    assert f"case event #{history[2].pk} was edited" in err


def test_a_case_event_moved_to_another_case_is_named(history, capsys):
    other, _ = create_case(
        category=Category.objects.get(code="BJ0101"),
        point=history[0].case.point,
        description="另一案",
        source="hotline",
    )
    tamper_events(("UPDATE cases_caseevent SET case_id = %s WHERE id = %s", [other.pk, history[3].pk]))
    err = found(capsys, "event_edited")
    assert f"case event #{history[3].pk} was edited" in err


def test_a_case_event_deleted_from_the_middle_is_named(history, capsys):
    tamper_events(("DELETE FROM cases_caseevent WHERE id = %s", [history[1].pk]))
    err = found(capsys, "event_deleted")
    assert f"1 sealed case events were deleted: #{history[1].pk}" in err


def test_the_newest_case_events_deleted_are_named(history, capsys):
    tamper_events(("DELETE FROM cases_caseevent WHERE id >= %s", [history[2].pk]))
    err = found(capsys, "event_deleted")
    assert f"2 sealed case events were deleted: #{history[2].pk}, #{history[3].pk}" in err


def test_a_case_event_inserted_behind_the_applications_back_is_named(history, capsys):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO cases_caseevent (case_id, action, from_state, to_state, note, attachments, data, created_at) "
            "VALUES (%s, 'close', 'registered', 'closed', '', '[]', '{}', now()) RETURNING id",
            [history[0].case_id],
        )
        inserted = cursor.fetchone()[0]
    err = found(capsys, "event_inserted")
    assert f"1 case events were inserted behind the application's back (no seal in the audit log): #{inserted}" in err


def test_a_truncated_case_events_table_is_named(history, capsys):
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE cases_caseevent CASCADE")  # with what refers to the events (their notices)
    err = found(capsys, "events_truncated")
    assert "the case events table is empty but the audit log sealed 4 events" in err


def test_an_event_rewritten_with_its_seal_recomputed_without_the_key_is_named(history, capsys):
    """The careful forger edits the event, puts its new digest in the sealing entry and recomputes the chain from
    there with plain SHA-256: the chain gives it away."""
    victim = history[2]
    tamper_events(("UPDATE cases_caseevent SET note = '未联系' WHERE id = %s", [victim.pk]))
    with connection.cursor() as cursor:
        cursor.execute(chain.CASE_EVENT_DIGESTS_SQL + " WHERE id = %s", [victim.pk])
        new_digest = cursor.fetchone()[1]
    entries = list(AuditEntry.objects.order_by("seq"))
    seal = next(e for e in entries if e.action == AuditAction.CASE_EVENTS and e.detail["events"][0][0] == victim.pk)
    seal.detail = {"events": [[victim.pk, new_digest]]}  # `seal` is one of `entries`
    statements, previous = [], entries[seal.seq - 2].mac
    for entry in entries[seal.seq - 1 :]:
        mac = chain.plain_digest(previous, chain.content_of(entry))
        statements.append(
            (
                "UPDATE audit_auditentry SET detail = %s, previous_mac = %s, position_mac = %s, mac = %s WHERE id = %s",
                [json.dumps(entry.detail), previous, hashlib.sha256(previous.encode()).hexdigest(), mac, entry.pk],
            )
        )
        previous = mac
    tamper(*statements)
    err = found(capsys, "recomputed")
    assert f"recomputed without the audit key from entry #{seal.pk}" in err and "plain SHA-256" in err
    assert KINDS["event_edited"] not in err  # the forged seal matches the edit: only the chain can tell


def test_rotation_keeps_sealed_events_verifiable(history, settings, capsys, django_capture_on_commit_callbacks):
    settings.AUDIT_KEYS = ["audit-key-c-" + "c" * 32, KEY_A]
    with django_capture_on_commit_callbacks(execute=True):
        CaseEvent.objects.create(case=history[0].case, action="comment", note="轮换后")
    passed, out, err = verify_audit(capsys)
    assert passed, err
    assert "5 case events" in out


def test_the_demos_deliberate_wipe_is_signed_and_not_reported(history, capsys):
    from grids.demo.loader import clear_registry

    clear_registry()  # seed_demo --replace: cases and their events truncated on purpose
    assert AuditEntry.objects.filter(action=AuditAction.CASE_EVENTS, detail__cleared=True).exists()
    passed, out, err = verify_audit(capsys)
    assert passed, err
    assert "0 case events" in out
