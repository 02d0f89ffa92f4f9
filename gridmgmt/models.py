from django.db import models


class AttemptCounter(models.Model):
    """Attempts against one key (an account name, a client address, an API key) in its current fixed window.

    Written only by gridmgmt.counters, each change one atomic statement (see there)."""

    key = models.CharField(max_length=200, primary_key=True)
    window_ends = models.DateTimeField()
    attempts = models.PositiveIntegerField(help_text="attempts booked in the window and not given back")
    failures = models.PositiveIntegerField(help_text="attempts in the window that failed (wrong passwords)")
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "gridmgmt_attempt_counter"
        indexes = [models.Index(fields=["window_ends"], name="attempt_counter_window_ends")]

    def __str__(self) -> str:
        return self.key
