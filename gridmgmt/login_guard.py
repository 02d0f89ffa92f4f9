"""Repeated failed logins lock an account name, and a noisy client address, for LOGIN_LOCK_SECONDS (15 minutes).

Each password check is booked before it runs on the account's and the address's counters (gridmgmt/counters.py,
one atomic statement per counter): the booking that would go past the limit is refused, so however many requests
arrive at once, at most LOGIN_FAILURE_LIMIT checks run against one account in a window. The window starts at the
first booking and does not move; the lock starts at the failure that reaches the limit and lasts
LOGIN_LOCK_SECONDS from then, whatever is tried meanwhile. A success clears the account's counter and gives its
booking back to the address's.
"""

import ipaddress
import math
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied, ValidationError

from gridmgmt import counters
from gridmgmt.counters import Limit

ADDRESS_LIMIT_FACTOR = 4  # one address may fail for several people (an office behind one gateway)


def lock_window() -> timedelta:
    return timedelta(seconds=settings.LOGIN_LOCK_SECONDS)


def login_limits(*, username: str, address: str) -> list[Limit]:
    """The account name's counter and, when the address is known, the address's; always in this order."""
    found = [Limit(f"account:{username.strip().lower()}", settings.LOGIN_FAILURE_LIMIT)]
    if address:
        found.append(Limit(f"address:{address}", settings.LOGIN_FAILURE_LIMIT * ADDRESS_LIMIT_FACTOR))
    return found


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
        limits = login_limits(username=str(username), address=client_address(request))
        wait = counters.book(limits, window=lock_window())
        if wait:
            if request is not None:
                request.login_locked_seconds = wait
            raise PermissionDenied("locked")  # stops authenticate(); user_login_failed is still sent
        try:
            user = super().authenticate(request, username=username, password=password, **kwargs)
        except BaseException:
            counters.give_back(limits)
            raise
        if user is None:
            counters.count_failure(limits, lock_for=lock_window())
        else:  # the account starts afresh; the address gets its booking back
            account, *address = limits
            counters.clear(account)
            counters.give_back(address)
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
