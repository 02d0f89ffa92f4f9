from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from mobileapi import selectors
from mobileapi.models import AccessToken, token_digest


class AccessTokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>` against AccessToken: expired or revoked keys get 401."""

    model = AccessToken

    def authenticate_credentials(self, key):
        # With the user's staff row and unit, which the permission check and a report's event read.
        token = selectors.token_by_digest(token_digest(key))
        if token is None:
            raise exceptions.AuthenticationFailed(_("令牌无效。Invalid token."))
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("令牌已注销，请重新登录。Token revoked; log in again."))
        if token.expires_at <= timezone.now():
            raise exceptions.AuthenticationFailed(_("令牌已过期，请重新登录。Token expired; log in again."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("账号已停用。Account disabled."))
        # Touch at most once a minute, so reads do not become writes.
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            AccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token
