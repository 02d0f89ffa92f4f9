"""Appending to the audit log."""

import hashlib
import json

from django.db import connection, transaction
from django.utils import timezone

from audit.models import AuditEntry

GENESIS = "0" * 64
_CHAIN_LOCK = 0x61756474  # advisory lock key: one writer extends the chain at a time


def canonical(*, at, actor: str, action: str, target: str, address: str, detail: dict) -> str:
    return json.dumps(
        {
            "at": at.isoformat(),
            "actor": actor,
            "action": action,
            "target": target,
            "address": address,
            "detail": detail,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )


def chain_digest(previous: str, content: str) -> str:
    return hashlib.sha256((previous + content).encode()).hexdigest()


def record(
    *, action: str, actor: str = "", target: str = "", address: str = "", detail: dict | None = None
) -> AuditEntry:
    """Append one entry, chained to the last one. Runs in the caller's transaction when there is one."""
    detail = json.loads(json.dumps(detail or {}, default=str))
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])
        last = AuditEntry.objects.order_by("-id").values_list("digest", flat=True).first() or GENESIS
        at = timezone.now()
        content = canonical(at=at, actor=actor, action=action, target=target, address=address, detail=detail)
        return AuditEntry.objects.create(
            at=at,
            actor=actor,
            action=action,
            target=target,
            address=address,
            detail=detail,
            previous_digest=last,
            digest=chain_digest(last, content),
        )


def actor_name(user) -> str:
    return user.get_username() if user is not None and user.is_authenticated else ""
