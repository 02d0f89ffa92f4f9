"""The database goes away for a while under a real server: answers turn 503 JSON, then recover by themselves."""

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection

from grids.models import Role
from mobileapi.models import AccessToken
from tests.factories import StaffFactory
from tests.faults.proxy import CuttableProxy

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
        assert error.headers.get_content_type() == "application/json", raw[:200]
        return error.code, json.loads(raw)


def wait_for(predicate, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return False


@pytest.fixture
def server_behind_proxy(transactional_db):
    db = connection.settings_dict
    proxy = CuttableProxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgis://{db['USER']}:{db['PASSWORD']}@127.0.0.1:{proxy.port}/{db['NAME']}",
        "DEBUG": "0",
        "HTTPS": "0",
        "DB_CONNECT_TIMEOUT": "2",
    }
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "gridmgmt.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--timeout",
            "30",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return call(base, "/healthz")[0] == 200
        except (OSError, AssertionError):
            return False

    try:
        assert wait_for(healthy), "the server did not come up"
        yield base, proxy, healthy
    finally:
        server.terminate()
        server.wait(timeout=20)
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
    assert wait_for(healthy, 20), "service did not resume after the database came back"
    assert call(base, "/api/mobile/v1/me", token=token)[0] == 200
