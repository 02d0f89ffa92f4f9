"""The audit log records who did what, cannot be edited in place, and proves itself untouched."""

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from audit import services
from audit.models import AuditAction, AuditEntry
from grids import pii
from grids.models import Role
from tests.factories import BuildingFactory, GridFactory, HouseholdFactory, PersonFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_logins_and_failed_logins_are_recorded_without_passwords(client):
    UserFactory(username="li")
    assert client.login(username="li", password="test-password-123")
    assert not client.login(username="li", password="guess-123")
    entries = list(AuditEntry.objects.values_list("action", "actor"))
    assert (AuditAction.LOGIN, "li") in entries
    assert (AuditAction.LOGIN_FAILED, "li") in entries
    assert "guess-123" not in str(list(AuditEntry.objects.values_list("detail", flat=True)))


def test_entries_cannot_be_updated_or_deleted():
    entry = services.record(action=AuditAction.EXPORT, actor="a", target="grids.person")
    for statement in ("UPDATE audit_auditentry SET actor = 'b'", "DELETE FROM audit_auditentry"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    entry.refresh_from_db()
    assert entry.actor == "a"


def test_verify_audit_passes_on_an_intact_chain_and_names_a_changed_entry(capsys):
    for n in range(5):
        services.record(action=AuditAction.EXPORT, actor=f"user{n}")
    call_command("verify_audit")
    assert "5 entries" in capsys.readouterr().out
    victim = AuditEntry.objects.order_by("id")[2]
    with connection.cursor() as cursor:  # someone with database access edits a line behind the trigger's back
        cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only")
        cursor.execute("UPDATE audit_auditentry SET actor = 'mallory' WHERE id = %s", [victim.pk])
        cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_append_only")
    with pytest.raises(CommandError):
        call_command("verify_audit")
    assert f"#{victim.pk}" in capsys.readouterr().err


@pytest.fixture
def resident():
    grid = GridFactory()
    building = BuildingFactory()
    assert building.__class__.objects.get(pk=building.pk).grid_id == grid.pk
    return PersonFactory(household=HouseholdFactory(building=building)), grid


def test_reveal_needs_permission_and_reason_and_is_logged(client_for, resident):
    person, grid = resident
    worker = client_for(Role.WORKER)
    worker.staff.grids.set([grid])
    url = f"/api/v1/people/{person.pk}/reveal"
    assert worker.post(url, {"fields": ["id_number"], "reason": "核实身份"}, format="json").status_code == 403
    worker.staff.user.user_permissions.add(Permission.objects.get(codename="reveal_person"))
    assert worker.post(url, {"fields": ["id_number"]}, format="json").status_code == 400
    response = worker.post(url, {"fields": ["id_number", "phone"], "reason": "入户核实身份"}, format="json")
    assert response.status_code == 200
    assert response.json()["id_number"] == pii.decrypt(person.id_number_cipher)
    assert response["Cache-Control"] == "no-store"
    entry = AuditEntry.objects.get(action=AuditAction.REVEAL)
    assert entry.actor == worker.staff.user.username
    assert entry.detail == {"fields": ["id_number", "phone"], "reason": "入户核实身份"}


def test_managers_never_reveal_even_with_the_permission(client_for, resident):
    person, _ = resident
    manager = client_for(Role.MANAGER)
    manager.staff.user.user_permissions.add(Permission.objects.get(codename="reveal_person"))
    response = manager.post(
        f"/api/v1/people/{person.pk}/reveal", {"fields": ["id_number"], "reason": "统计核对"}, format="json"
    )
    assert response.status_code == 403
    assert not AuditEntry.objects.filter(action=AuditAction.REVEAL).exists()


def test_reveal_outside_the_workers_grids_is_refused(client_for, resident):
    person, _ = resident
    worker = client_for(Role.WORKER)
    worker.staff.user.user_permissions.add(Permission.objects.get(codename="reveal_person"))
    response = worker.post(
        f"/api/v1/people/{person.pk}/reveal", {"fields": ["phone"], "reason": "入户核实身份"}, format="json"
    )
    assert response.status_code == 403


def test_case_transitions_imports_and_exports_are_in_the_log(
    geo, client_for, tmp_path, django_capture_on_commit_callbacks
):
    from cases.models import Category
    from cases.services import apply_transition, create_case
    from grids.gisio.exporters import export_layer

    desk = client_for(Role.DISPATCHER, unit=geo.offices["W"]).staff.user
    case, _ = create_case(
        category=Category.objects.get(code="BJ0101"), point=geo.point("W1", "S"), description="井盖", source="hotline"
    )
    with django_capture_on_commit_callbacks(execute=True):
        apply_transition(case_id=case.pk, actor=desk, action="register", version=case.version)
    entry = AuditEntry.objects.get(action=AuditAction.TRANSITION)
    assert entry.actor == desk.username and entry.target == f"cases.case:{case.number}"
    assert entry.detail["action"] == "register" and entry.detail["to"] == "registered"

    export_layer(layer="grids", fmt="csv", path=tmp_path / "grids.csv", actor="exporter")
    exported = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert exported.actor == "exporter" and exported.detail["rows"]["grids"] == 4

    from django.core.management import call_command

    (tmp_path / "streets.csv").write_text(
        'code,name,wkt\n510403009,新街道,"POLYGON((101.7 26.7,101.71 26.7,101.71 26.71,101.7 26.71,101.7 26.7))"\n',
        encoding="utf-8",
    )
    call_command("import_layer", "streets", str(tmp_path / "streets.csv"), "--commit", "--no-progress")
    imported = AuditEntry.objects.get(action=AuditAction.IMPORT)
    assert imported.target == "grids.streets" and imported.detail["new"] == 1
    call_command("verify_audit")
