"""Attempt counters in fixed windows, shared by every worker process: one row per key (an account name, a client
address, an API key) in `gridmgmt_attempt_counter`, each change one atomic statement.

A key's window begins with its first attempt after the last window (and any lock on the key) ended, lasts the
`window` its caller gives, and does not move. `book` counts an attempt with one UPSERT … RETURNING per key and
refuses the one that would go past a key's limit, so however many requests arrive at once no more than the limit
pass in a window. A refused attempt is not counted. Times come from Python (`timezone.now()`), not from the
database clock.

The login lockout (gridmgmt/login_guard.py) books each password check here and also counts the wrong ones, locking
a key for a while (`count_failure`); a rate limit needs `book` alone.
"""

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone

PURGE_ONE_IN = 64  # how often a booking also deletes the rows whose window and lock are over

_TABLE = "gridmgmt_attempt_counter"
_OVER = "c.window_ends <= %(now)s AND (c.locked_until IS NULL OR c.locked_until <= %(now)s)"
_BOOK_SQL = f"""
INSERT INTO {_TABLE} AS c (key, window_ends, attempts, failures, locked_until)
VALUES (%(key)s, %(now)s + %(window)s, 1, 0, NULL)
ON CONFLICT (key) DO UPDATE SET
    window_ends = CASE WHEN {_OVER} THEN EXCLUDED.window_ends ELSE c.window_ends END,
    attempts = CASE WHEN {_OVER} THEN 1 ELSE c.attempts + 1 END,
    failures = CASE WHEN {_OVER} THEN 0 ELSE c.failures END,
    locked_until = CASE WHEN {_OVER} THEN NULL ELSE c.locked_until END
RETURNING attempts, window_ends, locked_until
"""
_GIVE_BACK_SQL = f"UPDATE {_TABLE} SET attempts = GREATEST(attempts - 1, 0) WHERE key = %(key)s"
_FAILED_SQL = f"""
UPDATE {_TABLE} AS c SET
    failures = c.failures + 1,
    locked_until = CASE WHEN c.locked_until IS NULL AND c.failures + 1 >= %(limit)s
                        THEN %(now)s + %(lock_for)s ELSE c.locked_until END
WHERE c.key = %(key)s
"""
_CLEAR_SQL = f"DELETE FROM {_TABLE} WHERE key = %(key)s"
_PURGE_SQL = f"DELETE FROM {_TABLE} AS c WHERE {_OVER}"


@dataclass(frozen=True)
class Limit:
    """At most `attempts` against `key` in one window (at most 200 characters are kept of the key)."""

    key: str
    attempts: int


def _run(sql: str, **params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() if cursor.description else None


def book(limits: Sequence[Limit], *, window: timedelta) -> int:
    """Count one attempt against every key of `limits`, in their order (concurrent callers that list keys in the
    same order take the rows' locks in the same order): 0 when it may go ahead, else the seconds to wait until
    the latest window or lock that stops it is over, and nothing stays counted."""
    now = timezone.now()
    wait = 0
    for limit in limits:
        attempts, window_ends, locked_until = _run(_BOOK_SQL, key=limit.key[:200], now=now, window=window)
        if locked_until is not None and locked_until > now:
            wait = max(wait, _seconds(locked_until, now))
        elif attempts > limit.attempts:
            wait = max(wait, _seconds(window_ends, now))
    if wait:
        give_back(limits)
    if random.randrange(PURGE_ONE_IN) == 0:
        _run(_PURGE_SQL, now=now)
    return wait


def give_back(limits: Sequence[Limit]) -> None:
    """Take back one booked attempt from each key (one that was refused, or that should not count after all)."""
    for limit in limits:
        _run(_GIVE_BACK_SQL, key=limit.key[:200])


def count_failure(limits: Sequence[Limit], *, lock_for: timedelta) -> None:
    """A booked attempt failed: count it, and lock each key that this brings to its limit for `lock_for` from now
    (`book` refuses a locked key whatever its window)."""
    now = timezone.now()
    for limit in limits:
        _run(_FAILED_SQL, key=limit.key[:200], limit=limit.attempts, now=now, lock_for=lock_for)


def clear(limit: Limit) -> None:
    """Forget the key's window, count and lock."""
    _run(_CLEAR_SQL, key=limit.key[:200])


def _seconds(until: datetime, now: datetime) -> int:
    return max(math.ceil((until - now).total_seconds()), 1)
