"""Everything `make run` does before serving, in one process, skipping what is already done."""

import hashlib
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from gridmgmt.database_roles import grant_runtime_privileges


def static_sources_digest() -> str:
    """Changes when any static file of the project or an npm package could have changed."""
    digest = hashlib.sha256()
    for name in ("package-lock.json", "constraints.txt"):
        path = settings.BASE_DIR / name
        if path.exists():
            digest.update(path.read_bytes())
    for path in sorted(settings.BASE_DIR.glob("*/static/**/*")):
        if path.is_file():
            digest.update(str(path).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


class Command(BaseCommand):
    help = "迁移、收集静态文件、空库时载入演示数据 / Migrate, collect static files, load the demo when empty."

    def add_arguments(self, parser):
        parser.add_argument("--scale", default="district", choices=["small", "district", "city"])
        parser.add_argument("--url", default="http://127.0.0.1:8000")

    def handle(self, *args, scale, url, **options):
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            self.stdout.write("==> 数据库迁移 / migrating the database")
            call_command("migrate", interactive=False, verbosity=0)  # grants to the runtime role after it
        else:
            grant_runtime_privileges()  # the runtime role may be new (an upgrade from a single role)

        stamp = Path(settings.STATIC_ROOT) / ".sources.sha256"
        wanted = static_sources_digest()
        if not stamp.exists() or stamp.read_text() != wanted:
            self.stdout.write("==> 收集静态文件 / collecting static files")
            call_command("collectstatic", interactive=False, verbosity=0)
            stamp.write_text(wanted)

        call_command("seed_demo", scale=scale, if_empty=True)
        call_command("show_welcome", url=url)
