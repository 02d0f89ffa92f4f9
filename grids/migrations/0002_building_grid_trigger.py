"""A building's grid is where its footprint lies, kept by the database itself.

Whatever writes a footprint (admin, API, bulk import, COPY), the grid follows;
when a grid's boundary changes, the buildings in its old and new area follow.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION grids_grid_at(footprint geometry) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT g.id FROM grids_grid g
    WHERE ST_Covers(g.boundary, ST_PointOnSurface(footprint))
    ORDER BY g.code LIMIT 1
$$;

CREATE FUNCTION grids_building_assign_grid() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.grid_id := grids_grid_at(NEW.footprint);
    RETURN NEW;
END $$;

CREATE TRIGGER grids_building_assign_grid
BEFORE INSERT OR UPDATE OF footprint, grid_id ON grids_building
FOR EACH ROW EXECUTE FUNCTION grids_building_assign_grid();

CREATE FUNCTION grids_grid_reassign_buildings() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE grids_building b SET footprint = b.footprint
    WHERE b.footprint && NEW.boundary
       OR (TG_OP = 'UPDATE' AND b.footprint && OLD.boundary);
    RETURN NULL;
END $$;

CREATE TRIGGER grids_grid_reassign_buildings
AFTER INSERT OR UPDATE OF boundary ON grids_grid
FOR EACH ROW EXECUTE FUNCTION grids_grid_reassign_buildings();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS grids_grid_reassign_buildings ON grids_grid;
DROP FUNCTION IF EXISTS grids_grid_reassign_buildings();
DROP TRIGGER IF EXISTS grids_building_assign_grid ON grids_building;
DROP FUNCTION IF EXISTS grids_building_assign_grid();
DROP FUNCTION IF EXISTS grids_grid_at(geometry);
"""


class Migration(migrations.Migration):
    dependencies = [("grids", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
