"""The local PostgreSQL's two roles for gridmgmt; run by scripts/setup.sh when no DATABASE_URL is given.

The first time (and for an .env written before the roles were split) it adds to .env, with fresh passwords:
  DATABASE_URL        the runtime role (the web server and everyday commands): LOGIN, nothing else;
  DATABASE_OWNER_URL  the owner of the schema (migrate, prepare): LOGIN CREATEDB, not a superuser.
Then it brings the cluster in step with .env, as the postgres OS user: both roles with those passwords and
attributes (an owner left a superuser by an earlier set-up loses it), the runtime role allowed to set
temp_file_limit (the web process's per-request bound on temporary files), and PostGIS in template1 — every
database created from template1, the application's and the throwaway test databases, then has the
extension without a superuser (a non-superuser cannot create PostGIS). The runtime role's grants are given
by the owner after each migrate (gridmgmt/database_roles.py). Names for a first run: DB_NAME (gridmgmt),
DB_OWNER_ROLE (gridmgmt), DB_RUNTIME_ROLE (gridmgmt_app).
"""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import dj_database_url
import psycopg2
from dotenv import dotenv_values

ENV_FILE = Path(__file__).resolve().parent.parent / ".env"
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
OWNER_ATTRIBUTES = "LOGIN NOSUPERUSER CREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
RUNTIME_ATTRIBUTES = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"


def write_urls() -> None:
    """Add the two URLs to .env when it has none (a fresh .env, or one from a single-role set-up)."""
    if dotenv_values(ENV_FILE).get("DATABASE_URL"):
        return
    name = os.environ.get("DB_NAME", "gridmgmt")
    owner = os.environ.get("DB_OWNER_ROLE", "gridmgmt")
    runtime = os.environ.get("DB_RUNTIME_ROLE", "gridmgmt_app")
    server = "127.0.0.1:5432"
    print(f"==> Writing the database roles {owner} (owner) and {runtime} (runtime) into .env")
    with ENV_FILE.open("a") as env:
        env.write(
            "# Database roles (docs/security.md): the web server connects as the runtime role, migrations as\n"
            "# the owner. LOCAL_DATABASE=1: scripts/setup.sh keeps the local cluster running and in step.\n"
            "LOCAL_DATABASE=1\n"
            f"DATABASE_URL=postgis://{runtime}:{secrets.token_urlsafe(24)}@{server}/{name}\n"
            f"DATABASE_OWNER_URL=postgis://{owner}:{secrets.token_urlsafe(24)}@{server}/{name}\n"
        )


def roles_in_env() -> tuple[dict, dict]:
    values = dotenv_values(ENV_FILE)
    runtime = dj_database_url.parse(values["DATABASE_URL"])
    owner = dj_database_url.parse(values.get("DATABASE_OWNER_URL") or values["DATABASE_URL"])
    for config in (runtime, owner):
        if not ROLE_NAME.match(config["USER"] or ""):
            sys.exit(f"Role name {config['USER']!r} in .env: use lower-case letters, digits and _ only.")
        if "'" in (config["PASSWORD"] or ""):
            sys.exit(f"The password of {config['USER']} in .env must not contain a quote.")
    if runtime["USER"] == owner["USER"]:
        sys.exit("DATABASE_URL and DATABASE_OWNER_URL in .env name the same role: give the runtime role its own.")
    return runtime, owner


def in_step(runtime: dict, owner: dict) -> bool:
    """Both roles log in with their passwords with the right attributes, template1 has PostGIS."""

    def connect(config: dict, database: str):
        return psycopg2.connect(
            host=config["HOST"],
            port=config["PORT"],
            user=config["USER"],
            password=config["PASSWORD"],
            dbname=database,
            connect_timeout=5,
        )

    try:
        connect(runtime, "postgres").close()
        check = connect(owner, "template1")  # briefly: CREATE DATABASE waits while template1 has sessions
    except psycopg2.OperationalError:
        return False
    with check, check.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) = 2 AND bool_and(NOT rolsuper AND NOT rolcreaterole"
            " AND rolcreatedb = (rolname = %(owner)s)) FROM pg_roles WHERE rolname IN (%(owner)s, %(runtime)s)",
            {"owner": owner["USER"], "runtime": runtime["USER"]},
        )
        (roles_right,) = cursor.fetchone()
        cursor.execute("SELECT has_parameter_privilege(%s, 'temp_file_limit', 'SET')", [runtime["USER"]])
        (sets_temp_file_limit,) = cursor.fetchone()
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")
        has_postgis = cursor.fetchone() is not None
    check.close()
    return bool(roles_right) and sets_temp_file_limit and has_postgis


def as_postgres(script: str, database: str = "postgres") -> None:
    """Run SQL as the postgres OS user (peer authentication), the script on stdin so no password shows in ps."""
    if os.geteuid() != 0:
        sys.exit("Setting up the database roles needs root (to act as the postgres user): run as root.")
    subprocess.run(  # noqa: S603 - fixed command, SQL on stdin
        ["runuser", "-u", "postgres", "--", "psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", database],  # noqa: S607
        input=script,
        text=True,
        check=True,
    )


def role_sql(config: dict, attributes: str) -> str:
    role, password = config["USER"], config["PASSWORD"] or ""
    return (
        f"SELECT 'CREATE ROLE \"{role}\"' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}')\\gexec\n"
        f"ALTER ROLE \"{role}\" {attributes} PASSWORD '{password}';\n"
    )


def main() -> None:
    write_urls()
    runtime, owner = roles_in_env()
    if in_step(runtime, owner):
        return
    print(f"==> Database roles: {owner['USER']} (owner, CREATEDB) and {runtime['USER']} (runtime)")
    as_postgres(
        role_sql(owner, OWNER_ATTRIBUTES)
        + role_sql(runtime, RUNTIME_ATTRIBUTES)
        # The web process bounds each request's temporary files; only a superuser may grant that setting.
        + f'GRANT SET ON PARAMETER temp_file_limit TO "{runtime["USER"]}";\n'
    )
    as_postgres("SET client_min_messages = warning;\nCREATE EXTENSION IF NOT EXISTS postgis;\n", database="template1")


if __name__ == "__main__":
    main()
