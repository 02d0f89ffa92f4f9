from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "cases"
    verbose_name = _("案件")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from cases.calendar import clear_cache
        from cases.models import CalendarDay

        post_save.connect(clear_cache, sender=CalendarDay, dispatch_uid="cases_calendar_saved")
        post_delete.connect(clear_cache, sender=CalendarDay, dispatch_uid="cases_calendar_deleted")
