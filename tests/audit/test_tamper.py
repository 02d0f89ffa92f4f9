"""Someone with the database but without the audit key rewrites the log: verify_audit notices and names it.

Each attack runs as the database's owner would (the append-only trigger switched off around it), then the
command must fail and say what was found, and where.
"""

import hashlib
import itertools
import json
import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from audit import chain, checkpoints, services
from audit.models import AuditAction, AuditEntry
from audit.selectors import KINDS, verify

pytestmark = pytest.mark.django_db

KEY_A = "audit-key-a-" + "a" * 32
KEY_B = "audit-key-b-" + "b" * 32
CHAIN_KINDS = {"edited", "inserted", "gap", "recomputed", "unknown_key", "tail_deleted", "truncated"}


@pytest.fixture(autouse=True)
def audit_key(settings):
    # A key of the tests' own first; the configured ones still verify anything other tests' fixtures committed.
    settings.AUDIT_KEYS = [KEY_A, *settings.AUDIT_KEYS]


def tamper(*statements: tuple[str, list], table: str = "audit_auditentry", trigger: str = "audit_entry_append_only"):
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's pending foreign key checks, before ALTER TABLE
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
        for sql, params in statements:
            cursor.execute(sql, params)
        cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")


def verify_audit(capsys) -> tuple[bool, str, str]:
    """(passed, stdout, stderr) of `manage.py verify_audit`."""
    try:
        call_command("verify_audit")
        passed = True
    except CommandError:
        passed = False
    out = capsys.readouterr()
    return passed, out.out, out.err


def found(capsys, kind: str) -> str:
    passed, _, err = verify_audit(capsys)
    assert not passed, "verify_audit passed a tampered log"
    assert KINDS[kind] in err, err
    return err


@pytest.fixture
def log(django_capture_on_commit_callbacks, capsys):
    """Six entries written as the application writes them, the head anchored on demand."""
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(6):
            services.record(action=AuditAction.EXPORT, actor=f"user{n}", target="grids.person", detail={"rows": n})
    call_command("audit_checkpoint")
    passed, out, err = verify_audit(capsys)
    assert passed and "6 entries" in out and err == ""
    return list(AuditEntry.objects.order_by("seq"))


def test_each_entry_is_numbered_and_signed_with_the_key_id(log):
    assert [entry.seq for entry in log] == [1, 2, 3, 4, 5, 6]
    assert {entry.key_id for entry in log} == {chain.key_id(KEY_A)}
    assert log[1].previous_mac == log[0].mac
    # Not the unkeyed digest anyone could compute.
    assert log[1].mac != chain.plain_digest(log[1].previous_mac, chain.content_of(log[1]))


def test_checkpoints_are_written_outside_the_database_at_the_first_entry_and_on_demand(log, settings):
    lines = [json.loads(line) for line in checkpoints.path().read_text().splitlines()]
    assert checkpoints.path().parent == settings.AUDIT_CHECKPOINT_DIR
    assert [line["count"] for line in lines] == [1, 6]
    assert lines[-1]["head"] == log[-1].mac and lines[-1]["key_id"] == chain.key_id(KEY_A)


def test_a_checkpoint_every_n_entries(settings, django_capture_on_commit_callbacks):
    settings.AUDIT_CHECKPOINT_EVERY = 3
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(7):
            services.record(action=AuditAction.LOGIN, actor=f"u{n}")
    counts = [json.loads(line)["count"] for line in checkpoints.path().read_text().splitlines()]
    assert counts == [1, 3, 6]


def test_an_edited_entry_is_named(log, capsys):
    tamper(("UPDATE audit_auditentry SET actor = 'mallory' WHERE id = %s", [log[2].pk]))
    err = found(capsys, "edited")
    assert f"#{log[2].pk}" in err
    assert KINDS["recomputed"] not in err and KINDS["inserted"] not in err


def test_entries_deleted_from_the_middle_are_a_gap(log, capsys):
    tamper(("DELETE FROM audit_auditentry WHERE id IN (%s, %s)", [log[2].pk, log[3].pk]))
    err = found(capsys, "gap")
    assert f"positions 3–4 between #{log[1].pk} and #{log[4].pk}" in err


def test_deleted_newest_entries_fall_below_the_checkpoint(log, capsys):
    tamper(("DELETE FROM audit_auditentry WHERE seq > 4", []))
    err = found(capsys, "tail_deleted")
    assert "the 2 newest entries were deleted: the table ends at position 4" in err


def test_an_inserted_entry_is_named(log, capsys):
    last = log[-1]
    forged = "f" * 64
    tamper(
        (
            "INSERT INTO audit_auditentry (at, actor, action, target, address, detail, seq, key_id, previous_mac, "
            "position_mac, mac) VALUES (now(), 'mallory', 'login', '', '', '{}', %s, %s, %s, %s, %s)",
            [last.seq + 1, last.key_id, last.mac, forged, forged],
        )
    )
    inserted = AuditEntry.objects.get(actor="mallory")
    err = found(capsys, "inserted")
    assert f"entry #{inserted.pk} was inserted" in err


