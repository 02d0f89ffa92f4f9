"""The settings of a test run: the tests create, migrate and empty a throwaway database, so they connect as
the schema's owner; tests/test_database_roles.py connects as the runtime role on its own."""

import os

os.environ["DATABASE_ROLE"] = "owner"

from gridmgmt.settings import *  # noqa: F403

# pytest-django runs on test_<name>: the queue and cache keys follow it, as a server or worker started on that
# database (tests/live.py, where DATABASE_URL names it already) names them, so that every process of one test run
# meets on one queue.
TEST_DATABASE_NAME = DATABASES["default"]["NAME"]  # noqa: F405
if not TEST_DATABASE_NAME.startswith("test_"):
    TEST_DATABASE_NAME = f"test_{TEST_DATABASE_NAME}"
CELERY_TASK_DEFAULT_QUEUE = f"gridmgmt-{TEST_DATABASE_NAME}"
CACHES["default"]["KEY_PREFIX"] = TEST_DATABASE_NAME  # noqa: F405
