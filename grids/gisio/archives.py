"""Limits on what an uploaded archive (.zip of a Shapefile, an .xlsx workbook) may unpack to, checked from its
directory before any member is read.

A 1 MB zip can hold a 1 GiB file of one repeated byte; read whole, it takes a worker's memory for a minute.
Every archive is refused unless each member, the whole and each member's compression stay within bounds; the
declared sizes are what Python's zipfile and GDAL's /vsizip read up to (a member that inflates past its declared
size fails its CRC check), so checking them bounds the reading.
"""

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

MiB = 1024 * 1024


@dataclass(frozen=True)
class ArchiveLimits:
    members: int = 1000
    member_bytes: int = 1024 * MiB
    total_bytes: int = 2048 * MiB
    ratio: int = 200  # uncompressed / compressed, for members over `ratio_from` bytes
    ratio_from: int = 1 * MiB
    sidecar_bytes: int = 64 * 1024  # .cpg, .prj and other small text companions of a Shapefile


LIMITS = ArchiveLimits()
# openpyxl keeps a workbook's shared strings in memory: a workbook's parts get a tighter bound.
WORKBOOK_LIMITS = ArchiveLimits(member_bytes=256 * MiB, total_bytes=512 * MiB)
SIDECAR_SUFFIXES = {".cpg", ".prj"}
_UNPRINTABLE = re.compile(r"[^\w.\-/ ]")


class ArchiveRefused(ValueError):
    """The archive would unpack to more than the limits allow; the message says which and by how much."""


def member_label(name: str) -> str:
    """A member's name fit for a message: printable and short (the name itself comes from the upload)."""
    cleaned = _UNPRINTABLE.sub("?", name)
    return cleaned if len(cleaned) <= 60 else f"{cleaned[:57]}…"


def _mib(size: int) -> str:
    return f"{size / MiB:.1f} MB" if size < 1024 * MiB else f"{size / 1024 / MiB:.1f} GB"


def check_archive(path: Path, limits: ArchiveLimits = LIMITS) -> None:
    """Raise ArchiveRefused unless `path` is a zip archive within `limits` (only its directory is read)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as error:
        raise ArchiveRefused(f"{path.name} 不是可读的 zip 文件。{path.name} is not a readable zip archive.") from error
    if len(members) > limits.members:
        raise ArchiveRefused(
            f"{path.name} 含 {len(members)} 个文件，上限 {limits.members}。"
            f"{path.name} holds {len(members)} files; at most {limits.members} are read."
        )
    total = 0
    for member in members:
        size, packed, label = member.file_size, member.compress_size, member_label(member.filename)
        limit = (
            limits.sidecar_bytes if Path(member.filename).suffix.lower() in SIDECAR_SUFFIXES else limits.member_bytes
        )
        if size > limit:
            raise ArchiveRefused(
                f"{label} 解压后 {_mib(size)}，超过上限 {_mib(limit)}。"
                f"{label} unpacks to {_mib(size)}; at most {_mib(limit)} is read."
            )
        if size > limits.ratio_from and size > limits.ratio * max(packed, 1):
            raise ArchiveRefused(
                f"{label} 压缩比异常（{_mib(packed)} 解压为 {_mib(size)}）。"
                f"{label} is compressed suspiciously well ({_mib(packed)} unpacking to {_mib(size)}, "
                f"more than {limits.ratio}:1)."
            )
        total += size
        if total > limits.total_bytes:
            raise ArchiveRefused(
                f"{path.name} 解压后超过 {_mib(limits.total_bytes)}。"
                f"{path.name} unpacks to more than {_mib(limits.total_bytes)}."
            )
