"""The database goes away for a while under a real server: answers turn 503 JSON, then recover by themselves."""

import json
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection

from grids.models import Role
from mobileapi.models import AccessToken
from tests import live
from tests.factories import StaffFactory
from tests.faults.proxy import CuttableProxy

ROOT = Path(__file__).resolve().parents[2]


def call(base: str, path: str, *, token: str | None = None, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(base + path, method="POST" if body is not None else "GET")
    if token:
        request.add_header("Authorization", f"Token {token}")
    if body is not None:
        request.add_header("Content-Type", "application/json")
        request.data = json.dumps(body).encode()
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        raw = error.read()
        expected = "application/problem+json" if path.startswith("/api/") else "application/json"  # /healthz
        assert error.headers.get_content_type() == expected, raw[:200]
        return error.code, json.loads(raw)


@pytest.fixture
def server_behind_proxy(transactional_db):
    db = connection.settings_dict
    proxy = CuttableProxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))
    try:
        with live.gunicorn(db_url=live.database_url(port=proxy.port), DB_CONNECT_TIMEOUT="2") as base:
            yield base, proxy, lambda: live.is_up(base)
    finally:
        proxy.close()


def test_outage_answers_503_json_and_service_resumes_by_itself(server_behind_proxy):
    base, proxy, healthy = server_behind_proxy
    staff = StaffFactory(role=Role.WORKER)
    _, token = AccessToken.issue(user=staff.user, device_id="pda", lifetime=timedelta(days=1))
    assert call(base, "/api/mobile/v1/me", token=token)[0] == 200

    proxy.cut()
    status, body = call(base, "/healthz")
    assert status == 503 and body["database"] == "down" and body["reason"]
    for path in ("/api/mobile/v1/me", "/api/v1/streets", "/api/v1/locate?lon=101.6&lat=26.6"):
        status, body = call(base, path, token=token)
        assert status == 503, path
        assert body["code"] == "database_unavailable"

    proxy.restore()
    assert live.wait_for(healthy, 20), "service did not resume after the database came back"
    assert call(base, "/api/mobile/v1/me", token=token)[0] == 200


def test_a_handheld_retrying_through_the_outage_ends_with_one_case_per_report(server_behind_proxy, geo):
    import uuid

    from django.utils import timezone

    from cases.models import Case

    base, proxy, healthy = server_behind_proxy
    staff = StaffFactory(role=Role.WORKER)
    _, token = AccessToken.issue(user=staff.user, device_id="pda", lifetime=timedelta(days=1))

    def report(point):
        return {
            "client_uuid": str(uuid.uuid4()),
            "category": "BJ0101",
            "description": "井盖缺失",
            "location": {"type": "Point", "coordinates": [point.x, point.y]},
            "captured_at": timezone.now().isoformat(),
        }

    before, during = report(geo.point("W1", "S")), report(geo.point("E1", "N"))
    assert call(base, "/api/mobile/v1/reports", token=token, body=before)[0] == 201
    proxy.cut()
    for body in (during, before, during):
        status, answer = call(base, "/api/mobile/v1/reports", token=token, body=body)
        assert status == 503 and answer["code"] == "database_unavailable"
    proxy.restore()
    assert live.wait_for(healthy, 20)
    outcomes = [call(base, "/api/mobile/v1/reports", token=token, body=body)[0] for body in (during, before, during)]
    assert outcomes == [201, 200, 200]
    assert Case.objects.count() == 2
