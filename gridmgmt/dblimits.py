"""Database limits of the web process: every web request's statements are bounded in time and temporary space,
and a transaction left idle is ended.

Set once per connection when the connection is made (gridmgmt/wsgi.py turns this on), so management commands
(migrate, seed_demo, import_layer, backup …) run without them. Named export jobs raise the time limit for their
own transaction only (SET LOCAL). A statement stopped by a limit answers 503 JSON (gridmgmt/middleware.py); it is
cancelled in the server, so the connection serves the next request.
"""

import logging
from contextlib import contextmanager

from django.conf import settings
from django.db import connection as default_connection
from django.db.backends.signals import connection_created

logger = logging.getLogger(__name__)

# temp_file_limit is a superuser setting: a runtime role may set it only when granted
# (GRANT SET ON PARAMETER temp_file_limit TO <role>) or when it is set on the role (ALTER ROLE … SET).
# JIT is off for the web: it compiled the heat bins' arithmetic for 9.6 s of a 12 s statement over 650,000 cases,
# where the statement itself took 2.5 s; the web's statements are short or bounded and gain nothing from it.
SESSION_SQL = """
    SELECT set_config('statement_timeout', %(statement_timeout)s, false),
           set_config('idle_in_transaction_session_timeout', %(idle_in_transaction_session_timeout)s, false),
           CASE WHEN has_parameter_privilege('temp_file_limit', 'SET')
                THEN set_config('temp_file_limit', %(temp_file_limit)s, false) END,
           set_config('jit', 'off', false)
"""
EXPORT_SQL = """
    SELECT set_config('statement_timeout', %(statement_timeout)s, true),
           set_config('idle_in_transaction_session_timeout', %(idle_in_transaction_session_timeout)s, true)
"""
# SQLSTATEs of a statement stopped by a limit: query_canceled (statement_timeout) and
# configuration_limit_exceeded (temp_file_limit).
STOPPED_BY_LIMIT = {"57014", "53400"}


_warned = False


def apply(connection) -> None:
    """Put the web limits on this open connection (for the rest of its session)."""
    global _warned
    with connection.connection.cursor() as cursor:
        cursor.execute(SESSION_SQL, settings.DB_WEB_LIMITS)
        if cursor.fetchone()[2] is None and not _warned:
            _warned = True  # once per process, not per connection
            logger.warning("temp_file_limit not set: the database role may not set it (see docs/security.md)")


def _on_connection_created(sender, connection, **kwargs) -> None:
    if connection.vendor == "postgresql":
        apply(connection)


_enabled = False


def enable() -> None:
    """Every database connection this process opens from now on carries the web limits."""
    global _enabled
    connection_created.connect(_on_connection_created, dispatch_uid="gridmgmt.dblimits")
    _enabled = True


def disable() -> None:
    global _enabled
    connection_created.disconnect(dispatch_uid="gridmgmt.dblimits")
    _enabled = False


def allow_export_job(connection=default_connection) -> None:
    """Inside a named export job's transaction: the longer export time limit, for this transaction only."""
    if _enabled:
        with connection.cursor() as cursor:
            cursor.execute(EXPORT_SQL, settings.DB_EXPORT_LIMITS)


def stopped_by_limit(error: BaseException) -> bool:
    """Whether a database error is a statement stopped by statement_timeout or temp_file_limit."""
    return getattr(error.__cause__, "pgcode", None) in STOPPED_BY_LIMIT


# --- Heavy requests: a few at a time across every process -------------------------------------------------------

HEAVY_LOCK_KEY = 0x67726964  # the first key of the advisory locks that count heavy requests


class Busy(Exception):
    """Every heavy-request slot is taken; the request is refused rather than queued behind the others."""


@contextmanager
def heavy_request():
    """Hold one of HEAVY_REQUESTS_AT_ONCE slots (PostgreSQL advisory locks, so shared by every worker process, and
    freed with the session if it dies) while a request runs its expensive statement; Busy when none is free.
    The rest of the service keeps its share of the CPUs however many heavy requests arrive."""
    with default_connection.cursor() as cursor:
        cursor.execute(
            "SELECT slot FROM generate_series(0, %s - 1) AS slot WHERE pg_try_advisory_lock(%s, slot) LIMIT 1",
            [settings.HEAVY_REQUESTS_AT_ONCE, HEAVY_LOCK_KEY],
        )
        row = cursor.fetchone()
    if row is None:
        raise Busy
    try:
        yield
    finally:
        with default_connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [HEAVY_LOCK_KEY, row[0]])
