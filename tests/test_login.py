"""The login page: lockout after repeated failures, for the web as for tokens."""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.hashers import MD5PasswordHasher
from rest_framework.test import APIClient

from gridmgmt import login_guard
from tests.concurrency import post_at_once
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_the_login_page_locks_an_account_after_repeated_failures(client, settings):
    UserFactory(username="zhao")
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        response = client.post("/accounts/login/", {"username": "zhao", "password": "not-it-123"})
        assert response.status_code == 200 and not response.wsgi_request.user.is_authenticated
    locked = client.post("/accounts/login/", {"username": "zhao", "password": "test-password-123"})
    assert not locked.wsgi_request.user.is_authenticated
    assert "登录失败次数过多" in locked.content.decode()
    # The admin's own login page is behind the same lock.
    assert not client.login(username="zhao", password="test-password-123")


def test_a_good_login_resets_the_count(client, settings):
    UserFactory(username="qian")
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        client.post("/accounts/login/", {"username": "qian", "password": "not-it-123"})
    assert client.login(username="qian", password="test-password-123")
    client.logout()
    client.post("/accounts/login/", {"username": "qian", "password": "not-it-123"})
    assert client.login(username="qian", password="test-password-123")


# --- How long, how atomic, for whom ---------------------------------------------------------------

TOKEN_URL = "/api/v1/auth/token"


def token_login(client, username: str, password: str, **meta):
    return client.post(TOKEN_URL, {"username": username, "password": password}, format="json", **meta)


def test_the_lock_lasts_fifteen_minutes_from_the_failure_that_locked_it(settings):
    UserFactory(username="sun")
    client = APIClient()
    start = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(settings.LOGIN_FAILURE_LIMIT):
            assert token_login(client, "sun", "not-it-123").status_code == 401
            clock.shift(timedelta(seconds=30))  # failures spread over two minutes: the lock counts from the last
        locked_at = start + timedelta(seconds=30 * (settings.LOGIN_FAILURE_LIMIT - 1))
        locked = token_login(client, "sun", "test-password-123")
        assert locked.status_code == 429
        assert int(locked["Retry-After"]) == 900 - 30
        assert "15 分钟" in locked.json()["detail"]

        clock.move_to(locked_at + timedelta(minutes=10))  # trying meanwhile does not move the end of the lock
        assert token_login(client, "sun", "not-it-123").status_code == 429
        clock.move_to(locked_at + timedelta(seconds=899))
        still = token_login(client, "sun", "test-password-123")
        assert still.status_code == 429 and int(still["Retry-After"]) == 1

        clock.move_to(locked_at + timedelta(seconds=900))
        assert token_login(client, "sun", "test-password-123").status_code == 200


def test_the_login_page_names_the_minutes_left(client, settings):
    UserFactory(username="zhou")
    start = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(settings.LOGIN_FAILURE_LIMIT):
            client.post("/accounts/login/", {"username": "zhou", "password": "not-it-123"})
        clock.shift(timedelta(minutes=6, seconds=10))
        page = client.post("/accounts/login/", {"username": "zhou", "password": "test-password-123"})
    assert "请 9 分钟后再试" in page.content.decode()


class SlowCountingHasher(MD5PasswordHasher):
    """A password hasher that takes as long as a real one and counts how often a password is checked."""

    checks = 0
    _lock = threading.Lock()

    def verify(self, password, encoded):
        with self._lock:
            SlowCountingHasher.checks += 1
        time.sleep(0.3)
        return super().verify(password, encoded)


@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_passwords_get_no_more_checks_than_the_limit(settings):
    settings.PASSWORD_HASHERS = ["tests.test_login.SlowCountingHasher"]
    UserFactory(username="wu")
    SlowCountingHasher.checks = 0
    statuses = post_at_once(
        credentials={}, url=TOKEN_URL, payload={"username": "wu", "password": "guess-123456"}, times=24
    )
    assert SlowCountingHasher.checks <= settings.LOGIN_FAILURE_LIMIT
    assert sorted(set(statuses)) == [401, 429] and statuses.count(401) == SlowCountingHasher.checks
    # Locked now, for the right password too.
    assert token_login(APIClient(), "wu", "test-password-123").status_code == 429


