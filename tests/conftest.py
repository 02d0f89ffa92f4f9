import pytest
from rest_framework.test import APIClient

from tests.factories import StaffFactory


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
