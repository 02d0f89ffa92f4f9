from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class GridsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "grids"
    verbose_name = _("网格与基础信息")

    def ready(self):
        from gridmgmt.database_roles import grant_after_migrate

        # Once per migrate (post_migrate is sent per app; all migrations have run by then).
        post_migrate.connect(grant_after_migrate, sender=self, dispatch_uid="gridmgmt.grant_runtime_privileges")
