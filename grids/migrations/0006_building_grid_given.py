"""A statement that finds the buildings' grids itself may skip the grid trigger for its own rows.

The bulk import (grids.gisio.importers) writes grid_id in its INSERT … SELECT with the rule of grids_grid_at —
the grid whose boundary covers ST_PointOnSurface(footprint), the first by code — for all rows at once, which
costs a fraction of the trigger's lookup per row. Around that one statement it sets
`gridmgmt.building_grid_given` to 'on' (SET LOCAL, reset right after); the trigger fires for every other
statement as before, so every other writer (admin, API, COPY, grid boundary edits) still gets the grid from
the footprint.
"""

from django.db import migrations

SKIP_WHEN_GIVEN = "WHEN (current_setting('gridmgmt.building_grid_given', true) IS DISTINCT FROM 'on')"

FORWARD = f"""
DROP TRIGGER grids_building_assign_grid ON grids_building;
CREATE TRIGGER grids_building_assign_grid
BEFORE INSERT OR UPDATE OF footprint, grid_id ON grids_building
FOR EACH ROW {SKIP_WHEN_GIVEN}
EXECUTE FUNCTION grids_building_assign_grid();
"""

BACKWARD = """
DROP TRIGGER grids_building_assign_grid ON grids_building;
CREATE TRIGGER grids_building_assign_grid
BEFORE INSERT OR UPDATE OF footprint, grid_id ON grids_building
FOR EACH ROW EXECUTE FUNCTION grids_building_assign_grid();
"""


class Migration(migrations.Migration):
    dependencies = [("grids", "0005_updated_at")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
