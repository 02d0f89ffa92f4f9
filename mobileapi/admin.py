from django.contrib import admin

from mobileapi import admin_open311  # noqa: F401 - registers the Open311 key admin
from mobileapi.models import AccessToken


@admin.register(AccessToken)
class AccessTokenAdmin(admin.ModelAdmin):
    list_display = ["user", "device_id", "created_at", "expires_at", "revoked_at", "last_used_at"]
    search_fields = ["user__username", "device_id"]
    readonly_fields = ["user", "device_id", "created_at", "expires_at", "last_used_at"]
    fields = ["user", "device_id", "created_at", "expires_at", "revoked_at", "last_used_at"]

    def has_add_permission(self, request):
        return False
