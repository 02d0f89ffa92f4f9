"""Checkpoints: the audit chain's length and head MAC, signed with the audit key, appended as JSON lines to a file
outside the database (AUDIT_CHECKPOINT_DIR/<database name>.jsonl). Someone who can rewrite the database but not
this file cannot hide removed newest entries or an emptied table: verify_audit compares the two.

A checkpoint is written after the first entry, every AUDIT_CHECKPOINT_EVERY entries, whenever the last one is
older than AUDIT_CHECKPOINT_SECONDS (on the next write), and on demand (`manage.py audit_checkpoint`).
"""

import fcntl
import json
import logging
import os
import time
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from audit import chain

logger = logging.getLogger(__name__)


def database_name() -> str:
    return connection.settings_dict["NAME"]


def path() -> Path:
    return Path(settings.AUDIT_CHECKPOINT_DIR) / f"{database_name()}.jsonl"


def write(*, count: int, head: str) -> dict:
    key_name, key = chain.signing_key()
    line = {
        "database": database_name(),
        "count": count,
        "head": head,
        "at": timezone.now().isoformat(),
        "key_id": key_name,
    }
    line["mac"] = chain.checkpoint_mac(
        key, database=line["database"], count=count, head=head, at=line["at"], key_name=key_name
    )
    target = path()
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as file:
        fcntl.flock(file, fcntl.LOCK_EX)  # whole lines from concurrent workers, never interleaved
        file.write(json.dumps(line, separators=(",", ":")) + "\n")
        file.flush()
        os.fsync(file.fileno())
    return line


def is_due(seq: int) -> bool:
    if seq == 1 or seq % settings.AUDIT_CHECKPOINT_EVERY == 0:
        return True
    try:
        age = time.time() - path().stat().st_mtime
    except FileNotFoundError:
        return True
    return age >= settings.AUDIT_CHECKPOINT_SECONDS


def write_if_due(seq: int, head: str) -> None:
    """After an entry is committed. A failure to write is logged, never fails the user's request."""
    if not is_due(seq):
        return
    try:
        write(count=seq, head=head)
    except OSError:
        logger.exception("audit checkpoint could not be written to %s", path())


def read() -> tuple[list[dict], list[int]]:
    """(checkpoints whose MAC holds, line numbers of those that do not), from the file; none when it is missing."""
    keys = chain.keyring()
    valid, forged = [], []
    try:
        lines = path().read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return valid, forged
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
            key = keys.get(line["key_id"])
            expected = key and chain.checkpoint_mac(
                key,
                database=line["database"],
                count=int(line["count"]),
                head=line["head"],
                at=line["at"],
                key_name=line["key_id"],
            )
        except (ValueError, KeyError, TypeError):
            expected = None
        if expected and expected == line["mac"] and line["database"] == database_name():
            valid.append(line)
        else:
            forged.append(number)
    return valid, forged
