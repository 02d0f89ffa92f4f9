"""A user's API tokens end when their password changes or the account is deactivated, as their sessions do.

Every way a password is set or an account switched off (the password-change and reset pages, the admin,
`changepassword`, `set_password` + `save`) saves the user; the stored hash and `is_active` are compared with
the row before the save, and the tokens revoked after it.
"""

from mobileapi import services

WATCHED_FIELDS = {"password", "is_active"}


def note_credential_change(sender, instance, raw=False, update_fields=None, **kwargs):
    instance._revoke_tokens = False
    if raw or instance.pk is None or (update_fields is not None and not WATCHED_FIELDS & set(update_fields)):
        return
    before = sender.objects.filter(pk=instance.pk).values("password", "is_active").first()
    if before is not None:
        deactivated = before["is_active"] and not instance.is_active
        instance._revoke_tokens = before["password"] != instance.password or deactivated


def revoke_tokens_on_credential_change(sender, instance, **kwargs):
    if getattr(instance, "_revoke_tokens", False):
        services.revoke_tokens_of(user=instance)
        instance._revoke_tokens = False
