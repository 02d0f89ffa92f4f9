from django.apps import AppConfig


class HandheldConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "handheld"
    verbose_name = "网格员手持终端"
