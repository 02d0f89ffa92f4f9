from django.apps import AppConfig


class AuditConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "audit"
    verbose_name = "审计日志"

    def ready(self):
        from audit import signals  # noqa: F401 - connects the login and admin hooks
