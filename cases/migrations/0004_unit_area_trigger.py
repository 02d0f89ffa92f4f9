"""Keep cases_unitarea (ST_Subdivide pieces of every unit's jurisdiction) in step with grids_unit, in the database.

Whatever writes a unit (admin, import, raw SQL), its pieces follow; the resolver tests points against the
small pieces through the spatial index instead of against whole, detailed jurisdictions.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION cases_unit_area_refresh() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.type = OLD.type
       AND ST_AsEWKB(NEW.jurisdiction) = ST_AsEWKB(OLD.jurisdiction) THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM cases_unitarea WHERE unit_id = OLD.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO cases_unitarea (unit_id, unit_type, unit_area, geom)
        SELECT NEW.id, NEW.type, ST_Area(NEW.jurisdiction::geography), (ST_Dump(piece)).geom
        FROM ST_Subdivide(NEW.jurisdiction, 64) AS piece;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER cases_unit_area_refresh
AFTER INSERT OR DELETE OR UPDATE OF jurisdiction, type ON grids_unit
FOR EACH ROW EXECUTE FUNCTION cases_unit_area_refresh();

INSERT INTO cases_unitarea (unit_id, unit_type, unit_area, geom)
SELECT u.id, u.type, ST_Area(u.jurisdiction::geography), (ST_Dump(ST_Subdivide(u.jurisdiction, 64))).geom
FROM grids_unit u;
"""

BACKWARD = """
DROP TRIGGER IF EXISTS cases_unit_area_refresh ON grids_unit;
DROP FUNCTION IF EXISTS cases_unit_area_refresh();
DELETE FROM cases_unitarea;
"""


def sync_rules(apps, schema_editor):
    from cases.categories import sync_default_rules

    sync_default_rules(
        category_model=apps.get_model("cases", "Category"), rule_model=apps.get_model("cases", "RoutingRule")
    )


class Migration(migrations.Migration):
    dependencies = [("cases", "0003_routing_rules"), ("grids", "0002_building_grid_trigger")]

    operations = [
        migrations.RunSQL(FORWARD, BACKWARD),
        migrations.RunPython(sync_rules, migrations.RunPython.noop),
    ]
