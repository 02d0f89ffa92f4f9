"""Admin for Open311 API keys: adding one issues a new random key, shown once in a message (only its SHA-256
is kept); keys are revoked with an action, never edited or deleted (cases refer to them by id).

Loaded by `from mobileapi import admin_open311` in mobileapi/admin.py (admin autodiscovery imports only admin.py).
"""

import secrets

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mobileapi.models import Open311Key, token_digest


@admin.register(Open311Key)
class Open311KeyAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "prefix", "active", "created_at", "revoked_at"]
    list_filter = ["active"]
    search_fields = ["name", "prefix"]
    actions = ["revoke"]
    ordering = ["-created_at"]

    def get_fields(self, request, obj=None):
        return ["name"] if obj is None else ["name", "prefix", "active", "created_at", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["prefix", "active", "created_at", "revoked_at"]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name"])
            return
        key = secrets.token_urlsafe(24)
        obj.digest, obj.prefix, obj.active = token_digest(key), key[:8], True
        obj.save()
        messages.warning(
            request,
            _("新密钥（只显示这一次，请立即复制交给客户端）：%(key)s — New API key, shown only this once: %(key)s")
            % {"key": key},
        )

    @admin.action(description=_("吊销所选密钥 Revoke selected keys"), permissions=["change"])
    def revoke(self, request, queryset):
        count = queryset.filter(active=True).update(active=False, revoked_at=timezone.now())
        self.message_user(request, _("已吊销 %(n)d 个密钥。Revoked %(n)d key(s).") % {"n": count}, messages.SUCCESS)
