"""Repeated failed logins lock an account name (and a noisy address) for a while.

Counters live in the shared cache (a database table), so every server process sees them.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError

WINDOW_SECONDS = 15 * 60


def _keys(username: str, address: str) -> tuple[str, str]:
    return f"login-fail:user:{username.strip().lower()}", f"login-fail:addr:{address}"


def seconds_locked(*, username: str, address: str) -> int:
    """How long this name or address must wait before trying again; 0 when it may try now."""
    user_key, addr_key = _keys(username, address)
    failures = cache.get_many([user_key, addr_key])
    if failures.get(user_key, 0) >= settings.LOGIN_FAILURE_LIMIT or failures.get(addr_key, 0) >= (
        settings.LOGIN_FAILURE_LIMIT * 4
    ):
        return WINDOW_SECONDS
    return 0


def record_failure(*, username: str, address: str) -> None:
    for key in _keys(username, address):
        if not cache.add(key, 1, WINDOW_SECONDS):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, WINDOW_SECONDS)


def record_success(*, username: str, address: str) -> None:
    cache.delete(_keys(username, address)[0])


def client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


class LockoutBackend(ModelBackend):
    """The model backend behind the lockout: a locked name or address gets no password check at all.

    Every way in (the login page, the admin, API tokens) passes through here, so one rule covers them.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        address = client_address(request) if request is not None else ""
        if seconds_locked(username=username or "", address=address):
            raise PermissionDenied("locked")  # stops authenticate(); user_login_failed is still sent
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            record_failure(username=username or "", address=address)
        else:
            record_success(username=username or "", address=address)
        return user


class LockoutAwareAuthenticationForm(AuthenticationForm):
    """The login page says when an account is locked instead of only "wrong password"."""

    locked_message = ""

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        wait = seconds_locked(username=username, address=client_address(self.request) if self.request else "")
        if wait:
            minutes = wait // 60
            self.locked_message = (
                f"登录失败次数过多，请 {minutes} 分钟后再试。Too many failed logins; try in {minutes} min."
            )
            raise ValidationError(self.locked_message, code="locked")
        return super().clean()
