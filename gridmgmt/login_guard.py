"""Repeated failed logins lock an account name, and a noisy client address, for LOGIN_LOCK_SECONDS (15 minutes).

Each password check is booked before it runs, in one atomic statement per counter (an UPSERT … RETURNING on
`gridmgmt_login_counter`, see gridmgmt/models.py): the booking that would go past the limit is refused, so
however many requests arrive at once, at most LOGIN_FAILURE_LIMIT checks run against one account in a window.
The window starts at the first booking and does not move; the lock starts at the failure that reaches the limit
and lasts LOGIN_LOCK_SECONDS from then, whatever is tried meanwhile. A success clears the account's counter and
gives its booking back to the address's. Times come from Python (`timezone.now()`), not from the database clock.
"""

import ipaddress
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

ADDRESS_LIMIT_FACTOR = 4  # one address may fail for several people (an office behind one gateway)
PURGE_ONE_IN = 64  # how often a check also deletes counters whose window and lock are over

_TABLE = "gridmgmt_login_counter"
_OVER = "c.window_start <= %(now)s - %(window)s AND (c.locked_until IS NULL OR c.locked_until <= %(now)s)"
_BOOK_SQL = f"""
INSERT INTO {_TABLE} AS c (key, window_start, attempts, failures, locked_until)
VALUES (%(key)s, %(now)s, 1, 0, NULL)
ON CONFLICT (key) DO UPDATE SET
    window_start = CASE WHEN {_OVER} THEN EXCLUDED.window_start ELSE c.window_start END,
    attempts = CASE WHEN {_OVER} THEN 1 ELSE c.attempts + 1 END,
    failures = CASE WHEN {_OVER} THEN 0 ELSE c.failures END,
    locked_until = CASE WHEN {_OVER} THEN NULL ELSE c.locked_until END
RETURNING attempts, window_start, locked_until
"""
_GIVE_BACK_SQL = f"UPDATE {_TABLE} SET attempts = GREATEST(attempts - 1, 0) WHERE key = %(key)s"
_FAILED_SQL = f"""
UPDATE {_TABLE} AS c SET
    failures = c.failures + 1,
    locked_until = CASE WHEN c.locked_until IS NULL AND c.failures + 1 >= %(limit)s
                        THEN %(now)s + %(window)s ELSE c.locked_until END
WHERE c.key = %(key)s
"""
_CLEAR_SQL = f"DELETE FROM {_TABLE} WHERE key = %(key)s"
_PURGE_SQL = f"DELETE FROM {_TABLE} AS c WHERE {_OVER}"


def lock_window() -> timedelta:
    return timedelta(seconds=settings.LOGIN_LOCK_SECONDS)


@dataclass(frozen=True)
class Counter:
    key: str
    limit: int


def counters(*, username: str, address: str) -> list[Counter]:
    """The account name's counter and, when the address is known, the address's; always in the same order, so
    concurrent logins take the rows' locks in the same order."""
    found = [Counter(f"account:{username.strip().lower()}"[:200], settings.LOGIN_FAILURE_LIMIT)]
    if address:
        found.append(Counter(f"address:{address}"[:200], settings.LOGIN_FAILURE_LIMIT * ADDRESS_LIMIT_FACTOR))
    return found


def _run(sql: str, **params):
    params.setdefault("now", timezone.now())
    params.setdefault("window", lock_window())
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() if cursor.description else None


def book_check(*, username: str, address: str) -> int:
    """Book one password check: 0 when it may run, else the seconds to wait (and nothing stays booked)."""
    now = timezone.now()
    booked: list[Counter] = []
    wait = 0
    for counter in counters(username=username, address=address):
        attempts, window_start, locked_until = _run(_BOOK_SQL, key=counter.key, now=now)
        booked.append(counter)
        if locked_until is not None and locked_until > now:
            wait = max(wait, _seconds(locked_until, now))
        elif attempts > counter.limit:  # the limit's checks are running now; they will lock or clear it
            wait = max(wait, _seconds(window_start + lock_window(), now))
    if wait:
        for counter in booked:
            _run(_GIVE_BACK_SQL, key=counter.key)
    return wait


def check_failed(*, username: str, address: str) -> None:
    """A booked check found a wrong password: count it, and lock from now when that reaches the limit."""
    now = timezone.now()
    for counter in counters(username=username, address=address):
        _run(_FAILED_SQL, key=counter.key, limit=counter.limit, now=now)
    if random.randrange(PURGE_ONE_IN) == 0:
        _run(_PURGE_SQL, now=now)


def check_succeeded(*, username: str, address: str) -> None:
    """A booked check passed: the account starts afresh; the address gets its booking back."""
    account, *address_counters = counters(username=username, address=address)
    _run(_CLEAR_SQL, key=account.key)
    for counter in address_counters:
        _run(_GIVE_BACK_SQL, key=counter.key)


def give_back(*, username: str, address: str) -> None:
    """A booked check that never ran to an answer (an error on the way)."""
    for counter in counters(username=username, address=address):
        _run(_GIVE_BACK_SQL, key=counter.key)


def _seconds(until: datetime, now: datetime) -> int:
    return max(math.ceil((until - now).total_seconds()), 1)


def client_address(request) -> str:
    """The client's address: from settings.TRUSTED_PROXY_HEADER when set (the entry the nearest of
    TRUSTED_PROXY_COUNT proxies vouches for, counted from the right), otherwise the connecting address."""
    if request is None:
        return ""
    remote = request.META.get("REMOTE_ADDR", "")
    header = settings.TRUSTED_PROXY_HEADER
    if not header:
        return remote
    meta_name = header.upper().replace("-", "_")
    if not meta_name.startswith("HTTP_"):
        meta_name = f"HTTP_{meta_name}"
    hops = [hop.strip() for hop in request.META.get(meta_name, "").split(",") if hop.strip()]
    proxies = max(settings.TRUSTED_PROXY_COUNT, 1)
    if len(hops) < proxies:  # did not come through every proxy: nothing in the header can be trusted
        return remote
    try:
        return str(ipaddress.ip_address(hops[-proxies]))
    except ValueError:
        return remote


class LockoutBackend(ModelBackend):
    """The model backend behind the lockout: a locked name or address gets no password check at all.

    Every way in (the login page, the admin, API tokens) passes through here, so one rule covers them. A refusal
    leaves the seconds to wait on the request as `login_locked_seconds` for the page or endpoint to say.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        who = {"username": str(username), "address": client_address(request)}
        wait = book_check(**who)
        if wait:
            if request is not None:
                request.login_locked_seconds = wait
            raise PermissionDenied("locked")  # stops authenticate(); user_login_failed is still sent
        try:
            user = super().authenticate(request, username=username, password=password, **kwargs)
        except BaseException:
            give_back(**who)
            raise
        if user is None:
            check_failed(**who)
        else:
            check_succeeded(**who)
        return user


def locked_seconds(request) -> int:
    """How long the last login attempt on this request was told to wait (0: it was not refused for a lock)."""
    return getattr(request, "login_locked_seconds", 0) if request is not None else 0


def locked_message(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    return f"登录失败次数过多，请 {minutes} 分钟后再试。Too many failed logins; try again in {minutes} min."


class LockoutAwareAuthenticationForm(AuthenticationForm):
    """The login page says when an account is locked instead of only "wrong password"."""

    locked_message = ""

    def clean(self):
        try:
            return super().clean()
        except ValidationError:
            wait = locked_seconds(self.request)
            if not wait:
                raise
            self.locked_message = locked_message(wait)
            raise ValidationError(self.locked_message, code="locked") from None
