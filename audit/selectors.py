"""Reading the audit log back and proving it untouched (`manage.py verify_audit`)."""

from collections import Counter
from dataclasses import dataclass, field

from django.db import connection

from audit import chain, checkpoints
from audit.models import AuditAction, AuditEntry

# What verify_audit can find, as it names it.
KINDS = {
    "edited": "记录被修改 / edited entry",
    "inserted": "记录被插入 / inserted entry",
    "gap": "中间记录被删除 / entries deleted in the middle",
    "recomputed": "链条被无密钥重算 / chain recomputed without the key",
    "unknown_key": "未知签名密钥 / signed with an unknown key",
    "tail_deleted": "最新记录被删除 / newest entries deleted",
    "truncated": "审计表被清空 / table truncated",
    "checkpoint_mismatch": "与检查点不符 / differs from a checkpoint",
    "checkpoint_forged": "检查点无效 / checkpoint not signed with the key",
    "event_edited": "案件流转记录被修改 / case event edited",
    "event_inserted": "案件流转记录被插入 / case event inserted",
    "event_deleted": "案件流转记录被删除 / case events deleted",
    "events_truncated": "案件流转记录表被清空 / case events table truncated",
}


@dataclass(frozen=True)
class Finding:
    kind: str
    message: str
    entry_id: int | None = None

    def __str__(self) -> str:
        return f"[{KINDS[self.kind]}] {self.message}"


@dataclass
class Verification:
    findings: list[Finding] = field(default_factory=list)
    entries: int = 0
    head: int = 0  # highest position in the table
    checkpoints: int = 0
    anchored: int = 0  # highest position a checkpoint vouches for
    case_events: int = 0
    key_ids: Counter = field(default_factory=Counter)

    def add(self, kind: str, message: str, entry_id: int | None = None) -> None:
        self.findings.append(Finding(kind, message, entry_id))


def _ids(ids: list[int], limit: int = 20) -> str:
    shown = ", ".join(f"#{i}" for i in ids[:limit])
    return shown + (f" … (+{len(ids) - limit})" if len(ids) > limit else "")


class _ChainWalk:
    """Reads the entries in chain order once, classifying each: authentic (its MAC holds), edited (its place is
    sealed but its content no longer matches), or forged (neither: inserted, or part of a chain recomputed by
    someone without the key, told apart by how the entries around it link)."""

    def __init__(self, result: Verification, anchored_positions: set[int]):
        self.result = result
        self.keys = chain.keyring()
        self.anchored_positions = anchored_positions
        self.at_position: dict[int, dict] = {}  # the entries checkpoints vouch for
        self.seals: dict[int, tuple[str, int]] = {}  # case event id -> (digest, sealing entry id), since the last wipe
        self.before: dict | None = None  # the last entry whose place holds
        self.forged: list[dict] = []

    def feed(self, entry: dict) -> None:
        result = self.result
        result.entries += 1
        result.head = max(result.head, entry["seq"])
        result.key_ids[entry["key_id"]] += 1
        if entry["seq"] in self.anchored_positions:
            self.at_position[entry["seq"]] = entry
        key = self.keys.get(entry["key_id"])
        if key is None:
            result.add(
                "unknown_key",
                f"记录 #{entry['id']} 的签名密钥 {entry['key_id'] or '(空)'} 不在 AUDIT_KEYS 中 / entry #{entry['id']} "
                "is signed with a key id not in AUDIT_KEYS (an old key was removed, or the entry is forged)",
                entry["id"],
            )
            self._settle(entry)
            return
        entry["content"] = content = chain.content_of(entry)
        mac = chain.entry_mac(
            key, seq=entry["seq"], previous_mac=entry["previous_mac"], key_name=entry["key_id"], content=content
        )
        if mac == entry["mac"]:
            if entry["action"] == AuditAction.CASE_EVENTS:
                if entry["detail"].get("cleared"):
                    self.seals.clear()
                for event_id, digest in entry["detail"].get("events", []):
                    self.seals.setdefault(event_id, (digest, entry["id"]))
            self._settle(entry)
        elif chain.position_mac(key, seq=entry["seq"], previous_mac=entry["previous_mac"]) == entry["position_mac"]:
            result.add(
                "edited",
                f"记录 #{entry['id']}（第 {entry['seq']} 条）内容被修改 / entry #{entry['id']} (position "
                f"{entry['seq']}) was edited: its content no longer matches its MAC",
                entry["id"],
            )
            self._settle(entry)
        else:
            self.forged.append(entry)

    def _settle(self, entry: dict) -> None:
        """An entry whose place in the chain holds: judge the forged run before it, then any gap before it."""
        before = self.before
        expected = before["seq"] + 1 if before else 1
        recomputed = False
        if self.forged:
            linked_past = entry["previous_mac"] == (before["mac"] if before else chain.GENESIS)
            recomputed = self._judge_forged(inserted=linked_past and entry["seq"] == expected)
        if entry["seq"] > expected and not recomputed:
            after = f"#{before['id']}" if before else "链首 / the start"
            positions = f"{expected}–{entry['seq'] - 1}"
            self.result.add(
                "gap",
                f"{after} 与 #{entry['id']} 之间第 {positions} 条被删除 / positions {positions} between {after} and "
                f"#{entry['id']} were deleted ({entry['seq'] - expected} entries)",
                entry["id"],
            )
        self.before = entry

    def _judge_forged(self, *, inserted: bool, at_tail: bool = False) -> bool:
        """Name the run of forged entries; True when it is a recomputed stretch of the chain."""
        run, self.forged = self.forged, []
        anchored = any(seq >= run[0]["seq"] for seq in self.anchored_positions)
        if inserted or (at_tail and len(run) == 1 and not anchored):
            for entry in run:
                self.result.add(
                    "inserted",
                    f"记录 #{entry['id']} 不是本系统写入的（无有效签名）/ entry #{entry['id']} was inserted: "
                    "neither its place nor its content carries a valid MAC",
                    entry["id"],
                )
            return False
        plain = all(entry["mac"] == chain.plain_digest(entry["previous_mac"], entry["content"]) for entry in run)
        how_zh, how_en = ("普通 SHA-256", "plain SHA-256") if plain else ("错误的密钥", "a wrong key")
        first, last = run[0], run[-1]
        positions = f"{first['seq']}–{last['seq']}"
        self.result.add(
            "recomputed",
            f"从记录 #{first['id']} 起 {len(run)} 条（第 {positions} 条）的链条被无密钥重算（{how_zh}）/ the chain "
            f"was recomputed without the audit key from entry #{first['id']}: {len(run)} entries (positions "
            f"{positions}), signed with {how_en}",
            first["id"],
        )
        return True

    def finish(self) -> None:
        if self.forged:
            self._judge_forged(inserted=False, at_tail=True)


