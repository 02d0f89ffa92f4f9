from datetime import timedelta

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from mobileapi.models import AccessToken
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


@pytest.fixture(autouse=True)
def audit_checkpoints_per_test(settings, tmp_path):
    """Each test's audit checkpoints in its own folder: the database is rolled back after every test, and
    checkpoints left by one must not be compared with another's audit log."""
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "audit-checkpoints"


@pytest.fixture(autouse=True)
def empty_cache(settings):
    """Each test starts with nothing of this run's in the shared cache (Redis, not rolled back with the database):
    the keys under the test database's prefix are deleted, other users of the same Redis are left alone."""
    from django.core.cache import cache

    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(f"{settings.CACHES['default']['KEY_PREFIX']}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def client_for(db):
    """An API client logged in with a token as a new account of the given role."""

    def make(role: str = "worker", **staff_fields) -> APIClient:
        staff = StaffFactory(role=role, **staff_fields)
        client = APIClient()
        _, key = AccessToken.issue(user=staff.user, device_id="test", lifetime=timedelta(days=1))
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        client._credentials = {"HTTP_AUTHORIZATION": f"Token {key}"}
        client.staff = staff
        return client

    return make


# Reference data (categories, calendar) and the small case geography, for every test directory.
# The one headless Chromium of the browser tests.
from tests.browser import chromium  # noqa: E402, F401
from tests.cases.conftest import geo, reference_data  # noqa: E402, F401
