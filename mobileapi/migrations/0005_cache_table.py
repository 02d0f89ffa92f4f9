"""Created the database cache table (gridmgmt_cache) while the shared cache lived in the database; the cache is
Redis now (settings.CACHES), and 0011_drop_cache_table drops the table where this made it. Kept, doing nothing,
so the migration history stays the same."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("mobileapi", "0004_tasks_open311_keys")]

    operations = []
