"""Heavy reads from a PostgreSQL streaming replica (docs/scaling.md).

With DATABASE_REPLICA_URL set, the GET requests of the views named in settings.REPLICA_READ_VIEWS (tiles, heat
bins, dashboard, public page, OGC items, exports) read their figures from the replica: the raw SQL that builds the
payload through `reading.cursor()`, and ORM reads of the models in REPLICA_READ_APPS through the router. Everything
else — writes, log-in, tokens, the access check (REPLICA_PRIMARY_MODELS) — stays on the primary.

The replica is used only while it is up and caught up: its state is asked at most once per
REPLICA_CHECK_SECONDS per process, and a replica that does not answer, is not in recovery, or has WAL received but
not replayed for longer than REPLICA_MAX_LAG_SECONDS sends the reads back to the primary until the next check.
A replica connection that fails when a request opens it is marked down at once and that request reads from the
primary.
"""

import contextvars
import logging
import threading
import time

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections

logger = logging.getLogger(__name__)

REPLICA = "replica"
_on_replica_path = contextvars.ContextVar("on_replica_path", default=False)
# Replayed up to what was received: no lag, however long ago the last write was. Otherwise the age of the last
# replayed transaction.
_STATE_SQL = """
    SELECT pg_is_in_recovery(),
           CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
                ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 1e9) END
"""


class _Health:
    """Whether the replica may serve reads, as last seen by this process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.checked_at = float("-inf")
        self.usable = False

    def mark_down(self) -> None:
        with self.lock:
            self.usable, self.checked_at = False, time.monotonic()

    def usable_now(self) -> bool:
        now = time.monotonic()
        if now - self.checked_at < settings.REPLICA_CHECK_SECONDS:
            return self.usable
        with self.lock:
            if now - self.checked_at >= settings.REPLICA_CHECK_SECONDS:
                self.usable, self.checked_at = _ask_replica(), time.monotonic()
            return self.usable


def _ask_replica() -> bool:
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(_STATE_SQL)
            in_recovery, lag = cursor.fetchone()
    except OperationalError as error:
        connections[REPLICA].close()
        logger.warning("read replica unavailable, reading from the primary: %s", str(error).strip())
        return False
    if not in_recovery:
        logger.warning("DATABASE_REPLICA_URL is not a standby (pg_is_in_recovery() is false): not used")
        return False
    if lag > settings.REPLICA_MAX_LAG_SECONDS:
        logger.warning(
            "read replica %.1f s behind (bound %s s): reading from the primary", lag, settings.REPLICA_MAX_LAG_SECONDS
        )
        return False
    return True


health = _Health()


def configured() -> bool:
    return REPLICA in settings.DATABASES


def alias() -> str:
    """The database this request's heavy reads go to."""
    if _on_replica_path.get() and configured() and health.usable_now():
        return REPLICA
    return DEFAULT_DB_ALIAS


class _Reading:
    """Stands where `django.db.connection` stood in the selectors of heavy reads: `reading.cursor()`."""

    def cursor(self):
        name = alias()
        if name == REPLICA:
            try:
                connections[REPLICA].ensure_connection()
            except OperationalError:
                connections[REPLICA].close()
                health.mark_down()
                name = DEFAULT_DB_ALIAS
        return connections[name].cursor()


reading = _Reading()


class ReplicaRouter:
    """ORM reads of registry and case models on the replica paths; all writes and everything else on the primary."""

    def db_for_read(self, model, **hints):
        meta = model._meta
        if meta.app_label in settings.REPLICA_READ_APPS and meta.label not in settings.REPLICA_PRIMARY_MODELS:
            return alias()
        return None

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica is a copy of the same database

    def allow_migrate(self, db, app_label, **hints):
        return db == DEFAULT_DB_ALIAS


class ReplicaReadsMiddleware:
    """Marks the GET/HEAD requests of the views in REPLICA_READ_VIEWS as replica paths, until their response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            return self.get_response(request)
        finally:
            token = request.__dict__.pop("_replica_path", None)
            if token is not None:
                _on_replica_path.reset(token)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if (
            configured()
            and request.method in ("GET", "HEAD")
            and match
            and match.view_name in settings.REPLICA_READ_VIEWS
        ):
            request._replica_path = _on_replica_path.set(True)
