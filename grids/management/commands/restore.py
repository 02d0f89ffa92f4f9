from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from gridmgmt import backup


class Command(BaseCommand):
    help = "从备份恢复到一个新数据库 / Restore a backup into a new database (it must not exist yet)."

    def add_arguments(self, parser):
        parser.add_argument("dump", help="the .dump file written by `manage.py backup`")
        parser.add_argument("--target-db", required=True, help="name of the new database to create")
        parser.add_argument("--media", help="the .media.tar.gz written beside the dump")
        parser.add_argument("--media-root", help="where to unpack the photos (default: MEDIA_ROOT)")

    def handle(self, *args, dump, target_db, media, media_root, **options):
        if not Path(dump).is_file():
            raise CommandError(f"找不到备份文件 / no such dump: {dump}")
        backup.restore(
            dump=Path(dump),
            target=target_db,
            media=Path(media) if media else None,
            media_root=Path(media_root) if media_root else None,
        )
        self.stdout.write(self.style.SUCCESS(f"已恢复到数据库 {target_db} / restored into {target_db}"))
        self.stdout.write(f"Point DATABASE_URL at it to serve from it, e.g. postgis://…/{target_db}")
