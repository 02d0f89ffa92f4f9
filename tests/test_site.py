"""Pages an administrator and an API client open first."""

import pytest

from grids import pii
from tests.factories import GridFactory, PersonFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_logged_in(client):
    user = UserFactory(username="root-admin", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


def test_admin_edits_a_grid_on_a_leaflet_map(admin_client_logged_in):
    grid = GridFactory()
    response = admin_client_logged_in.get(f"/admin/grids/grid/{grid.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "leaflet" in page.lower()
    assert grid.code in page


def test_person_admin_never_shows_a_full_id_number(admin_client_logged_in):
    person = PersonFactory()
    response = admin_client_logged_in.get(f"/admin/grids/person/{person.pk}/change/")
    assert response.status_code == 200
    assert person.id_number_masked in response.content.decode()
    assert pii.decrypt(person.id_number_cipher) not in response.content.decode()


def test_openapi_schema_and_docs_need_login_and_serve_without_internet(admin_client_logged_in):
    from rest_framework.test import APIClient

    assert APIClient().get("/api/schema").status_code == 401
    response = admin_client_logged_in.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert "/api/v1/locate" in schema["paths"]
    docs = admin_client_logged_in.get("/api/docs").content.decode()
    assert "/static/drf_spectacular_sidecar/" in docs
    assert "cdn" not in docs.lower()


def test_pages_open_in_chinese_whatever_the_browser_asks_until_the_switch_is_used(client):
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert page["Content-Language"] == "zh-hans"
    client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    assert client.get("/accounts/login/")["Content-Language"] == "en"


def test_api_clients_may_still_ask_for_english(client):
    response = client.get("/open311/v2/services.json", HTTP_ACCEPT_LANGUAGE="en")
    assert response["Content-Language"] == "en"
