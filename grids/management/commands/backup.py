from pathlib import Path

from django.core.management.base import BaseCommand
from django.utils import timezone

from gridmgmt import backup


class Command(BaseCommand):
    help = "备份数据库与照片 / Back up the database (pg_dump custom format) and the media files into a folder."

    def add_arguments(self, parser):
        parser.add_argument("directory", nargs="?", default="backups", help="where to write (default: backups/)")

    def handle(self, *args, directory, **options):
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
        dump, media = backup.backup(directory=Path(directory), stamp=stamp)
        self.stdout.write(self.style.SUCCESS(f"备份完成 / backup written:\n  {dump}\n  {media}"))
        self.stdout.write(f"恢复 / restore with: manage.py restore {dump} --media {media} --target-db NEWNAME")
