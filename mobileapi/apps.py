from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MobileapiConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "mobileapi"
    verbose_name = _("移动终端接口")

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_save, pre_save

        from mobileapi import signals

        user_model = get_user_model()
        pre_save.connect(signals.note_credential_change, sender=user_model, dispatch_uid="mobileapi_credentials_seen")
        post_save.connect(
            signals.revoke_tokens_on_credential_change, sender=user_model, dispatch_uid="mobileapi_credentials_changed"
        )
