"""The settings of a test run: the tests create, migrate and empty a throwaway database, so they connect as
the schema's owner; tests/test_database_roles.py connects as the runtime role on its own."""

import os

os.environ["DATABASE_ROLE"] = "owner"

from gridmgmt.settings import *  # noqa: F403
