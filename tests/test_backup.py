"""A backup restores into a new database with every row and every photo file it refers to."""

import io

import psycopg2
import pytest
from django.core.management import call_command
from django.db import connection
from PIL import Image

from mobileapi.models import Photo
from mobileapi.services import make_thumbnail, store_photo
from tests.factories import PersonFactory, UserFactory

RESTORED = "gridmgmt_restore_check"


def table_counts(cursor) -> dict[str, int]:
    cursor.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
    )
    tables = sorted(row[0] for row in cursor.fetchall())
    counts = {}
    for table in tables:
        cursor.execute(f'SELECT count(*) FROM "{table}"')
        counts[table] = cursor.fetchone()[0]
    return counts


@pytest.fixture
def drop_restored():
    db = connection.settings_dict
    params = {"host": db["HOST"], "port": db["PORT"], "user": db["USER"], "password": db["PASSWORD"]}

    def drop():
        admin = psycopg2.connect(dbname="postgres", **params)
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {RESTORED}")
        admin.close()

    drop()
    yield params
    drop()


@pytest.mark.django_db(transaction=True)
def test_backup_restores_every_row_and_photo(tmp_path, settings, drop_restored):
    settings.MEDIA_ROOT = tmp_path / "media"
    PersonFactory.create_batch(3)
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "green").save(buffer, format="PNG")
    photo, _ = store_photo(data=buffer.getvalue(), uploader=UserFactory())
    assert make_thumbnail(photo.pk)  # as the worker does
    photo.refresh_from_db()

    call_command("backup", str(tmp_path / "out"))
    dump = next((tmp_path / "out").glob("*.dump"))
    media = next((tmp_path / "out").glob("*.media.tar.gz"))
    call_command(
        "restore", str(dump), "--target-db", RESTORED, "--media", str(media), "--media-root", str(tmp_path / "r")
    )

    with connection.cursor() as cursor:
        original = table_counts(cursor)
    restored_db = psycopg2.connect(dbname=RESTORED, **drop_restored)
    with restored_db.cursor() as cursor:
        restored = table_counts(cursor)
        cursor.execute("SELECT image, thumbnail FROM mobileapi_photo")
        paths = cursor.fetchall()
    restored_db.close()

    assert restored == original
    assert original["grids_person"] == 3 and original["mobileapi_photo"] == Photo.objects.count() == 1
    for image, thumbnail in paths:
        assert (tmp_path / "r" / image).read_bytes() == photo.image.open("rb").read()
        assert (tmp_path / "r" / thumbnail).is_file()
