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
    CASE_EVENTS = "case_events", _("案件流转记录封存")


class AuditEntry(models.Model):
    """One line of the append-only audit log, chained by keyed MACs (audit/chain.py).

    Entry number `seq` (1, 2, 3, … with no gaps) carries `mac` = HMAC(key, seq, previous entry's mac, key id,
    canonical content) and `position_mac` = HMAC(key, seq, previous mac). The key lives outside the database
    (AUDIT_KEYS), so changing, removing or inserting a line, or recomputing the chain, shows in
    `manage.py verify_audit`; checkpoints written outside the database (audit/checkpoints.py) anchor the head.
    The database refuses UPDATE and DELETE on this table; the application only ever INSERTs.
    """

    at = models.DateTimeField(_("time"), db_index=True)
    actor = models.CharField(_("actor"), max_length=150, blank=True, default="")
    action = models.CharField(_("action"), max_length=32, choices=AuditAction.choices, db_index=True)
    target = models.CharField(_("target"), max_length=255, blank=True, default="")
    address = models.CharField(_("address"), max_length=64, blank=True, default="")
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    seq = models.PositiveBigIntegerField(_("position in the chain"), unique=True)
    key_id = models.CharField(_("signing key"), max_length=16)
    previous_mac = models.CharField(max_length=64)
    position_mac = models.CharField(max_length=64)
    mac = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.target}"
