"""The web server's database role (DATABASE_URL) reads and writes rows and can do nothing else.

These tests connect to the test database as the runtime role, which the test database's migrate granted
exactly as the real one does (gridmgmt/database_roles.py, after every migrate). They need the two roles of
the set-up (`make run` writes both URLs into .env); with one URL for both there is no runtime role to test.
"""

import contextlib
import io
import json
import uuid
from datetime import timedelta

import psycopg2
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from psycopg2 import errors

from audit.models import AuditAction, AuditEntry
from cases.models import Case, CaseEvent, State
from gridmgmt.database_roles import APPEND_ONLY_TABLES, READ_ONLY_TABLES, SCHEMA, runtime_role
from grids.models import Building, Role
from tests.cases.helpers import act, dispatcher

pytestmark = pytest.mark.skipif(
    runtime_role() is None, reason="DATABASE_URL and DATABASE_OWNER_URL name one role: no runtime role to test"
)


def runtime_connect():
    """A connection to the test database as the runtime role."""
    runtime = settings.RUNTIME_DATABASE
    return psycopg2.connect(
        host=runtime["HOST"] or None,
        port=runtime["PORT"] or None,
        user=runtime["USER"],
        password=runtime["PASSWORD"] or None,
        dbname=connection.settings_dict["NAME"],
    )


@pytest.fixture
def runtime(db):
    conn = runtime_connect()
    yield conn
    conn.close()


def refused(conn, statement: str) -> str:
    """Run `statement` as the runtime role; the refusal's message (the test fails if it went through)."""
    with conn.cursor() as cursor:
        try:
            cursor.execute(statement)
        except errors.InsufficientPrivilege as error:
            conn.rollback()
            return error.pgerror
        finally:
            conn.rollback()
    pytest.fail(f"the runtime role was allowed: {statement}")


def test_the_runtime_role_is_no_superuser_owns_nothing_and_reads_no_server_files(runtime):
    with runtime.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication FROM pg_roles"
            " WHERE rolname = current_user"
        )
        assert cursor.fetchone() == (False, False, False, False, False)
        cursor.execute(
            "SELECT pg_has_role('pg_read_server_files', 'USAGE'), pg_has_role('pg_write_server_files', 'USAGE'),"
            " pg_has_role('pg_execute_server_program', 'USAGE')"
        )
        assert cursor.fetchone() == (False, False, False)
        cursor.execute("SELECT count(*) FROM pg_class WHERE pg_has_role(relowner, 'USAGE')")
        assert cursor.fetchone() == (0,)  # not a table, sequence or index of its own


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE grids_person ADD COLUMN stolen text",  # not the owner
        "DROP TABLE audit_auditentry",
        f"CREATE TABLE {SCHEMA}.stolen (line text)",
        "TRUNCATE grids_person",
        "TRUNCATE audit_auditentry",
        "TRUNCATE cases_caseevent",
        "UPDATE audit_auditentry SET actor = 'nobody'",
        "DELETE FROM audit_auditentry",
        "UPDATE cases_caseevent SET note = 'rewritten'",
        "DELETE FROM cases_caseevent",
        "DELETE FROM django_migrations",
        "ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only",
        "ALTER TABLE cases_caseevent DISABLE TRIGGER ALL",
        "SET session_replication_role = replica",  # would silence every trigger
        "COPY (SELECT 1) TO PROGRAM 'id'",
        "COPY grids_person TO '/tmp/persons.csv'",
        "COPY grids_person (name) FROM '/etc/passwd'",
        "SELECT pg_read_file('/etc/passwd')",
        "SELECT pg_read_binary_file('/etc/passwd')",
        "SELECT pg_ls_dir('.')",
        "SELECT lo_import('/etc/passwd')",
        "ALTER ROLE CURRENT_USER SUPERUSER",
    ],
)
def test_the_runtime_role_is_refused(runtime, statement):
    message = refused(runtime, statement)
    assert "permission denied" in message or "must be" in message


