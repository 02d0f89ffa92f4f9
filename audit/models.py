from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    LOGIN = "login", _("登录")
    LOGIN_FAILED = "login_failed", _("登录失败")
    LOGOUT = "logout", _("退出")
    REVEAL = "reveal", _("查看完整个人信息")
    TRANSITION = "transition", _("案件流转")
    IMPORT = "import", _("导入")
    EXPORT = "export", _("导出")
    ADMIN_CHANGE = "admin_change", _("后台修改")


class AuditEntry(models.Model):
    """One line of the append-only, hash-chained audit log.

    `digest` = SHA-256 of the previous entry's digest and this entry's canonical content, so
    changing or removing any line breaks every digest after it (`manage.py verify_audit`).
    The database refuses UPDATE and DELETE on this table.
    """

    at = models.DateTimeField(_("time"), db_index=True)
    actor = models.CharField(_("actor"), max_length=150, blank=True, default="")
    action = models.CharField(_("action"), max_length=32, choices=AuditAction.choices, db_index=True)
    target = models.CharField(_("target"), max_length=255, blank=True, default="")
    address = models.CharField(_("address"), max_length=64, blank=True, default="")
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    previous_digest = models.CharField(max_length=64)
    digest = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.target}"