def _check_checkpoints(result: Verification, valid: list[dict], walk: _ChainWalk) -> None:
    for cp in valid:
        entry = walk.at_position.get(cp["count"])
        if entry is not None and entry["mac"] != cp["head"]:
            result.add(
                "checkpoint_mismatch",
                f"第 {cp['count']} 条（#{entry['id']}）不是 {cp['at']} 的检查点记下的那一条 / the entry at position "
                f"{cp['count']} (#{entry['id']}) is not the one the checkpoint of {cp['at']} anchored: "
                "the chain was rewritten",
                entry["id"],
            )
    if not valid:
        return
    latest = max(valid, key=lambda cp: cp["count"])
    result.anchored = latest["count"]
    if result.entries == 0:
        result.add(
            "truncated",
            f"审计表为空，但 {latest['at']} 的检查点记有 {latest['count']} 条 / the audit table is empty but the "
            f"checkpoint of {latest['at']} counted {latest['count']} entries: the table was truncated",
        )
    elif result.head < latest["count"]:
        missing = latest["count"] - result.head
        result.add(
            "tail_deleted",
            f"最新的 {missing} 条被删除：表止于第 {result.head} 条，{latest['at']} 的检查点记有 {latest['count']} 条 / "
            f"the {missing} newest entries were deleted: the table ends at position {result.head}, below the "
            f"{latest['count']} counted by the checkpoint of {latest['at']}",
        )


def _check_case_events(result: Verification, seals: dict[int, tuple[str, int]], *, batch_size: int) -> None:
    inserted: list[int] = []
    with connection.chunked_cursor() as cursor:  # server-side: a city's events are not all held at once
        cursor.execute(chain.CASE_EVENT_DIGESTS_SQL + " ORDER BY id")
        while rows := cursor.fetchmany(batch_size):
            for event_id, digest in rows:
                result.case_events += 1
                sealed = seals.pop(event_id, None)
                if sealed is None:
                    inserted.append(event_id)
                elif sealed[0] != digest:
                    result.add(
                        "event_edited",
                        f"案件流转记录 #{event_id} 被修改（封存于审计记录 #{sealed[1]}）/ case event #{event_id} was "
                        f"edited: it no longer matches its seal in audit entry #{sealed[1]}",
                        event_id,
                    )
    if inserted:
        result.add(
            "event_inserted",
            f"{len(inserted)} 条案件流转记录未经封存：{_ids(inserted)} / {len(inserted)} case events were inserted "
            f"behind the application's back (no seal in the audit log): {_ids(inserted)}",
            inserted[0],
        )
    if not seals:
        return
    deleted = sorted(seals)
    if result.case_events == 0:
        result.add(
            "events_truncated",
            f"案件流转记录表为空，但审计日志封存了 {len(deleted)} 条 / the case events table is empty but the audit "
            f"log sealed {len(deleted)} events: it was truncated",
        )
        return
    result.add(
        "event_deleted",
        f"{len(deleted)} 条已封存的案件流转记录被删除：{_ids(deleted)} / {len(deleted)} sealed case events were "
        f"deleted: {_ids(deleted)}",
        deleted[0],
    )


def verify(*, batch_size: int = 5000) -> Verification:
    """Everything verify_audit finds: the chain against its key, the head against the checkpoints, the case
    events against their seals."""
    result = Verification()
    valid, forged_lines = checkpoints.read()
    result.checkpoints = len(valid)
    for number in forged_lines:
        result.add(
            "checkpoint_forged",
            f"检查点文件 {checkpoints.path()} 第 {number} 行的签名无效 / line {number} of {checkpoints.path()} "
            "does not carry a valid MAC",
        )
    walk = _ChainWalk(result, {cp["count"] for cp in valid})
    entries = AuditEntry.objects.order_by("seq", "id").values(
        "id", "at", "actor", "action", "target", "address", "detail", "seq", "key_id", "previous_mac",
        "position_mac", "mac",
    )  # fmt: skip
    for entry in entries.iterator(chunk_size=batch_size):
        walk.feed(entry)
    walk.finish()
    _check_checkpoints(result, valid, walk)
    _check_case_events(result, walk.seals, batch_size=batch_size)
    return result
