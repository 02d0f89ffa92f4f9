"""Writes of the handheld API."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.utils import timezone
from rest_framework.exceptions import AuthenticationFailed, Throttled

from gridmgmt import login_guard
from mobileapi.models import AccessToken


def issue_token(*, request, username: str, password: str, device_id: str) -> tuple[AccessToken, str]:
    """Check the password (with lockout after repeated failures) and issue a device token."""
    address = login_guard.client_address(request)
    wait = login_guard.seconds_locked(username=username, address=address)
    if wait:
        raise Throttled(wait=wait, detail=f"登录失败次数过多，请 {wait // 60} 分钟后再试。Too many failed logins.")
    user = authenticate(request, username=username, password=password)
    if user is None:
        login_guard.record_failure(username=username, address=address)
        raise AuthenticationFailed("用户名或密码错误。Wrong username or password.")
    login_guard.record_success(username=username, address=address)
    return AccessToken.issue(user=user, device_id=device_id, lifetime=timedelta(days=settings.ACCESS_TOKEN_DAYS))


def revoke_token(*, token: AccessToken) -> None:
    AccessToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
