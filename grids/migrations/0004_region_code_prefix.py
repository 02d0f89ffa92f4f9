"""A region's code extends its parent's code (GB/T 2260 county + street + community + grid sequence).

A CHECK constraint cannot look at another table, so a trigger enforces it.
"""

from django.db import migrations

LEVELS = [
    ("grids_street", "district_id", "grids_district"),
    ("grids_community", "street_id", "grids_street"),
    ("grids_grid", "community_id", "grids_community"),
]


def forward_sql() -> str:
    parts = []
    for table, parent_fk, parent_table in LEVELS:
        parts.append(f"""
CREATE FUNCTION {table}_code_prefix() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE parent_code text;
BEGIN
    SELECT code INTO parent_code FROM {parent_table} WHERE id = NEW.{parent_fk};
    IF left(NEW.code, length(parent_code)) <> parent_code THEN
        RAISE EXCEPTION 'code % must begin with its parent''s code %', NEW.code, parent_code
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER {table}_code_prefix BEFORE INSERT OR UPDATE OF code, {parent_fk} ON {table}
FOR EACH ROW EXECUTE FUNCTION {table}_code_prefix();
""")
    return "\n".join(parts)


def backward_sql() -> str:
    return "\n".join(
        f"DROP TRIGGER IF EXISTS {table}_code_prefix ON {table}; DROP FUNCTION IF EXISTS {table}_code_prefix();"
        for table, _, _ in LEVELS
    )


class Migration(migrations.Migration):
    dependencies = [("grids", "0003_person_reveal_permission")]

    operations = [migrations.RunSQL(forward_sql(), backward_sql())]
