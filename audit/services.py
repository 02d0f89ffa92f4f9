"""Appending to the audit log: its entries, the seals of case events, and the checkpoints of its head."""

import json
from collections.abc import Iterable
from functools import partial

from django.db import connection, transaction
from django.utils import timezone

from audit import chain, checkpoints
from audit.models import AuditAction, AuditEntry

# Advisory lock key: one writer extends the chain at a time, until its transaction ends (so the next writer reads
# the committed head). The unique `seq` makes a fork impossible even for a writer that skipped the lock.
_CHAIN_LOCK = 0x61756474
# Case events named in one sealing entry when many are sealed at once (the demo seed, the upgrade).
SEAL_BATCH = 1000


def record(
    *, action: str, actor: str = "", target: str = "", address: str = "", detail: dict | None = None
) -> AuditEntry:
    """Append one entry, chained to the last one. Runs in the caller's transaction when there is one."""
    return append(AuditEntry, action=action, actor=actor, target=target, address=address, detail=detail)


def append(model, *, action: str, actor: str = "", target: str = "", address: str = "", detail: dict | None = None):
    """`record` for a given model class (the migrations pass their historical one). INSERT only."""
    detail = json.loads(json.dumps(detail or {}, default=str))
    key_name, key = chain.signing_key()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])
        last = model.objects.order_by("-seq").values("seq", "mac").first()
        seq, previous = (last["seq"] + 1, last["mac"]) if last else (1, chain.GENESIS)
        at = timezone.now()
        content = chain.canonical(at=at, actor=actor, action=action, target=target, address=address, detail=detail)
        entry = model.objects.create(
            at=at,
            actor=actor,
            action=action,
            target=target,
            address=address,
            detail=detail,
            seq=seq,
            key_id=key_name,
            previous_mac=previous,
            position_mac=chain.position_mac(key, seq=seq, previous_mac=previous),
            mac=chain.entry_mac(key, seq=seq, previous_mac=previous, key_name=key_name, content=content),
        )
    # Only once committed: a checkpoint must never name an entry that was rolled back.
    transaction.on_commit(partial(checkpoints.write_if_due, seq, entry.mac))
    return entry


def seal_case_events(event_ids: Iterable[int], *, actor: str = "", model=AuditEntry) -> None:
    """Cover case events by the audit chain: an entry names each event with the digest of its content, so an
    edited, removed or slipped-in case event shows in verify_audit. Called in the transaction that wrote them."""
    _seal("WHERE id = ANY(%s)", [list(event_ids)], actor=actor, model=model)


def seal_case_events_after(last_id: int, *, actor: str = "system", model=AuditEntry) -> None:
    """Seal every case event with an id above `last_id` (bulk loaders that COPY rows in, the upgrade)."""
    _seal("WHERE id > %s", [last_id], actor=actor, model=model)


def _seal(where: str, params: list, *, actor: str, model) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"{chain.CASE_EVENT_DIGESTS_SQL} {where} ORDER BY id", params)
        sealed = [list(row) for row in cursor.fetchall()]
    for start in range(0, len(sealed), SEAL_BATCH):
        batch = sealed[start : start + SEAL_BATCH]
        first, last = batch[0][0], batch[-1][0]
        append(
            model,
            action=AuditAction.CASE_EVENTS,
            actor=actor,
            target=f"cases.caseevent:{first}" if first == last else f"cases.caseevent:{first}-{last}",
            detail={"events": batch},
        )


def record_case_events_cleared(*, actor: str = "system") -> None:
    """The case events were removed on purpose (the demo's `seed_demo --replace`): the seals written before this
    signed entry no longer apply, and the ids may be used again."""
    record(action=AuditAction.CASE_EVENTS, actor=actor, target="cases.caseevent", detail={"cleared": True})


def write_checkpoint() -> dict | None:
    """Anchor the current head outside the database now (the `audit_checkpoint` command)."""
    head = AuditEntry.objects.order_by("-seq").values("seq", "mac").first()
    if head is None:
        return None
    return checkpoints.write(count=head["seq"], head=head["mac"])


def actor_name(user) -> str:
    return user.get_username() if user is not None and user.is_authenticated else ""
