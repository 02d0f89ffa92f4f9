from django.db import models


class LoginCounter(models.Model):
    """Password checks against one account name or one client address in the current 15-minute window.

    Written only by gridmgmt.login_guard, each change one atomic statement (see there)."""

    key = models.CharField(max_length=200, primary_key=True)
    window_start = models.DateTimeField()
    attempts = models.PositiveIntegerField(help_text="checks started in the window and not given back by a success")
    failures = models.PositiveIntegerField(help_text="checks in the window that found a wrong password")
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "gridmgmt_login_counter"
        indexes = [models.Index(fields=["window_start"], name="login_counter_window")]

    def __str__(self) -> str:
        return self.key