def test_an_account_is_locked_from_every_address_and_its_neighbours_are_not(settings):
    UserFactory(username="zheng")
    UserFactory(username="feng")
    client = APIClient()
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        assert token_login(client, "zheng", "not-it-123", REMOTE_ADDR="198.51.100.1").status_code == 401
    assert token_login(client, "zheng", "test-password-123", REMOTE_ADDR="198.51.100.99").status_code == 429
    # The same address still serves another account: five failures are not twenty.
    assert token_login(client, "feng", "test-password-123", REMOTE_ADDR="198.51.100.1").status_code == 200


def test_an_address_is_locked_after_failures_over_many_accounts_and_others_are_not(settings):
    UserFactory(username="chen")
    client = APIClient()
    for n in range(settings.LOGIN_FAILURE_LIMIT * 4):
        assert token_login(client, f"nobody{n}", "not-it-123", REMOTE_ADDR="198.51.100.2").status_code == 401
    assert token_login(client, "chen", "test-password-123", REMOTE_ADDR="198.51.100.2").status_code == 429
    assert token_login(client, "chen", "test-password-123", REMOTE_ADDR="198.51.100.3").status_code == 200


def test_good_logins_from_one_address_never_lock_it(settings):
    UserFactory(username="chu")
    client = APIClient()
    for _ in range(settings.LOGIN_FAILURE_LIMIT * 4 + 5):
        assert token_login(client, "chu", "test-password-123", REMOTE_ADDR="198.51.100.4").status_code == 200


def test_behind_a_trusted_proxy_the_address_lock_keys_on_the_forwarded_client(settings):
    settings.TRUSTED_PROXY_HEADER = "X-Forwarded-For"
    UserFactory(username="wei")
    client = APIClient()
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for n in range(settings.LOGIN_FAILURE_LIMIT * 4):
        response = token_login(client, f"nobody{n}", "x-123456789", HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy)
        assert response.status_code == 401
    # The noisy client is locked out; everyone else behind the same proxy still logs in.
    noisy = token_login(client, "wei", "test-password-123", HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy)
    assert noisy.status_code == 429
    assert (
        token_login(client, "wei", "test-password-123", HTTP_X_FORWARDED_FOR="203.0.113.8", **proxy).status_code == 200
    )
    # What the client itself put in front of the proxy's entry is not believed.
    forged = token_login(client, "wei", "test-password-123", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7", **proxy)
    assert forged.status_code == 429


def test_without_a_trusted_proxy_a_forwarded_for_header_changes_nothing(settings):
    assert settings.TRUSTED_PROXY_HEADER == ""
    UserFactory(username="jiang")
    client = APIClient()
    for n in range(settings.LOGIN_FAILURE_LIMIT * 4):
        forged = {"HTTP_X_FORWARDED_FOR": f"203.0.113.{n}", "REMOTE_ADDR": "198.51.100.5"}
        assert token_login(client, f"nobody{n}", "x-123456789", **forged).status_code == 401
    locked = token_login(
        client, "jiang", "test-password-123", HTTP_X_FORWARDED_FOR="9.9.9.9", REMOTE_ADDR="198.51.100.5"
    )
    assert locked.status_code == 429


@pytest.mark.parametrize(
    ("header", "count", "meta", "address"),
    [
        ("", 1, {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "203.0.113.7"}, "10.0.0.2"),
        (
            "X-Forwarded-For",
            1,
            {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "1.1.1.1, 203.0.113.7"},
            "203.0.113.7",
        ),
        (
            "X-Forwarded-For",
            2,
            {"REMOTE_ADDR": "10.0.0.3", "HTTP_X_FORWARDED_FOR": "203.0.113.7, 10.0.0.2"},
            "203.0.113.7",
        ),
        ("X-Forwarded-For", 2, {"REMOTE_ADDR": "10.0.0.3", "HTTP_X_FORWARDED_FOR": "10.0.0.2"}, "10.0.0.3"),
        ("X-Forwarded-For", 1, {"REMOTE_ADDR": "10.0.0.2"}, "10.0.0.2"),
        ("X-Forwarded-For", 1, {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "../../etc"}, "10.0.0.2"),
        ("X-Real-IP", 1, {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_REAL_IP": "2001:db8::1"}, "2001:db8::1"),
    ],
)
def test_the_client_address(settings, rf, header, count, meta, address):
    settings.TRUSTED_PROXY_HEADER, settings.TRUSTED_PROXY_COUNT = header, count
    request = rf.get("/", **meta)
    assert login_guard.client_address(request) == address