def test_every_table_is_granted_row_access_append_only_tables_only_insert_read_only_tables_only_read(runtime):
    with runtime.cursor() as cursor:
        cursor.execute(
            """SELECT c.relname, has_table_privilege(c.oid, 'SELECT'), has_table_privilege(c.oid, 'INSERT'),
                      has_table_privilege(c.oid, 'UPDATE'), has_table_privilege(c.oid, 'DELETE'),
                      has_table_privilege(c.oid, 'TRUNCATE'), has_table_privilege(c.oid, 'TRIGGER'),
                      has_table_privilege(c.oid, 'REFERENCES')
               FROM pg_class c
               WHERE c.relnamespace = %s::regnamespace AND c.relkind IN ('r', 'p')
                 AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')""",
            [SCHEMA],
        )
        grants = {name: privileges for name, *privileges in cursor.fetchall()}
    assert {"grids_person", "cases_case", "auth_user", *APPEND_ONLY_TABLES} <= set(grants)
    for table, privileges in grants.items():
        inserts = table not in READ_ONLY_TABLES
        writes = inserts and table not in APPEND_ONLY_TABLES
        assert privileges == [True, inserts, writes, writes, False, False, False], table


def test_every_table_with_an_append_only_trigger_is_listed(runtime):
    with runtime.cursor() as cursor:
        cursor.execute("SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger WHERE tgname LIKE '%%append_only%%'")
        guarded = {name for (name,) in cursor.fetchall()}
    assert guarded and guarded <= set(APPEND_ONLY_TABLES)


@contextlib.contextmanager
def web_connection_as_runtime_role():
    """Django's own connection logs in as the runtime role for the block, as the web server does."""
    saved = {key: connection.settings_dict[key] for key in ("USER", "PASSWORD")}
    connection.close()
    connection.settings_dict.update(
        USER=settings.RUNTIME_DATABASE["USER"], PASSWORD=settings.RUNTIME_DATABASE["PASSWORD"]
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone() == (settings.RUNTIME_DATABASE["USER"],)
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


@pytest.mark.django_db(transaction=True)
def test_what_the_web_app_writes_works_as_the_runtime_role(geo, client_for, tmp_path):
    worker = client_for(Role.WORKER)
    worker.staff.grids.set([geo.grids["W1"]])
    desk = dispatcher(geo.offices["W"])
    admin = get_user_model().objects.create_superuser("root-admin", password="long-enough-password-1")
    spot = geo.point("W1", "S")
    layer = tmp_path / "buildings.geojson"
    footprint = [[[spot.x + dx, spot.y + dy] for dx, dy in ((0, 0), (1e-4, 0), (1e-4, 1e-4), (0, 1e-4), (0, 0))]]
    feature = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": footprint}}
    layer.write_text(
        json.dumps({"type": "FeatureCollection", "features": [{**feature, "properties": {"code": "R1", "floors": 3}}]})
    )

    with web_connection_as_runtime_role():
        # A handheld report: prepared statements, the case, its first event, the audit trail.
        answer = worker.post(
            "/api/mobile/v1/reports",
            {
                "client_uuid": str(uuid.uuid4()),
                "category": "BJ0101",
                "description": "井盖缺失",
                "location": {"type": "Point", "coordinates": [spot.x, spot.y]},
                "captured_at": (timezone.now() - timedelta(hours=1)).isoformat(),
            },
            format="json",
        )
        assert answer.status_code == 201, answer.content
        case = act(Case.objects.get(pk=answer.json()["id"]), desk, "register")  # UPDATE and a new event
        assert case.state == State.REGISTERED
        # A login on the page (sessions, the lockout counter in the cache table, an audit entry), the admin.
        browser = Client()
        login = browser.post("/accounts/login/", {"username": "root-admin", "password": "long-enough-password-1"})
        assert login.status_code == 302
        assert browser.get("/admin/cases/case/").status_code == 200
        assert browser.get("/api/v1/export/grids.csv").status_code == 200
        # The import: a temporary staging table, COPY, the grid trigger standing down (SET LOCAL).
        call_command("import_layer", "buildings", str(layer), "--commit", "--no-progress", stdout=io.StringIO())
        assert Building.objects.get(code="R1").grid == geo.grids["W1"]

    assert CaseEvent.objects.filter(case=case).count() == 2
    assert AuditEntry.objects.filter(action=AuditAction.LOGIN, actor=admin.username).exists()
