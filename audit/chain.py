"""The audit chain's keyed MACs (HMAC-SHA256) and the canonical text they cover.

Keys come from settings.AUDIT_KEYS (newest first, kept outside the database, in .env): the first signs new
entries and checkpoints, the others still verify what they signed. A key is named by its id, a short hash of
the key itself, which each entry and checkpoint records. Without a key nobody can write an entry or checkpoint
that verifies, so rewriting the log and recomputing the chain shows.
"""

import hashlib
import hmac
import json
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

GENESIS = "0" * 64
MIN_KEY_LENGTH = 32


def key_id(key: str) -> str:
    return hashlib.sha256(b"gridmgmt audit key id\x00" + key.encode()).hexdigest()[:12]


@lru_cache(maxsize=4)
def _keyring(keys: tuple[str, ...]) -> dict[str, bytes]:
    if not keys:
        raise ImproperlyConfigured(
            "AUDIT_KEYS is not set: the audit log cannot be signed (make run writes one to .env)."
        )
    if any(len(key) < MIN_KEY_LENGTH for key in keys):
        raise ImproperlyConfigured(f"Each of AUDIT_KEYS must be at least {MIN_KEY_LENGTH} characters.")
    return {key_id(key): key.encode() for key in keys}


def keyring() -> dict[str, bytes]:
    """Every configured key by its id, the signing (newest) one first."""
    return _keyring(tuple(settings.AUDIT_KEYS))


def signing_key() -> tuple[str, bytes]:
    return next(iter(keyring().items()))


def mac(key: bytes, purpose: str, *parts: str) -> str:
    message = "\x1f".join([purpose, *parts])
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


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


def content_of(entry) -> str:
    """`canonical` of a stored entry: a model instance or a row read with `.values()`."""
    fields = ("at", "actor", "action", "target", "address", "detail")
    if isinstance(entry, dict):
        return canonical(**{name: entry[name] for name in fields})
    return canonical(**{name: getattr(entry, name) for name in fields})


def position_mac(key: bytes, *, seq: int, previous_mac: str) -> str:
    """Seals only the entry's place (position and predecessor): still valid after its content is edited, which
    tells an edited entry from one that was inserted."""
    return mac(key, "position", str(seq), previous_mac)


def entry_mac(key: bytes, *, seq: int, previous_mac: str, key_name: str, content: str) -> str:
    return mac(key, "entry", str(seq), previous_mac, key_name, content)


def plain_digest(previous_mac: str, content: str) -> str:
    """The unkeyed SHA-256 link anyone can compute (the chain's former scheme): a match marks a forgery."""
    return hashlib.sha256((previous_mac + content).encode()).hexdigest()


def checkpoint_mac(key: bytes, *, database: str, count: int, head: str, at: str, key_name: str) -> str:
    return mac(key, "checkpoint", database, str(count), head, at, key_name)


# What of a case event the seal covers, computed by PostgreSQL both when sealing and when verifying (the same
# expression, so no client-side re-encoding can differ). The time in UTC: independent of the session's zone.
CASE_EVENT_DIGESTS_SQL = """
SELECT id, left(encode(pg_catalog.sha256(convert_to(pg_catalog.jsonb_build_array(
    id, case_id, actor_id, unit_id, action, from_state, to_state, note, attachments, data,
    created_at AT TIME ZONE 'UTC')::text, 'UTF8')), 'hex'), 32)
FROM cases_caseevent
"""
