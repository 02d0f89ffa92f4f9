"""An index of the verifications (核查 and 返工) by who made them and when, holding whether each was on time.

The dashboard counts each grid worker's verifications and those on time (maps.stats.dashboard_summary). Read from
the whole table of case events that took seconds at a million cases; this index answers it alone.
"""

from django.db import migrations

FORWARD = """
CREATE INDEX IF NOT EXISTS caseevent_verifications ON cases_caseevent
    (actor_id, created_at, (((data -> 'step_ended') ->> 'on_time')::boolean))
    WHERE action IN ('verify', 'rework') AND actor_id IS NOT NULL;
"""
BACKWARD = "DROP INDEX IF EXISTS caseevent_verifications;"


class Migration(migrations.Migration):
    dependencies = [("cases", "0015_case_web_mercator")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
