"""Case history is append-only: the database refuses UPDATE and DELETE of case events, whoever asks."""

from django.db import migrations

FORWARD = """
CREATE FUNCTION cases_caseevent_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'case events are append-only: % of cases_caseevent % refused', TG_OP, OLD.id
        USING ERRCODE = 'integrity_constraint_violation',
              HINT = 'Write a new event instead of changing history.';
END $$;

CREATE TRIGGER cases_caseevent_append_only
BEFORE UPDATE OR DELETE ON cases_caseevent
FOR EACH ROW EXECUTE FUNCTION cases_caseevent_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS cases_caseevent_append_only ON cases_caseevent;
DROP FUNCTION IF EXISTS cases_caseevent_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("cases", "0007_cases")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
