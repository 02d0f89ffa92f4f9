"""Load (upsert by code) the case categories from cases/data/categories.json or another file of that shape."""

from pathlib import Path

from django.core.management.base import BaseCommand
from django.db import transaction

from cases.categories import DATA_FILE, load_categories


class Command(BaseCommand):
    help = "Upsert case categories by code (idempotent) and keep their default routing rules in step."

    def add_arguments(self, parser):
        parser.add_argument("--file", type=Path, default=DATA_FILE, help="categories JSON (default: %(default)s)")

    def handle(self, *args, file: Path, **options):
        with transaction.atomic():
            counts = load_categories(path=file)
        self.stdout.write(", ".join(f"{name} {value}" for name, value in counts.items()))
