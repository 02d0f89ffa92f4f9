"""Routing rules and units share the categories' stamp, so the resolver may hold them in memory
(cases.routing.RuleBook).

Each lookup reads the stamp in its spatial query; a change to a rule or a unit (admin, loader, import, raw SQL)
gives a new stamp and every process reads them again on its next lookup.
"""

from django.db import migrations

FORWARD = """
CREATE TRIGGER cases_routingrule_version_bump
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON cases_routingrule
FOR EACH STATEMENT EXECUTE FUNCTION cases_category_version_bump();

CREATE TRIGGER cases_unit_version_bump
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON grids_unit
FOR EACH STATEMENT EXECUTE FUNCTION cases_category_version_bump();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS cases_unit_version_bump ON grids_unit;
DROP TRIGGER IF EXISTS cases_routingrule_version_bump ON cases_routingrule;
"""


class Migration(migrations.Migration):
    dependencies = [("cases", "0012_category_version")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
