"""Heavy reads from a real streaming replica (gridmgmt/reads.py): scripts/replica.sh copies this machine's cluster
into a hot standby on another port; the server started with DATABASE_REPLICA_URL reads its dashboard from there,
never writes there, and answers the same from the primary when the replica stops or falls behind."""

import json
import subprocess
import urllib.request
from datetime import timedelta
from pathlib import Path

import psycopg2
import pytest
from django.db import connection

from cases.models import Case
from grids.models import Role
from mobileapi.models import AccessToken
from tests import live
from tests.factories import StaffFactory
from tests.test_api_contract import case_body

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def replica_port():
    port = live.free_port()
    subprocess.run([ROOT / "scripts/replica.sh", "start", str(port)], check=True, capture_output=True)
    yield port
    subprocess.run([ROOT / "scripts/replica.sh", "remove", str(port)], check=True, capture_output=True)


def on_replica(port: int, sql: str):
    """As the superuser on the standby (pausing replay needs it), in the test database."""
    with psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname=connection.settings_dict["NAME"]) as db:
        db.autocommit = True
        with db.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchone()[0] if cursor.description else None


def cases_on_replica(port: int) -> int:
    return on_replica(port, "SELECT count(*) FROM cases_case")


def call(base: str, path: str, token: str, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        base + path,
        json.dumps(body).encode() if body is not None else None,
        {"Authorization": f"Token {token}", "Content-Type": "application/json"},
        method="POST" if body is not None else "GET",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


def dashboard_total(base: str, token: str) -> int:
    status, body = call(base, "/api/v1/dashboard/summary", token)
    assert status == 200
    return body["total"]


def token_of(role: str, **staff) -> str:
    _, key = AccessToken.issue(
        user=StaffFactory(role=role, **staff).user, device_id="replica", lifetime=timedelta(hours=1)
    )
    return key


def test_the_dashboard_reads_the_replica_writes_go_to_the_primary_and_a_stopped_replica_changes_no_answer(
    geo, replica_port
):
    manager = token_of(Role.MANAGER)
    dispatcher = token_of(Role.DISPATCHER, unit=geo.centre)
    replica_url = live.database_url(port=replica_port)
    server_env = {"DATABASE_REPLICA_URL": replica_url, "REPLICA_CHECK_SECONDS": "0"}

    with (
        live.gunicorn(db_url=live.database_url(), workers=1, REPLICA_MAX_LAG_SECONDS="3600", **server_env) as lenient,
        live.gunicorn(db_url=live.database_url(), workers=1, REPLICA_MAX_LAG_SECONDS="1", **server_env) as strict,
    ):
        # A write through a server that has a replica lands on the primary (a standby refuses writes).
        assert call(lenient, "/api/v1/cases", dispatcher, case_body(geo))[0] == 201
        assert live.wait_for(lambda: cases_on_replica(replica_port) == 1)
        assert dashboard_total(lenient, manager) == 1

        # Freeze the replica and file a second case: the lenient server's dashboard still shows the replica's
        # one case, so that is where it reads.
        on_replica(replica_port, "SELECT pg_wal_replay_pause()")
        try:
            assert call(lenient, "/api/v1/cases", dispatcher, case_body(geo))[0] == 201
            assert Case.objects.count() == 2
            assert dashboard_total(lenient, manager) == 1
            # A replica further behind than the bound (1 s here) is not used: the primary answers.
            assert live.wait_for(lambda: dashboard_total(strict, manager) == 2, seconds=10)
        finally:
            on_replica(replica_port, "SELECT pg_wal_replay_resume()")
        assert live.wait_for(lambda: dashboard_total(lenient, manager) == 2)

        # The replica stops: the same answers, from the primary, without an error.
        subprocess.run([ROOT / "scripts/replica.sh", "stop", str(replica_port)], check=True, capture_output=True)
        try:
            assert dashboard_total(lenient, manager) == 2
            assert call(lenient, "/api/v1/public/stats", manager)[0] == 200
            assert call(lenient, "/api/v1/cases", dispatcher, case_body(geo))[0] == 201
            assert dashboard_total(lenient, manager) == 3
        finally:
            subprocess.run([ROOT / "scripts/replica.sh", "start", str(replica_port)], check=True, capture_output=True)
