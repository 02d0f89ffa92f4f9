"""The database bounds every web request (gridmgmt/dblimits.py): a statement past its time is stopped, answers
503 JSON, and the same worker serves the next request; management commands run without the limits."""

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.db import connection, transaction

from gridmgmt import dblimits
from grids.models import Role
from mobileapi.models import AccessToken
from tests import live
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db(transaction=True)


def get(base: str, path: str, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(base + path, headers={"Authorization": f"Token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        assert error.headers.get_content_type() == "application/problem+json"
        return error.code, json.loads(error.read())


def test_a_statement_past_the_time_limit_answers_503_and_the_worker_serves_the_next_request():
    staff = StaffFactory(role=Role.MANAGER)
    _, token = AccessToken.issue(user=staff.user, device_id="desk", lifetime=timedelta(days=1))
    with live.gunicorn(db_url=live.database_url(), workers=1, DB_STATEMENT_TIMEOUT="1s") as base:
        assert get(base, "/api/v1/dashboard/summary", token)[0] == 200
        # Hold the cases table: the dashboard's statement waits on it until its time is up. (Each request below
        # asks for other figures than the ones before, which the cache would answer without a statement.)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("LOCK TABLE cases_case IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            status, body = get(base, "/api/v1/dashboard/summary?level=1", token)
            waited = time.monotonic() - started
        assert status == 503 and body["code"] == "query_limit", body
        assert "1s" in body["detail"] and "请求" in body["detail"] and "request" not in body["detail"]  # Chinese only
        assert waited < 5, "the statement was not stopped at its limit"
        # The one worker, on the connection it kept, answers at once.
        started = time.monotonic()
        assert get(base, "/api/v1/dashboard/summary?level=2", token)[0] == 200
        assert time.monotonic() - started < 1


def test_web_connections_carry_the_limits_and_management_commands_do_not(settings):
    settings.DB_WEB_LIMITS = {
        "statement_timeout": "2s",
        "temp_file_limit": "64MB",
        "idle_in_transaction_session_timeout": "7s",
    }
    dblimits.enable()
    try:
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('statement_timeout'), current_setting('idle_in_transaction_session_timeout'),"
                " current_setting('temp_file_limit'), has_parameter_privilege('temp_file_limit', 'SET')"
            )
            statement, idle, temp, may_set_temp = cursor.fetchone()
        assert (statement, idle) == ("2s", "7s")
        if may_set_temp:
            assert temp == "64MB"
    finally:
        dblimits.disable()
        connection.close()
    shown = subprocess.run(
        [
            str(live.ROOT / ".venv/bin/python"),
            "manage.py",
            "shell",
            "-c",
            "from django.db import connection; c = connection.cursor(); c.execute('SHOW statement_timeout'); "
            "print(c.fetchone()[0])",
        ],
        cwd=live.ROOT,
        env={**os.environ, "DATABASE_URL": live.database_url()},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.stdout.strip().splitlines()[-1] == "0", shown.stderr
