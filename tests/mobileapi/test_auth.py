"""A handheld logs in, works with its token, and loses access when the token expires or is revoked."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from grids.models import Role
from mobileapi.models import AccessToken
from tests.factories import GridFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db
TOKEN_URL = "/api/mobile/v1/auth/token"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def worker():
    staff = StaffFactory(role=Role.WORKER, user=UserFactory(username="wang"))
    staff.grids.set([GridFactory(name="第1网格")])
    return staff


def login(client, password="test-password-123", username="wang"):
    return client.post(TOKEN_URL, {"username": username, "password": password, "device_id": "PDA-7"}, format="json")


def test_login_gives_a_token_that_opens_me(worker):
    client = APIClient()
    response = login(client)
    assert response.status_code == 200
    body = response.json()
    assert body["worker"]["username"] == "wang"
    assert [g["name"] for g in body["worker"]["grids"]] == ["第1网格"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    me = client.get("/api/mobile/v1/me")
    assert me.status_code == 200 and me.json()["role"] == "worker"
    # The key itself is not stored.
    assert not AccessToken.objects.filter(digest=body["token"]).exists()


def test_wrong_password_and_missing_fields(worker):
    client = APIClient()
    assert login(client, password="nope").status_code == 401
    response = client.post(TOKEN_URL, {"device_id": "x"}, format="json")
    assert response.status_code == 400
    assert {"username", "password"} <= set(response.json()["errors"])


def test_repeated_failures_lock_the_account_even_for_the_right_password(worker, settings):
    client = APIClient()
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        assert login(client, password="wrong-guess").status_code == 401
    locked = login(client)
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) > 0


@pytest.mark.parametrize("header", [None, "Token nonsense", "Token ", "Bearer abc"])
def test_no_or_bad_token_is_401(header):
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    assert client.get("/api/mobile/v1/me").status_code == 401


def test_expired_and_revoked_tokens_are_refused(worker):
    client = APIClient()
    key = login(client).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.delete(TOKEN_URL).status_code == 204
    assert client.get("/api/mobile/v1/me").status_code == 401

    key = login(client).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    AccessToken.objects.filter(user=worker.user, revoked_at__isnull=True).update(expires_at=timezone.now())
    response = client.get("/api/mobile/v1/me")
    assert response.status_code == 401
    assert "过期" in response.json()["detail"]


# --- A new password or a deactivated account ends the tokens ----------------------------------------


@pytest.fixture
def handheld(worker):
    """A client holding a live token of the worker."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {login(client).json()['token']}")
    assert client.get("/api/mobile/v1/me").status_code == 200
    return client


def assert_token_revoked(handheld):
    response = handheld.get("/api/mobile/v1/me")
    assert response.status_code == 401 and "注销" in response.json()["detail"]


def test_changing_the_password_on_the_page_revokes_the_tokens(worker, handheld, client):
    client.force_login(worker.user)
    page = client.post(
        "/accounts/password_change/",
        {"old_password": "test-password-123", "new_password1": "river-lantern-42", "new_password2": "river-lantern-42"},
    )
    assert page.status_code == 302
    assert_token_revoked(handheld)
    assert login(APIClient(), password="river-lantern-42").status_code == 200  # a new login gets a new token


def test_resetting_the_password_by_mail_revokes_the_tokens(worker, handheld, client, mailoutbox):
    worker.user.email = "wang@example.org"
    worker.user.save()
    assert client.post("/accounts/password_reset/", {"email": "wang@example.org"}).status_code == 302
    link = next(line for line in mailoutbox[0].body.splitlines() if "/accounts/reset/" in line).strip()
    form = client.get(link, follow=True)
    page = client.post(
        form.redirect_chain[-1][0], {"new_password1": "river-lantern-42", "new_password2": "river-lantern-42"}
    )
    assert page.status_code == 302 and page["Location"].endswith("/accounts/reset/done/")
    assert_token_revoked(handheld)


def test_an_administrator_setting_a_password_revokes_the_tokens(worker, handheld, client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    page = client.post(
        f"/admin/auth/user/{worker.user.pk}/password/",
        {"password1": "river-lantern-42", "password2": "river-lantern-42", "usable_password": "true"},
    )
    assert page.status_code == 302
    assert_token_revoked(handheld)


def test_set_password_and_save_revokes_the_tokens(worker, handheld):
    worker.user.set_password("river-lantern-42")
    worker.user.save()
    assert_token_revoked(handheld)


def test_deactivating_the_account_revokes_the_tokens(worker, handheld):
    worker.user.is_active = False
    worker.user.save()
    assert AccessToken.objects.filter(user=worker.user, revoked_at__isnull=True).count() == 0
    worker.user.is_active = True  # switched on again, the old token stays dead
    worker.user.save()
    assert_token_revoked(handheld)


def test_other_changes_to_the_account_keep_the_tokens(worker, handheld):
    worker.user.first_name = "王"
    worker.user.save()
    worker.user.save(update_fields=["last_login"])
    assert handheld.get("/api/mobile/v1/me").status_code == 200
