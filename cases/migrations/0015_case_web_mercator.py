"""Each case's Web-Mercator coordinates, kept by the database beside its point (stored generated columns).

The dashboard's heat bins place every case in view in its hexagon by arithmetic on these (maps.selectors
HEX_CELLS_SQL): projected once when the case is written, not again for each of a million cases on every view.
The model does not name them; only that SQL reads them.
"""

from django.db import migrations

FORWARD = """
ALTER TABLE cases_case
    ADD COLUMN IF NOT EXISTS web_x double precision
        GENERATED ALWAYS AS (6378137::float8 * radians(ST_X(point))) STORED,
    ADD COLUMN IF NOT EXISTS web_y double precision
        GENERATED ALWAYS AS (6378137::float8 * ln(tan(pi() / 4 + radians(ST_Y(point)) / 2))) STORED;
"""
BACKWARD = "ALTER TABLE cases_case DROP COLUMN IF EXISTS web_x, DROP COLUMN IF EXISTS web_y;"


class Migration(migrations.Migration):
    dependencies = [("cases", "0014_verbose_names_zh")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
