from django.contrib import admin

from notices.models import Delivery, Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "recipient_user", "recipient_unit", "case", "created_at", "read_at"]
    list_filter = ["kind"]
    raw_id_fields = ["recipient_user", "recipient_unit", "case", "event", "registry_change", "read_by"]
    readonly_fields = ["created_at"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "channel", "notification", "state", "attempts", "last_status", "next_attempt_at"]
    list_filter = ["channel", "state"]
    raw_id_fields = ["notification"]
    readonly_fields = ["created_at", "delivered_at"]
