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

    at = models.DateTimeField(_("时间"), db_index=True)
    actor = models.CharField(_("操作人"), max_length=150, blank=True, default="")
    action = models.CharField(_("操作"), max_length=32, choices=AuditAction.choices, db_index=True)
    target = models.CharField(_("对象"), max_length=255, blank=True, default="")
    address = models.CharField(_("来源地址"), max_length=64, blank=True, default="")
    detail = models.JSONField(_("详情"), default=dict, blank=True)
    seq = models.PositiveBigIntegerField(_("链中位置"), unique=True)
    key_id = models.CharField(_("签名密钥"), max_length=16)
    previous_mac = models.CharField(max_length=64, verbose_name=_("前一条校验码"))
    position_mac = models.CharField(max_length=64, verbose_name=_("位置校验码"))
    mac = models.CharField(max_length=64, unique=True, verbose_name=_("校验码"))

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计日志")
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.target}"
