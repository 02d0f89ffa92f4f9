import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from tests.factories import StaffFactory


@pytest.fixture(autouse=True, scope="session")
def plain_static_files():
    """Tests render pages without running collectstatic first."""
    with override_settings(
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    ):
        yield


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def client_for(db):
    """An API client logged in with a token as a new account of the given role."""

    def make(role: str = "worker", **staff_fields) -> APIClient:
        from rest_framework.authtoken.models import Token

        staff = StaffFactory(role=role, **staff_fields)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff.user).key}")
        client.staff = staff
        return client

    return make
