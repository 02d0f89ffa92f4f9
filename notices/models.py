"""Notifications (站内通知) and their outgoing deliveries (SMS, WeCom).

A notification goes to one account or to one unit. A unit's notification is the desk's: its dispatchers all see
it, and it is read once for the desk (`read_by` says who read it). Its text is made when it is shown, from its
kind and `params`, in the reader's language.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cases.models import Case, CaseEvent
from grids.models import RegistryChange, Unit


class Kind(models.TextChoices):
    NEW_CASE = "new_case", _("新案件")
    RETURNED = "returned", _("案件回退")
    ESCALATED = "escalated", _("上报案件")
    TO_VERIFY = "to_verify", _("待核查")
    REWORK = "rework", _("核查不通过")
    EXTENSION = "extension", _("延时申请")
    EXTENSION_DECIDED = "extension_decided", _("延时审批")
    SUPERVISE = "supervise", _("督办")
    SUPERVISE_DUE = "supervise_due", _("督办到期")
    COHANDLE_TASK = "cohandle_task", _("协办任务")
    COHANDLE_FEEDBACK = "cohandle_feedback", _("协办反馈")
    COHANDLE_ACCEPTED = "cohandle_accepted", _("协办已认可")
    COHANDLE_RETURNED = "cohandle_returned", _("协办被退回")
    COHANDLE_RELEASED = "cohandle_released", _("协办已解除")
    YELLOW = "yellow", _("黄灯预警")
    OVERDUE = "overdue", _("超时")
    REGISTRY_CHANGE = "registry_change", _("信息采集待审核")


class Notification(models.Model):
    recipient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("接收账号"),
    )
    recipient_unit = models.ForeignKey(
        Unit, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications", verbose_name=_("接收单位")
    )
    kind = models.CharField(_("类型"), max_length=24, choices=Kind.choices)
    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("案件")
    )
    event = models.ForeignKey(
        CaseEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("案件环节")
    )
    registry_change = models.ForeignKey(
        RegistryChange,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("信息采集申请"),
    )
    params = models.JSONField(_("文本参数"), default=dict, blank=True)
    # Notices that must not repeat (a light turning yellow once per step) carry a key unique per recipient.
    dedupe_key = models.CharField(_("去重键"), max_length=96, blank=True, default="")
    created_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)
    read_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("阅读人"),
    )

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(recipient_user__isnull=True) ^ Q(recipient_unit__isnull=True),
                name="notice_one_recipient",
            ),
            models.UniqueConstraint(
                fields=["dedupe_key", "recipient_user", "recipient_unit"],
                condition=~Q(dedupe_key=""),
                nulls_distinct=False,
                name="notice_once",
            ),
        ]
        indexes = [
            models.Index(fields=["recipient_user", "-id"], name="notice_user_recent"),
            models.Index(fields=["recipient_unit", "-id"], name="notice_unit_recent"),
            models.Index(
                fields=["recipient_user", "recipient_unit"], condition=Q(read_at__isnull=True), name="notice_unread"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient_user_id or ''}{self.recipient_unit_id or ''}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("发送失败")


class Delivery(models.Model):
    """One notification going out on one channel: the queue `manage.py deliver_notices` works through."""

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("通知")
    )
    channel = models.CharField(_("渠道"), max_length=16)
    state = models.CharField(_("状态"), max_length=8, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试"))
    last_status = models.PositiveSmallIntegerField(_("最后状态码"), null=True, blank=True)
    last_error = models.TextField(_("最后错误"), blank=True, default="")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    delivered_at = models.DateTimeField(_("送达时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("通知发送")
        verbose_name_plural = _("通知发送")
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(state="pending"), name="delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} #{self.notification_id} {self.state}"
