"""A stamp that changes whenever categories, routing rules or units do, so each process may keep them in memory.

`cases.selectors.category_tree` and the routing resolver (`cases.routing.RuleBook`) read the one-row table
`cases_reference_version` (a tiny query, or a column of a query they make anyway) and read their tables again
only when the stamp differs from the one they hold: an edit in the admin, a loader or raw SQL reaches every
process on its next request. The stamp is set by statement triggers from a sequence: a value is never handed
out twice, so a change rolled back never leaves a stamp that a later change could repeat.
"""

from django.db import migrations

STAMPED_TABLES = ("cases_category", "cases_routingrule", "grids_unit")

FORWARD = """
CREATE SEQUENCE cases_reference_version_seq;
CREATE TABLE cases_reference_version (version bigint NOT NULL);
INSERT INTO cases_reference_version (version) VALUES (nextval('cases_reference_version_seq'));

CREATE FUNCTION cases_reference_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cases_reference_version SET version = nextval('cases_reference_version_seq');
    RETURN NULL;
END
$$;
""" + "".join(
    f"""
CREATE TRIGGER {table}_reference_version
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
FOR EACH STATEMENT EXECUTE FUNCTION cases_reference_version_bump();
"""
    for table in STAMPED_TABLES
)

BACKWARD = "".join(f"DROP TRIGGER IF EXISTS {table}_reference_version ON {table};\n" for table in STAMPED_TABLES)
BACKWARD += """
DROP FUNCTION IF EXISTS cases_reference_version_bump();
DROP TABLE IF EXISTS cases_reference_version;
DROP SEQUENCE IF EXISTS cases_reference_version_seq;
"""


class Migration(migrations.Migration):
    dependencies = [("cases", "0010_caseevent_created_at")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
