"""Load the 2026 public holidays and make-up working days (国务院办公厅, 2025-11-04)."""

from django.db import migrations


def forward(apps, schema_editor):
    from cases.calendar import upsert_calendar

    upsert_calendar(day_model=apps.get_model("cases", "CalendarDay"))


class Migration(migrations.Migration):
    dependencies = [("cases", "0005_calendar")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
