"""What an import did, or would do: counts from the database and the first rows refused, with why."""

from dataclasses import dataclass, field

SAMPLE = 100  # refused and changed rows kept for the summary


@dataclass
class ImportReport:
    layer: str
    source: str
    format: str
    crs: str | None
    encoding: str | None
    mapping: dict[str, str]
    ignored_columns: list[str]
    commit: bool
    skip_refused: bool
    read: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    refused: int = 0
    refused_rows: list[tuple[int, str]] = field(default_factory=list)
    repaired: int = 0
    repaired_rows: list[int] = field(default_factory=list)
    changed_rows: list[tuple[int, str, list[str]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    written: bool = False

    def refuse(self, row: int, reason: str) -> None:
        self.refused += 1
        if len(self.refused_rows) < SAMPLE or row < self.refused_rows[-1][0]:
            self.refused_rows.append((row, reason))
            self.refused_rows.sort()
            del self.refused_rows[SAMPLE:]

    def repair(self, row: int) -> None:
        self.repaired += 1
        if len(self.repaired_rows) < SAMPLE:
            self.repaired_rows.append(row)

    @property
    def blocked(self) -> bool:
        """Refused rows stop a commit unless the caller chose to skip them."""
        return self.refused > 0 and not self.skip_refused

    def lines(self, *, show: int = 20) -> list[str]:
        mode = "COMMIT" if self.commit else "DRY RUN"
        out = [f"{mode} import of {self.layer} from {self.source} ({self.format})"]
        if self.crs:
            out.append(f"  CRS       {self.crs}")
        if self.encoding:
            out.append(f"  encoding  {self.encoding}")
        out.append("  columns   " + ", ".join(f"{name}←{column}" for name, column in self.mapping.items()))
        if self.ignored_columns:
            out.append("  ignored   " + ", ".join(self.ignored_columns))
        out.extend(f"  note      {note}" for note in self.notes)
        verb = "" if self.written else " (would be)"
        out += [
            f"  read      {self.read:>8}",
            f"  new       {self.new:>8}{verb}",
            f"  changed   {self.changed:>8}{verb}",
            f"  unchanged {self.unchanged:>8}",
            f"  refused   {self.refused:>8}",
        ]
        if self.repaired:
            rows = ", ".join(str(r) for r in self.repaired_rows[:show])
            more = " …" if self.repaired > show else ""
            out.append(f"  repaired  {self.repaired:>8}  invalid geometries made valid: rows {rows}{more}")
        if self.changed_rows:
            out.append(f"changed rows (first {min(show, len(self.changed_rows))}):")
            out.extend(f"  row {row}: {label}: {', '.join(fields)}" for row, label, fields in self.changed_rows[:show])
        if self.refused:
            out.append(f"refused rows (first {min(show, len(self.refused_rows))} of {self.refused}):")
            out.extend(f"  row {row}: {reason}" for row, reason in self.refused_rows[:show])
        if self.written:
            out.append("Committed.")
        elif self.commit and self.blocked:
            out.append(
                f"Nothing written: {self.refused} row(s) refused. Fix them, or pass --skip-refused to write the others."
            )
        else:
            out.append("DRY RUN: nothing written. Run again with --commit to write.")
        return out
