"""Create the database named by DATABASE_URL (and its PostGIS extension) when missing."""

import os
import sys
from pathlib import Path

import dj_database_url
import psycopg2
from dotenv import load_dotenv
from psycopg2 import sql

BASE_DIR = Path(__file__).resolve().parent.parent
load_dotenv(BASE_DIR / ".env")
sys.path.insert(0, str(BASE_DIR))
from gridmgmt.settings import DEFAULT_DATABASE_URL  # noqa: E402

config = dj_database_url.parse(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
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
    cursor.execute("CREATE EXTENSION IF NOT EXISTS postgis")
database.close()
