"""A stamp that changes whenever buildings or households do, so each process may keep building tiles in memory.

`maps.selectors.map_version` reads the one-row table `grids_map_version` (a tiny prepared query); a tile is kept
per process under the stamp it was made at and made again only when the stamp differs, and the tile's ETag names
the stamp, so a 304 or a repeated tile costs no tile query. Statement triggers set the stamp from a sequence on
every change to grids_building or grids_household (a value is never handed out twice, so a change rolled back
never leaves a stamp that a later change could repeat); the row is written in the changing transaction, so a
reader sees the new stamp only with the new data.
"""

from django.db import migrations

from gridmgmt.stamps import stamp_sql

STAMPED_TABLES = ("grids_building", "grids_household")

FORWARD, BACKWARD = stamp_sql("grids_map_version", STAMPED_TABLES)


class Migration(migrations.Migration):
    dependencies = [("grids", "0008_verbose_names_zh")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
