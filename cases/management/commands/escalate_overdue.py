"""Escalate every case whose current step is past its deadline — once per step, however often this runs.

Run it from cron (e.g. every 10 minutes). Each case is locked and re-checked in its own transaction, so it is
safe beside dispatchers at work and beside another run of itself.
"""

from django.core.management.base import BaseCommand

from cases.services import escalate_overdue


class Command(BaseCommand):
    help = "Escalate overdue cases to the responsible unit's parent (once per step; safe to run again)."

    def handle(self, *args, **options):
        counts = escalate_overdue()
        self.stdout.write(
            f"escalated {counts['escalated']}, without a higher unit {counts['no_higher_unit']}, "
            f"no longer overdue {counts['skipped']}"
        )
