"""Reading the audit log back and proving it untouched."""

from collections.abc import Iterator

from audit.models import AuditEntry
from audit.services import GENESIS, canonical, chain_digest


def broken_links(*, batch_size: int = 5000) -> Iterator[tuple[int, str]]:
    """(entry id, what is wrong) for every entry whose chain does not hold."""
    previous = GENESIS
    entries = AuditEntry.objects.order_by("id").values(
        "id", "at", "actor", "action", "target", "address", "detail", "previous_digest", "digest"
    )
    for entry in entries.iterator(chunk_size=batch_size):
        if entry["previous_digest"] != previous:
            yield entry["id"], "previous digest does not match the entry before it (an entry was removed or inserted)"
        content = canonical(
            at=entry["at"],
            actor=entry["actor"],
            action=entry["action"],
            target=entry["target"],
            address=entry["address"],
            detail=entry["detail"],
        )
        if chain_digest(entry["previous_digest"], content) != entry["digest"]:
            yield entry["id"], "content does not match its digest (the entry was changed)"
        previous = entry["digest"]
