"""Load the category tree so that categories exist wherever the schema does (tests included)."""

from django.db import migrations


def forward(apps, schema_editor):
    from cases.categories import upsert_categories

    upsert_categories(category_model=apps.get_model("cases", "Category"))


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_categories")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
