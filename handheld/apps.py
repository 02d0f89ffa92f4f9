from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HandheldConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "handheld"
    verbose_name = _("网格员手持终端")
