"""The shared cache (login failure counters) lives in a database table; every migrated database has it."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("mobileapi", "0004_tasks_open311_keys")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
