"""The runtime role's privileges: exactly what the web app needs, granted by the schema's owner.

The owner (DATABASE_OWNER_URL) owns every table and runs the migrations; the runtime role (DATABASE_URL)
may read and write rows and nothing more. `grant_runtime_privileges` is run after every `migrate` (the
post_migrate hook in grids/apps.py) and by `prepare`, so tables added by any later migration are covered,
in the real database and in the test database alike. docs/security.md, "Database roles", says why.
"""

from django.conf import settings
from django.db import connections
from psycopg2 import sql

# History that is only ever added to: the runtime role may read and insert, never change or remove. Their
# append-only triggers refuse even the owner; without UPDATE and DELETE the runtime role cannot reach them.
APPEND_ONLY_TABLES = ("audit_auditentry", "cases_caseevent")
# Written only by the owner's `migrate`; the runtime role may read which migrations ran.
READ_ONLY_TABLES = ("django_migrations",)

SCHEMA = "public"

# The schema's own objects (owned by the connecting owner, not part of an extension such as PostGIS, whose
# tables and functions keep the grants the extension gives them).
_OWN_OBJECTS = """
SELECT c.relname, c.relkind FROM pg_class c
WHERE c.relnamespace = %(schema)s::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
  AND pg_has_role(c.relowner, 'USAGE')
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                  AND d.deptype = 'e')
ORDER BY c.relname
"""
_OWN_FUNCTIONS = """
SELECT p.oid::regprocedure::text FROM pg_proc p
WHERE p.pronamespace = %(schema)s::regnamespace AND pg_has_role(p.proowner, 'USAGE')
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                  AND d.deptype = 'e')
ORDER BY 1
"""


def runtime_role() -> str | None:
    """The role of DATABASE_URL when it is not the owner's; None when one URL serves both."""
    runtime, owner = settings.RUNTIME_DATABASE["USER"], settings.OWNER_DATABASE["USER"]
    return runtime if runtime and runtime != owner else None


def grant_runtime_privileges(using: str = "default") -> None:
    """Reset the runtime role's privileges on the schema's tables, sequences and functions to exactly:
    SELECT, INSERT, UPDATE, DELETE on tables (SELECT, INSERT on the append-only ones, SELECT on the read-only
    ones and on views), USAGE and SELECT on sequences, EXECUTE on functions; no TRUNCATE, REFERENCES or TRIGGER."""
    role = runtime_role()
    if role is None:
        return
    grantee = sql.Identifier(role)

    def grant(privileges: str, kind: str, targets: list) -> list:
        template = f"GRANT {privileges} ON {kind} {{}} TO {{}}"  # privileges and kind are the constants below
        return [sql.SQL(template).format(sql.SQL(", ").join(targets), grantee)] if targets else []

    def revoke(kind: str, targets: list) -> list:
        template = f"REVOKE ALL ON {kind} {{}} FROM {{}}"
        return [sql.SQL(template).format(sql.SQL(", ").join(targets), grantee)] if targets else []

    with connections[using].cursor() as cursor:
        cursor.execute(_OWN_OBJECTS, {"schema": SCHEMA})
        objects = cursor.fetchall()
        cursor.execute(_OWN_FUNCTIONS, {"schema": SCHEMA})
        functions = [sql.SQL(signature) for (signature,) in cursor.fetchall()]

        def named(kinds: str, among: tuple | None = None) -> list:
            """Objects of these kinds: tables of `among`, or (None) the tables in no such list."""
            special = APPEND_ONLY_TABLES + READ_ONLY_TABLES
            return [
                sql.Identifier(SCHEMA, name)
                for name, kind in objects
                if kind in kinds and (kind not in "rp" or (name in among if among else name not in special))
            ]

        tables, append_only = named("rp"), named("rp", APPEND_ONLY_TABLES)
        read_only, sequences = named("vm") + named("rp", READ_ONLY_TABLES), named("S")
        statements = [
            sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(SCHEMA), grantee),
            *revoke("TABLE", tables + append_only + read_only),
            *revoke("SEQUENCE", sequences),
            *grant("SELECT, INSERT, UPDATE, DELETE", "TABLE", tables),
            *grant("SELECT, INSERT", "TABLE", append_only),
            *grant("SELECT", "TABLE", read_only),
            *grant("USAGE, SELECT", "SEQUENCE", sequences),
            *grant("EXECUTE", "FUNCTION", functions),
        ]
        cursor.execute(sql.SQL(";\n").join(statements))


def grant_after_migrate(sender, using="default", **kwargs) -> None:
    grant_runtime_privileges(using)
