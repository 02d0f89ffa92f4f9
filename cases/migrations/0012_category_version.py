"""A stamp that changes whenever cases_category does, so each process may keep the categories in memory.

`cases.selectors.category_tree` reads the one-row table `cases_category_version` (one tiny query) and reads the
categories again only when the stamp differs from the one it holds. The stamp is set by a statement trigger from
a sequence: a value is never handed out twice, so a change rolled back never leaves a stamp that a later change
could repeat.
"""

from django.db import migrations

FORWARD = """
CREATE SEQUENCE cases_category_version_seq;
CREATE TABLE cases_category_version (version bigint NOT NULL);
INSERT INTO cases_category_version (version) VALUES (nextval('cases_category_version_seq'));

CREATE FUNCTION cases_category_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cases_category_version SET version = nextval('cases_category_version_seq');
    RETURN NULL;
END
$$;

CREATE TRIGGER cases_category_version_bump
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON cases_category
FOR EACH STATEMENT EXECUTE FUNCTION cases_category_version_bump();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS cases_category_version_bump ON cases_category;
DROP FUNCTION IF EXISTS cases_category_version_bump();
DROP TABLE IF EXISTS cases_category_version;
DROP SEQUENCE IF EXISTS cases_category_version_seq;
"""


class Migration(migrations.Migration):
    dependencies = [("cases", "0011_routing_function")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
