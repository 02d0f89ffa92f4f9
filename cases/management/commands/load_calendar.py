"""Load (upsert by date) public holidays and make-up working days from cases/data/calendar_*.json."""

from pathlib import Path

from django.core.management.base import BaseCommand
from django.db import transaction

from cases.calendar import load_calendar


class Command(BaseCommand):
    help = "Upsert the working-day calendar (holidays and 调休 working days) by date; idempotent."

    def add_arguments(self, parser):
        parser.add_argument(
            "files", nargs="*", type=Path, help="calendar JSON files (default: cases/data/calendar_*.json)"
        )

    def handle(self, *args, files: list[Path], **options):
        with transaction.atomic():
            counts = load_calendar(files or None)
        self.stdout.write(", ".join(f"{name} {value}" for name, value in counts.items()))
