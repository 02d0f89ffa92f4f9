"""Every error under /api/ is RFC 9457 problem details (application/problem+json) in the request's language;
Open311 keeps its specification's error format (gridmgmt/problems.py)."""

import json
import re
import urllib.error
import urllib.request
from datetime import timedelta

import pytest

from cases.models import Case
from grids.models import Role
from mobileapi.models import AccessToken
from tests import live
from tests.factories import StaffFactory, UserFactory

PROBLEM = "application/problem+json"
CJK = re.compile(r"[\u4e00-\u9fff]")
MEMBERS = {"type", "title", "status", "detail"}


def assert_problem(status: int, headers, body: bytes, expected: int, *, english: bool) -> dict:
    assert status == expected, body[:300]
    assert headers["Content-Type"] == PROBLEM, (expected, headers["Content-Type"])
    problem = json.loads(body)
    assert MEMBERS <= problem.keys() and problem["status"] == expected, problem
    assert problem["type"] == "about:blank" or problem["type"].startswith("tag:gridmgmt,"), problem
    said = problem["title"] + problem["detail"] + json.dumps(problem.get("errors", {}), ensure_ascii=False)
    if english:
        assert not CJK.search(said), problem  # English only, not Chinese beside it
    else:
        assert CJK.search(problem["title"]) and CJK.search(problem["detail"]), problem
        assert not re.search(r"[。）] ?[A-Z][a-z]+ ", problem["detail"]), problem  # no English half after it
    return problem


