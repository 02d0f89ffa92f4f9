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

    assert APIClient().get("/api/schema/").status_code == 401
    response = admin_client_logged_in.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert "/api/v1/locate" in schema["paths"]
    docs = admin_client_logged_in.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/" in docs
    assert "cdn" not in docs.lower()
