from datetime import timedelta

from django.conf import settings
from django.db import migrations, models
from django.db.models import F


def window_start_to_end(apps, schema_editor, sign=1):
    """The login counters' windows were LOGIN_LOCK_SECONDS long from window_start: keep each one where it was."""
    counter = apps.get_model("gridmgmt", "AttemptCounter")
    counter.objects.update(window_ends=F("window_ends") + sign * timedelta(seconds=settings.LOGIN_LOCK_SECONDS))


def window_end_to_start(apps, schema_editor):
    window_start_to_end(apps, schema_editor, sign=-1)


class Migration(migrations.Migration):
    dependencies = [
        ("gridmgmt", "0001_initial"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="logincounter", name="login_counter_window"),
        migrations.RenameModel(old_name="LoginCounter", new_name="AttemptCounter"),
        migrations.AlterModelTable(name="attemptcounter", table="gridmgmt_attempt_counter"),
        migrations.RenameField(model_name="attemptcounter", old_name="window_start", new_name="window_ends"),
        migrations.RunPython(window_start_to_end, window_end_to_start),
        migrations.AlterField(
            model_name="attemptcounter",
            name="attempts",
            field=models.PositiveIntegerField(help_text="attempts booked in the window and not given back"),
        ),
        migrations.AlterField(
            model_name="attemptcounter",
            name="failures",
            field=models.PositiveIntegerField(help_text="attempts in the window that failed (wrong passwords)"),
        ),
        migrations.AddIndex(
            model_name="attemptcounter",
            index=models.Index(fields=["window_ends"], name="attempt_counter_window_ends"),
        ),
    ]