# --- through Django's test client ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_nested_field_errors_are_dotted_paths_in_errors(client_for, geo):
    worker = client_for(Role.WORKER)
    worker.staff.grids.set([geo.grids["W1"]])
    body = {
        "client_uuid": "0b5e8a2c-3f0e-4a57-9c1f-6f3c2d2a9e01",
        "kind": "add_person",
        "building": 1,
        "captured_at": "2026-12-01T09:30:00+08:00",
        "proposed": {"floor": "high", "care_tags": ["veteran", "nobody"]},
    }
    response = worker.post("/api/mobile/v1/registry-changes", body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    problem = assert_problem(response.status_code, response, response.content, 400, english=True)
    assert problem["type"] == "tag:gridmgmt,2026:problems/validation" and problem["title"] == "Invalid input"
    assert {"proposed.floor", "proposed.care_tags.1"} <= problem["errors"].keys(), problem
    assert all(isinstance(m, list) and all(isinstance(t, str) for t in m) for m in problem["errors"].values())
    assert "proposed.floor" in problem["detail"]


@pytest.mark.django_db
def test_a_refused_transition_keeps_its_members_beside_the_problem_ones(client_for, geo):
    from cases.models import Category
    from cases.services import create_case

    category = Category.objects.get(code="BJ0101")
    case, _ = create_case(category=category, point=geo.point("W1", "S"), description="井盖缺失", source="hotline")
    admin = client_for(Role.ADMIN)
    response = admin.post(
        f"/api/v1/cases/{case.pk}/transitions", {"action": "close", "version": case.version}, format="json"
    )
    problem = assert_problem(response.status_code, response, response.content, 409, english=False)
    assert problem["type"] == "tag:gridmgmt,2026:problems/transition-refused"
    assert problem["reason"] and isinstance(problem["allowed_actions"], list) and problem["state"] == case.state


@pytest.mark.django_db
def test_a_nul_is_a_problem_under_api_and_open311s_own_error_there(client_for, api_client):
    response = client_for(Role.MANAGER).get("/api/v1/streets?name=%00")
    assert_problem(response.status_code, response, response.content, 400, english=False)
    assert response.json()["code"] == "nul"

    response = api_client.get("/open311/v2/services.json?jurisdiction_id=%00")
    assert response.status_code == 400 and response["Content-Type"].startswith("application/json")
    assert response.json()[0]["code"] == 400 and response.json()[0]["description"]
    response = api_client.get("/open311/v2/services.xml?jurisdiction_id=%00")
    assert response.status_code == 400 and response["Content-Type"].startswith("text/xml")
    assert b"<errors><error><code>400</code>" in response.content


@pytest.mark.django_db
def test_a_server_failure_under_api_is_a_problem_not_a_page(client_for, monkeypatch):
    from django.test import Client

    from grids import views

    def fail(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views.LocateView, "get", fail)
    client = Client(raise_request_exception=False)
    staff = StaffFactory(role=Role.MANAGER)
    _, key = AccessToken.issue(user=staff.user, device_id="t", lifetime=timedelta(hours=1))
    response = client.get(
        "/api/v1/locate?lon=101.7&lat=26.5", HTTP_AUTHORIZATION=f"Token {key}", HTTP_ACCEPT_LANGUAGE="en"
    )
    problem = assert_problem(response.status_code, response, response.content, 500, english=True)
    assert "boom" not in response.content.decode()
    assert problem["title"] == "Internal Server Error"


# --- against the running server ------------------------------------------------------------------------------------


def call(base: str, path: str, *, method="GET", body: bytes | None = None, headers=None):
    request = urllib.request.Request(base + path, body, headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.mark.django_db(transaction=True)
def test_every_kind_of_api_error_is_problem_json_in_the_requests_language(geo):
    admin = UserFactory(username="problem-admin", is_superuser=True, is_staff=True)
    StaffFactory(user=admin, role=Role.ADMIN)
    _, key = AccessToken.issue(user=admin, device_id="problems", lifetime=timedelta(hours=1))
    token = {"Authorization": f"Token {key}"}
    as_json = {**token, "Content-Type": "application/json"}
    # Declared larger than the server takes (5 MB): refused before a byte of it is read.
    too_large = {**as_json, "Content-Length": str(6 * 1024 * 1024)}

    with live.gunicorn(db_url=live.database_url(), workers=1) as base:
        for language, english in ((None, False), ("en", True), ("en-US,en;q=0.9", True), ("zh-CN", False)):
            asked = {"Accept-Language": language} if language else {}
            seen = {}
            for name, path, method, body, headers, expected in [
                ("unknown path", "/api/v1/no-such-thing", "GET", None, token, 404),
                ("slashed write", "/api/v1/cases/", "POST", b"{}", as_json, 404),
                ("method", "/api/v1/streets", "PUT", b"{}", as_json, 405),
                ("media type", "/api/v1/cases", "POST", b"description=x", {**token, "Content-Type": "text/plain"}, 415),
                ("too large", "/api/v1/cases", "POST", b"{}", too_large, 413),
                ("no token", "/api/v1/streets", "GET", None, {}, 401),
                ("validation", "/api/v1/cases", "POST", b'{"description": ""}', as_json, 400),
                ("bad JSON", "/api/v1/cases", "POST", b'{"description": ', as_json, 400),
                ("not acceptable", "/api/schema", "GET", None, {**token, "Accept": "image/png"}, 406),
            ]:  # fmt: skip
                headers = {**headers, **asked}
                status, answer_headers, answer = call(base, path, method=method, body=body, headers=headers)
                seen[name] = assert_problem(status, answer_headers, answer, expected, english=english)
                if name == "no token":
                    assert answer_headers["WWW-Authenticate"] == "Token"
                if name == "method":
                    assert "GET" in answer_headers["Allow"]
            assert "category" in seen["validation"]["errors"] and "description" in seen["validation"]["errors"]
            assert seen["validation"]["type"].endswith("/validation")
            assert seen["too large"]["code"] == "too_large" and "5 MB" in seen["too large"]["detail"]
            assert seen["unknown path"]["title"] == ("Not Found" if english else "未找到")
        assert Case.objects.count() == 0

        # Open311 answers in its own specification's format, not problem details.
        status, headers, answer = call(base, "/open311/v2/no-such-thing.json")
        assert status == 404 and headers["Content-Type"].startswith("application/json")
        assert json.loads(answer)[0]["code"] == 404
        status, headers, answer = call(
            base, "/open311/v2/requests.json", method="POST", body=b"api_key=x",
            headers={"Content-Type": "application/x-www-form-urlencoded", "Content-Length": str(6 * 1024 * 1024)},
        )  # fmt: skip
        assert status == 413 and headers["Content-Type"].startswith("application/json")
        assert json.loads(answer)[0]["code"] == 413
