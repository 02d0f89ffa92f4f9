"""Version stamps: a one-row table whose number changes whenever any of some tables do.

A process keeps what it read from those tables in memory together with the stamp it read them at, and reads
them again only when the stamp differs. Statement triggers set the stamp from a sequence on every change to
the stamped tables (a value is never handed out twice, so a change rolled back never leaves a stamp that a
later change could repeat); the row is written in the changing transaction, so a reader sees the new stamp
only with the new data.

Used by migrations (grids 0009, cases 0011): what `stamp_sql` returns must stay as it is, or a database
migrated afresh would differ from one migrated before.
"""


def stamp_sql(name: str, tables: tuple[str, ...]) -> tuple[str, str]:
    """Forward and backward SQL for the stamp table `name` (e.g. "grids_map_version") bumped by `tables`.

    Creates the sequence `<name>_seq`, the table `<name>` (one bigint column, `version`) with its first row,
    the trigger function `<name>_bump()` and on each table a statement trigger `<table>_<stamp>`, where
    `<stamp>` is `name` less its app label (`grids_building_map_version`). Backward drops them all.
    """
    trigger = name.split("_", 1)[1]
    forward = f"""
CREATE SEQUENCE {name}_seq;
CREATE TABLE {name} (version bigint NOT NULL);
INSERT INTO {name} (version) VALUES (nextval('{name}_seq'));

CREATE FUNCTION {name}_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE {name} SET version = nextval('{name}_seq');
    RETURN NULL;
END
$$;
""" + "".join(
        f"""
CREATE TRIGGER {table}_{trigger}
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
FOR EACH STATEMENT EXECUTE FUNCTION {name}_bump();
"""
        for table in tables
    )
    backward = "".join(f"DROP TRIGGER IF EXISTS {table}_{trigger} ON {table};\n" for table in tables)
    backward += f"""
DROP FUNCTION IF EXISTS {name}_bump();
DROP TABLE IF EXISTS {name};
DROP SEQUENCE IF EXISTS {name}_seq;
"""
    return forward, backward
