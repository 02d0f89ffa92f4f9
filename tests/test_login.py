"""The login page: lockout after repeated failures, for the web as for tokens."""

import pytest

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


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
