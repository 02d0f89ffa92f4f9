"""Drops the database cache table (gridmgmt_cache) that 0005 created: the cache is Redis (settings.CACHES) and
nothing reads the table. IF EXISTS, as a database migrated after the move to Redis never had it."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("mobileapi", "0010_photo_thumbnail_on_worker")]

    operations = [migrations.RunSQL("DROP TABLE IF EXISTS gridmgmt_cache", migrations.RunSQL.noop)]
