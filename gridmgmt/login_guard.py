"""Repeated failed logins lock an account name (and a noisy address) for a while.

Counters live in the shared cache (a database table), so every server process sees them.
"""

from django.conf import settings
from django.core.cache import cache

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
