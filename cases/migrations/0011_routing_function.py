"""The resolver's rule query as a PL/pgSQL function.

PL/pgSQL keeps the plan of the query inside a function for the session, so a lookup no longer pays for planning
a recursive, spatial query on every call (planning cost twice the execution). The result is the same rows, most
specific first, as the query sent directly.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION cases_routing_matches(p_category bigint, p_lon float8, p_lat float8, p_exclude bigint[])
RETURNS TABLE (
    id bigint, role text, unit_type text, named_unit bigint, priority smallint, is_default boolean,
    code text, distance integer, street_id bigint, community_id bigint, has_area boolean,
    unit_id bigint, unit_code text, unit_name text, unit_kind text, unit_parent_id bigint, unit_phone text
)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    point geometry := ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326);
BEGIN
    RETURN QUERY
    WITH RECURSIVE chain(id, code, parent_id, distance) AS (
        SELECT c.id, c.code, c.parent_id, 0 FROM cases_category c WHERE c.id = p_category
        UNION ALL
        SELECT c.id, c.code, c.parent_id, chain.distance + 1
        FROM cases_category c JOIN chain ON c.id = chain.parent_id
    )
    SELECT r.id, r.role::text, r.unit_type::text, r.unit_id, r.priority, r.is_default,
           chain.code::text, chain.distance, r.street_id, r.community_id, r.area IS NOT NULL,
           u.id, u.code::text, u.name::text, u.type::text, u.parent_id, u.phone::text
    FROM chain
    JOIN cases_routingrule r ON r.category_id = chain.id AND r.active
    CROSS JOIN LATERAL (
        SELECT a.unit_id FROM cases_unitarea a
        WHERE a.geom && point AND ST_Covers(a.geom, point)
          AND a.unit_type = r.unit_type
          AND (r.unit_id IS NULL OR a.unit_id = r.unit_id)
          AND a.unit_id <> ALL(p_exclude)
        ORDER BY a.unit_area, a.unit_id
        LIMIT 1
    ) m
    JOIN grids_unit u ON u.id = m.unit_id
    WHERE (r.street_id IS NULL
           OR EXISTS (SELECT 1 FROM grids_street s WHERE s.id = r.street_id AND ST_Covers(s.boundary, point)))
      AND (r.community_id IS NULL
           OR EXISTS (SELECT 1 FROM grids_community c WHERE c.id = r.community_id AND ST_Covers(c.boundary, point)))
      AND (r.area IS NULL OR ST_Covers(r.area, point))
    ORDER BY chain.distance,
             (r.street_id IS NOT NULL OR r.community_id IS NOT NULL OR r.area IS NOT NULL) DESC,
             r.priority DESC, r.id;
END $$;
"""

BACKWARD = "DROP FUNCTION IF EXISTS cases_routing_matches(bigint, float8, float8, bigint[]);"


class Migration(migrations.Migration):
    dependencies = [("cases", "0010_caseevent_created_at")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
