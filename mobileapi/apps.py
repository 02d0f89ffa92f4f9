from django.apps import AppConfig


class MobileapiConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "mobileapi"
    verbose_name = "移动终端接口"
