"""A stamp that changes whenever buildings or households do, so each process may keep building tiles in memory.

`maps.selectors.map_version` reads the one-row table `grids_map_version` (a tiny prepared query); a tile is kept
per process under the stamp it was made at and made again only when the stamp differs, and the tile's ETag names
the stamp, so a 304 or a repeated tile costs no tile query. Statement triggers set the stamp from a sequence on
every change to grids_building or grids_household (a value is never handed out twice, so a change rolled back
never leaves a stamp that a later change could repeat); the row is written in the changing transaction, so a
reader sees the new stamp only with the new data.
"""

from django.db import migrations

STAMPED_TABLES = ("grids_building", "grids_household")

FORWARD = """
CREATE SEQUENCE grids_map_version_seq;
CREATE TABLE grids_map_version (version bigint NOT NULL);
INSERT INTO grids_map_version (version) VALUES (nextval('grids_map_version_seq'));

CREATE FUNCTION grids_map_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE grids_map_version SET version = nextval('grids_map_version_seq');
    RETURN NULL;
END
$$;
""" + "".join(
    f"""
CREATE TRIGGER {table}_map_version
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
FOR EACH STATEMENT EXECUTE FUNCTION grids_map_version_bump();
"""
    for table in STAMPED_TABLES
)

BACKWARD = "".join(f"DROP TRIGGER IF EXISTS {table}_map_version ON {table};\n" for table in STAMPED_TABLES)
BACKWARD += """
DROP FUNCTION IF EXISTS grids_map_version_bump();
DROP TABLE IF EXISTS grids_map_version;
DROP SEQUENCE IF EXISTS grids_map_version_seq;
"""


class Migration(migrations.Migration):
    dependencies = [("grids", "0008_verbose_names_zh")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