def test_an_entry_slipped_between_two_others_is_named(log, capsys):
    # The owner drops the uniqueness of positions and slips a forged entry in after the second one.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'audit_auditentry'::regclass "
            "AND pg_get_constraintdef(oid) = 'UNIQUE (seq)'"
        )
        cursor.execute(f"ALTER TABLE audit_auditentry DROP CONSTRAINT {cursor.fetchone()[0]}")
        cursor.execute(
            "INSERT INTO audit_auditentry (at, actor, action, target, address, detail, seq, key_id, previous_mac, "
            "position_mac, mac) VALUES (now(), 'mallory', 'reveal', '', '', '{}', 3, %s, %s, %s, %s)",
            [log[1].key_id, log[1].mac, "e" * 64, "e" * 64],
        )
    inserted = AuditEntry.objects.get(actor="mallory")
    err = found(capsys, "inserted")
    assert f"entry #{inserted.pk} was inserted" in err
    assert KINDS["gap"] not in err and KINDS["recomputed"] not in err


def test_a_truncated_table_is_named(log, capsys):
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE audit_auditentry")
    err = found(capsys, "truncated")
    assert "counted 6 entries" in err


def _recompute_from(log: list[AuditEntry], start: int, sign) -> None:
    """Edit entry `start` and recompute every MAC after it with `sign(previous, content) -> mac`."""
    statements = []
    previous = log[start - 1].mac
    for entry in log[start:]:
        if entry.seq == log[start].seq:
            entry.actor = "mallory"
        mac = sign(previous, entry)
        statements.append(
            (
                "UPDATE audit_auditentry SET actor = %s, previous_mac = %s, position_mac = %s, mac = %s WHERE id = %s",
                [entry.actor, previous, hashlib.sha256(previous.encode()).hexdigest(), mac, entry.pk],
            )
        )
        previous = mac
    tamper(*statements)


def test_a_chain_recomputed_with_plain_sha256_is_named(log, capsys):
    _recompute_from(log, 2, lambda previous, entry: chain.plain_digest(previous, chain.content_of(entry)))
    err = found(capsys, "recomputed")
    assert f"from entry #{log[2].pk}: 4 entries (positions 3–6), signed with plain SHA-256" in err
    assert KINDS["checkpoint_mismatch"] in err  # the head the checkpoint anchored is gone too


def test_a_chain_recomputed_with_a_wrong_key_is_named(log, capsys):
    wrong = b"not-the-audit-key-" + b"x" * 32

    def sign(previous, entry):
        return chain.entry_mac(
            wrong, seq=entry.seq, previous_mac=previous, key_name=entry.key_id, content=chain.content_of(entry)
        )

    _recompute_from(log, 2, sign)
    err = found(capsys, "recomputed")
    assert f"from entry #{log[2].pk}: 4 entries (positions 3–6), signed with a wrong key" in err


def test_a_checkpoint_line_written_without_the_key_is_named(log, capsys):
    line = json.loads(checkpoints.path().read_text().splitlines()[-1])
    with checkpoints.path().open("a") as file:
        file.write(json.dumps({**line, "count": 2}) + "\n")
    err = found(capsys, "checkpoint_forged")
    assert "line 3 of" in err


def test_rotating_the_key_keeps_old_entries_verifiable(log, settings, capsys, django_capture_on_commit_callbacks):
    settings.AUDIT_KEYS = [KEY_B, KEY_A]  # the new key first, the old one kept to verify
    with django_capture_on_commit_callbacks(execute=True):
        services.record(action=AuditAction.LOGIN, actor="after-rotation")
    call_command("audit_checkpoint")
    newest = AuditEntry.objects.get(actor="after-rotation")
    assert newest.key_id == chain.key_id(KEY_B) and newest.previous_mac == log[-1].mac
    passed, out, _ = verify_audit(capsys)
    assert passed and f"{chain.key_id(KEY_A)}×6" in out and f"{chain.key_id(KEY_B)}×1" in out
    # Dropping the old key while its entries remain is reported, never silently trusted.
    settings.AUDIT_KEYS = [KEY_B]
    err = found(capsys, "unknown_key")
    assert f"entry #{log[0].pk} is signed with a key id not in AUDIT_KEYS" in err


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_linear_chain():
    writers, per_writer = 8, 10
    start = threading.Barrier(writers)
    errors = []
    before = AuditEntry.objects.count()  # a transactional test sees what other modules' fixtures committed

    def write(n: int):
        try:
            start.wait()
            for k in range(per_writer):
                services.record(action=AuditAction.LOGIN, actor=f"writer{n}-{k}")
        except Exception as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    entries = list(AuditEntry.objects.order_by("seq").values("seq", "actor", "previous_mac", "mac"))
    assert [entry["seq"] for entry in entries] == list(range(1, before + writers * per_writer + 1))
    assert entries[0]["previous_mac"] == chain.GENESIS
    assert all(b["previous_mac"] == a["mac"] for a, b in itertools.pairwise(entries))
    assert sum(entry["actor"].startswith("writer") for entry in entries) == writers * per_writer
    result = verify()
    assert [str(finding) for finding in result.findings if finding.kind in CHAIN_KINDS] == []
