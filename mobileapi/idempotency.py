"""Offline handhelds retry everything: each write carries a client UUID.

The same UUID with the same content returns the first result; with other content it is a conflict.
Concurrent retries are settled by the unique constraint on client_uuid, not by a check-then-insert.
"""

import hashlib
import json
from collections.abc import Callable

from django.db import IntegrityError, models, transaction


class ReplayConflict(Exception):
    """This client UUID was used before for different content."""

    def __init__(self, existing):
        super().__init__(f"client_uuid already used for {existing!r} with different content")
        self.existing = existing


def fingerprint(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False).encode()).hexdigest()


def create_once(
    *,
    model: type[models.Model],
    client_uuid,
    digest: str,
    create: Callable[[], models.Model],
    field: str = "fingerprint",
    scope: dict | None = None,
) -> tuple[models.Model, bool]:
    """(the object, whether this call created it). `scope` narrows whose UUIDs they are (e.g. one worker's)."""
    same_uuid = model.objects.filter(client_uuid=client_uuid, **(scope or {}))

    def replay(existing):
        if getattr(existing, field) != digest:
            raise ReplayConflict(existing)
        return existing, False

    existing = same_uuid.first()
    if existing is not None:
        return replay(existing)
    try:
        with transaction.atomic():
            return create(), True
    except IntegrityError:
        # Another request with the same UUID won the race; it has committed by now.
        existing = same_uuid.first()
        if existing is None:
            raise
        return replay(existing)
