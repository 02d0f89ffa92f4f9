"""Backup and restore of the whole system: the database (pg_dump custom format) and the media files."""
# ruff: noqa: S603, S607 - runs the PostgreSQL client tools with arguments built here, never from a shell

import os
import re
import subprocess
import tarfile
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import connections

POSTGIS_OWN = re.compile(r" (COMMENT - EXTENSION |TABLE DATA public spatial_ref_sys )")


def _pg_env(database: str = "default") -> tuple[dict, list[str]]:
    db = connections[database].settings_dict
    env = {**os.environ, "PGPASSWORD": db["PASSWORD"] or ""}
    args = ["-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432), "-U", db["USER"] or "postgres"]
    return env, args


def backup(*, directory: Path, stamp: str) -> tuple[Path, Path]:
    """Write <dir>/gridmgmt-<stamp>.dump and <dir>/gridmgmt-<stamp>.media.tar.gz; returns both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    dump = directory / f"gridmgmt-{stamp}.dump"
    media = directory / f"gridmgmt-{stamp}.media.tar.gz"
    env, args = _pg_env()
    name = connections["default"].settings_dict["NAME"]
    subprocess.run(["pg_dump", "-Fc", "--no-owner", *args, "-f", str(dump), name], env=env, check=True)
    with tarfile.open(media, "w:gz") as archive:
        if Path(settings.MEDIA_ROOT).exists():
            archive.add(settings.MEDIA_ROOT, arcname="media")
    return dump, media


def restore(*, dump: Path, target: str, media: Path | None = None, media_root: Path | None = None) -> None:
    """Restore a dump into a new database `target` (which must not exist), and the media files beside it."""
    env, args = _pg_env()
    subprocess.run(["createdb", *args, target], env=env, check=True)
    # PostGIS's own entries (its comment, the rows of its spatial_ref_sys, where the project adds none) may
    # only be written by the extension's owner, a superuser when PostGIS came from template1
    # (docs/security.md, "Database roles"); the new database has them already.
    contents = subprocess.run(["pg_restore", "--list", str(dump)], env=env, check=True, capture_output=True, text=True)
    with tempfile.NamedTemporaryFile("w", suffix=".list") as listing:
        listing.writelines(line for line in contents.stdout.splitlines(keepends=True) if not POSTGIS_OWN.search(line))
        listing.flush()
        subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", "--use-list", listing.name, *args, "-d", target, str(dump)],
            env=env,
            check=True,
        )
    if media is not None:
        root = Path(media_root or settings.MEDIA_ROOT)
        root.mkdir(parents=True, exist_ok=True)
        with tarfile.open(media, "r:gz") as archive:
            for member in archive.getmembers():
                if not member.name.startswith("media/") or ".." in Path(member.name).parts:
                    continue
                member.name = member.name.removeprefix("media/")
                archive.extract(member, root, filter="data")
