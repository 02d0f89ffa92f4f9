"""A stamp that changes whenever categories, routing rules or units do, so each process may keep them in memory.

`cases.selectors.category_tree` and the routing resolver (`cases.routing.RuleBook`) read the one-row table
`cases_reference_version` (a tiny query, or a column of a query they make anyway) and read their tables again
only when the stamp differs from the one they hold: an edit in the admin, a loader or raw SQL reaches every
process on its next request. The stamp is set by statement triggers from a sequence: a value is never handed
out twice, so a change rolled back never leaves a stamp that a later change could repeat.
"""

from django.db import migrations

from gridmgmt.stamps import stamp_sql

STAMPED_TABLES = ("cases_category", "cases_routingrule", "grids_unit")

FORWARD, BACKWARD = stamp_sql("cases_reference_version", STAMPED_TABLES)


class Migration(migrations.Migration):
    dependencies = [("cases", "0010_caseevent_created_at")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
