"""The conventions every path under /api/ keeps (README, "Interface conventions"): one spelling without a trailing
slash that never changes a method, JSON 404s, UUIDs in either case, gzip for JSON of a kilobyte or more."""

import gzip
import json
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import UUIDConverter
from rest_framework.test import APIClient

from cases.models import Case
from grids.models import Role
from mobileapi.models import AccessToken
from tests import live
from tests.factories import GridFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def case_body(geo) -> dict:
    point = geo.point("E1", "N")
    return {
        "category": "BJ0101",
        "description": "井盖缺失",
        "location": {"type": "Point", "coordinates": [point.x, point.y]},
    }


def api_patterns():
    """(route, pattern) of every URL pattern under api/."""

    def walk(patterns, prefix: str):
        for pattern in patterns:
            route = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.startswith("api/"):
                yield route, pattern

    return list(walk(get_resolver().url_patterns, ""))


def test_every_api_path_is_spelled_without_a_trailing_slash():
    routes = [route for route, _ in api_patterns()]
    assert "api/v1/cases" in routes and "api/schema" in routes
    assert [route for route in routes if route.endswith("/")] == []


def test_every_uuid_in_an_api_path_is_read_in_either_case():
    uuid_routes = [
        route
        for route, pattern in api_patterns()
        if any("uuid" in type(converter).__name__.lower() for converter in pattern.pattern.converters.values())
    ]
    assert "api/mobile/v1/reports/<anycase_uuid:client_uuid>/photos" in uuid_routes
    lower_case_only = [
        route
        for route, pattern in api_patterns()
        if any(type(converter) is UUIDConverter for converter in pattern.pattern.converters.values())
    ]
    assert lower_case_only == [], "use <anycase_uuid:…> (gridmgmt.converters) for UUIDs in paths"


@pytest.fixture
def dispatcher(client_for, geo):
    return client_for(Role.DISPATCHER, unit=geo.centre)


def test_reads_on_the_slashed_spelling_are_sent_on_with_308(dispatcher, geo):
    for method in ("get", "head"):
        response = getattr(dispatcher, method)("/api/v1/grids/?page_size=1&street=1")
        assert response.status_code == 308, method
        assert response["Location"] == "/api/v1/grids?page_size=1&street=1"
    assert dispatcher.get("/api/v1/cases/").status_code == 308
    followed = dispatcher.get("/api/v1/grids/", {"page_size": 1}, follow=True)
    assert followed.status_code == 200 and followed.json()["type"] == "FeatureCollection"


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_write_on_the_slashed_spelling_is_a_problem_404_and_changes_nothing(dispatcher, geo, method):
    response = getattr(dispatcher, method)("/api/v1/cases/", case_body(geo), format="json")
    assert response.status_code == 404 and not response.has_header("Location")
    assert response["Content-Type"] == "application/problem+json"
    assert "/api/v1/cases" in response.json()["detail"] and response.json()["status"] == 404
    assert Case.objects.count() == 0
    # The canonical spelling takes the case.
    if method == "post":
        assert dispatcher.post("/api/v1/cases", case_body(geo), format="json").status_code == 201


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/v1/no-such-thing"),
        ("post", "/api/v1/no-such-thing"),
        ("get", "/api/v1/no-such-thing/"),
        ("post", "/api/"),
        ("get", "/api/v1/tiles/buildings/3/9/0.pbf"),  # out of range
        ("get", "/api/mobile/v1/reports/not-a-uuid/photos"),
    ],
)
def test_unknown_api_paths_are_problem_404s_never_html(dispatcher, method, path):
    response = getattr(dispatcher, method)(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] and response.json()["status"] == 404


def test_pages_keep_their_slash(dispatcher):
    from django.test import Client

    for page in ("/map", "/desk", "/admin"):
        response = Client().get(page)
        assert response.status_code == 301 and response["Location"] == page + "/", page


def test_json_of_a_kilobyte_or_more_is_gzipped_for_clients_that_accept_it(dispatcher, geo):
    plain = dispatcher.get("/api/v1/grids")
    assert len(plain.content) >= 1024 and not plain.has_header("Content-Encoding")
    packed = dispatcher.get("/api/v1/grids", HTTP_ACCEPT_ENCODING="gzip, deflate")
    assert packed["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed["Vary"]
    assert len(packed.content) < len(plain.content) // 2
    assert json.loads(gzip.decompress(packed.content)) == plain.json()
    # Small answers go out as they are (compression would cost more than it saves).
    small = dispatcher.get("/api/mobile/v1/me", HTTP_ACCEPT_ENCODING="gzip")
    assert len(small.content) < 1024 and not small.has_header("Content-Encoding")


def test_pages_and_answers_that_carry_secrets_are_never_gzipped(geo):
    from django.test import Client

    # A page (with its CSRF token) of well over a kilobyte.
    page = Client().get("/accounts/login/", HTTP_ACCEPT_ENCODING="gzip")
    assert len(page.content) >= 1024 and not page.has_header("Content-Encoding")
    # A token, next to the worker's grids: over a kilobyte, and not compressed (BREACH).
    worker = StaffFactory(role=Role.WORKER)
    worker.grids.set(GridFactory.create_batch(20, community=geo.grids["W1"].community))
    worker.user.set_password("a-password-long-enough")
    worker.user.save()
    for path in ("/api/mobile/v1/auth/token", "/api/v1/auth/token"):
        response = APIClient().post(
            path,
            {"username": worker.user.username, "password": "a-password-long-enough"},
            format="json",
            HTTP_ACCEPT_ENCODING="gzip",
        )
        assert response.status_code == 200, response.content
        if path.startswith("/api/mobile"):
            assert len(response.content) >= 1024
        assert not response.has_header("Content-Encoding"), path


@pytest.mark.django_db(transaction=True)
def test_real_http_clients_never_turn_a_post_into_a_get(geo):
    admin = UserFactory(username="contract-admin", is_superuser=True, is_staff=True)
    StaffFactory(user=admin, role=Role.ADMIN)
    _, key = AccessToken.issue(user=admin, device_id="contract", lifetime=timedelta(hours=1))
    headers = {"Authorization": f"Token {key}", "Content-Type": "application/json", "Accept-Encoding": "gzip"}

    with live.gunicorn(db_url=live.database_url(), workers=1) as base:
        # urllib, like most clients, follows a 301 as a GET; the slashed spelling must not give it the chance.
        request = urllib.request.Request(
            f"{base}/api/v1/cases/", json.dumps(case_body(geo)).encode(), headers, method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 404
        assert refused.value.headers["Content-Type"] == "application/problem+json"
        assert Case.objects.count() == 0

        # A read on the slashed spelling is followed (308) to the canonical one, and comes gzipped.
        request = urllib.request.Request(f"{base}/api/v1/grids/?page_size=100", headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.url == f"{base}/api/v1/grids?page_size=100"
            assert response.headers["Content-Encoding"] == "gzip"
            body = json.loads(gzip.decompress(response.read()))
        assert body["type"] == "FeatureCollection" and body["count"] == len(body["features"]) > 0

        request = urllib.request.Request(
            f"{base}/api/v1/cases", json.dumps(case_body(geo)).encode(), headers, method="POST"
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 201
        assert Case.objects.count() == 1
