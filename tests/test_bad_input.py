"""Hostile bodies and impossible dates are clear 4xx answers in each endpoint's own format, never a 500."""

import json

import pytest
from django.test import Client

from cases.models import Case
from gridmgmt.parsers import MAX_JSON_DEPTH
from grids.models import Role
from mobileapi.models import Photo
from mobileapi.open311.services import seed_demo_key
from tests.mobileapi.test_reports import report

pytestmark = pytest.mark.django_db

TOKEN_URLS = ["/api/v1/auth/token", "/api/mobile/v1/auth/token"]
DEEP = "[" * 1100 + "]" * 1100
DEEP_OBJECT = '{"a":' * 1100 + "1" + "}" * 1100


class UnreadableBody:
    """A request body that fails the test if the server starts reading it."""

    def read(self, *args):
        raise AssertionError("the body was read before the request was refused")

    readline = read


def anonymous() -> Client:
    """A client without credentials that asks for English answers (the messages checked below are English)."""
    return Client(raise_request_exception=True, HTTP_ACCEPT_LANGUAGE="en")


@pytest.mark.parametrize("url", TOKEN_URLS)
@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT])
def test_deeply_nested_json_to_the_token_endpoints_is_a_400(url, body):
    response = anonymous().post(url, body, content_type="application/json")
    assert response.status_code == 400
    assert "nested more than" in response.json()["detail"]


def test_deeply_nested_json_to_other_endpoints_is_a_400(client_for, geo):
    worker = client_for(Role.WORKER)
    dispatcher = client_for(Role.DISPATCHER, unit=geo.centre)
    for client, url in [(worker, "/api/mobile/v1/reports"), (dispatcher, "/api/v1/cases")]:
        response = client.post(url, DEEP_OBJECT, content_type="application/json")
        assert response.status_code == 400, (url, response.content)
        assert "嵌套超过 64 层" in response.json()["detail"]  # in Chinese unless asked otherwise
    assert Case.objects.count() == 0


def test_deeply_nested_json_to_open311_is_a_400_in_the_spec_format():
    seed_demo_key(scale="tiny", seed=1, stdout=None)
    response = anonymous().post("/open311/v2/requests.json", DEEP_OBJECT, content_type="application/json")
    assert response.status_code == 400
    assert response.json()[0]["code"] == 400 and "nested more than" in response.json()[0]["description"]


def test_json_nested_within_the_limit_and_brackets_inside_strings_are_read_as_usual():
    deepest_allowed = json.loads("[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1))
    nested = {"username": "nobody", "password": "x" * 12, "extra": deepest_allowed}
    for body in [json.dumps(nested), json.dumps({"username": "[" * 5000, "password": "{" * 5000})]:
        response = anonymous().post("/api/v1/auth/token", body, content_type="application/json")
        assert response.status_code in (400, 401), response.content
        assert "nested" not in response.content.decode()


@pytest.mark.parametrize("url", [*TOKEN_URLS, "/api/v1/cases"])
def test_a_json_body_over_the_limit_is_a_json_413_refused_before_reading(url, settings):
    response = anonymous().generic(
        "POST",
        url,
        b"",
        content_type="application/json",
        CONTENT_LENGTH=str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1),
        **{"wsgi.input": UnreadableBody()},
    )
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert "larger than 5 MB" in response.json()["detail"] and response.json()["status"] == 413


def test_a_real_oversized_json_body_is_a_json_413(settings):
    body = json.dumps({"username": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10), "password": "y"})
    response = anonymous().post("/api/mobile/v1/auth/token", body, content_type="application/json")
    assert response.status_code == 413 and response.json()["code"] == "too_large"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_oversized_open311_post_is_a_413_in_the_spec_format(fmt, settings):
    body = json.dumps({"description": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)})
    response = anonymous().post(f"/open311/v2/requests.{fmt}", body, content_type="application/json")
    assert response.status_code == 413
    if fmt == "json":
        assert response.json() == [{"code": 413, "description": response.json()[0]["description"]}]
    else:
        assert b"<errors><error><code>413</code>" in response.content


@pytest.mark.parametrize("to_report", [False, True])
def test_a_photo_upload_declaring_50_mb_is_a_413_before_its_body_is_read(client_for, geo, to_report):
    worker = client_for(Role.WORKER)
    url = "/api/mobile/v1/photos"
    if to_report:
        worker.staff.grids.set([geo.grids["W1"]])
        payload = report(geo.point("W1", "S"))
        assert worker.post("/api/mobile/v1/reports", payload, format="json").status_code == 201
        url = f"/api/mobile/v1/reports/{payload['client_uuid']}/photos"
    response = worker.generic(
        "POST",
        url,
        b"",
        content_type="multipart/form-data; boundary=BoUnDaRy",
        CONTENT_LENGTH=str(50 * 1024 * 1024),
        **{"wsgi.input": UnreadableBody()},
    )
    assert response.status_code == 413
    assert "10 MB" in response.json()["errors"]["photo"][0] and "10 MB" in response.json()["detail"]
    assert Photo.objects.count() == 0


@pytest.mark.parametrize("since", ["2026-02-30", "2026-13-01", "2026-00-10"])
def test_an_impossible_export_date_is_a_400_naming_it(client_for, since):
    admin = client_for(Role.ADMIN)
    response = admin.get("/api/v1/export/cases.csv", {"since": since}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "since must be a real date" in response.json()["detail"]
    response = admin.get("/api/v1/export/cases.csv", {"until": since}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "until" in response.json()["detail"]
