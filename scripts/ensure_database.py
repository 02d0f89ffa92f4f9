"""Create the database (and its PostGIS extension) when missing, as the owner of DATABASE_OWNER_URL.

The owner needs CREATEDB for a new database; PostGIS comes from template1 when scripts/local_database.py
put it there, else CREATE EXTENSION needs a role allowed to create it (a superuser)."""

import sys
from pathlib import Path

import psycopg2
from psycopg2 import sql

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from gridmgmt.settings import OWNER_DATABASE as config  # noqa: E402 - reads .env

params = {
    "host": config["HOST"] or None,
    "port": config["PORT"] or None,
    "user": config["USER"] or None,
    "password": config["PASSWORD"] or None,
    "connect_timeout": 5,
}
name = config["NAME"]

try:
    admin = psycopg2.connect(dbname="postgres", **params)
except psycopg2.OperationalError as error:
    sys.exit(f"Cannot reach PostgreSQL at {params['host']}:{params['port']} as {params['user']}: {error}")
admin.autocommit = True
with admin.cursor() as cursor:
    cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
    if cursor.fetchone() is None:
        print(f"==> Creating database {name}")
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
admin.close()

database = psycopg2.connect(dbname=name, **params)
database.autocommit = True
with database.cursor() as cursor:
    try:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    except psycopg2.errors.InsufficientPrivilege:
        sys.exit(f"{params['user']} may not create PostGIS in {name}: a superuser must run CREATE EXTENSION postgis.")
database.close()
