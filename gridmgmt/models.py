from django.db import models
from django.utils.translation import gettext_lazy as _


class AttemptCounter(models.Model):
    """Attempts against one key (an account name, a client address, an API key) in its current fixed window.

    Written only by gridmgmt.counters, each change one atomic statement (see there)."""

    key = models.CharField(max_length=200, primary_key=True, verbose_name=_("键"))
    window_ends = models.DateTimeField(verbose_name=_("窗口结束"))
    attempts = models.PositiveIntegerField(
        help_text="attempts booked in the window and not given back", verbose_name=_("尝试次数")
    )
    failures = models.PositiveIntegerField(
        help_text="attempts in the window that failed (wrong passwords)", verbose_name=_("失败次数")
    )
    locked_until = models.DateTimeField(null=True, blank=True, verbose_name=_("锁定至"))

    class Meta:
        verbose_name = _("登录尝试计数")
        verbose_name_plural = _("登录尝试计数")
        db_table = "gridmgmt_attempt_counter"
        indexes = [models.Index(fields=["window_ends"], name="attempt_counter_window_ends")]

    def __str__(self) -> str:
        return self.key
