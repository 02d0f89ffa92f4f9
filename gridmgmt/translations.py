"""Filling an English catalogue (a `makemessages` .po) from a table of translations.

Each app keeps its table in `<app>/locale/translations.py` and calls `fill_catalogue`; then `msgfmt` (or
`manage.py compilemessages`) makes the .mo.
"""

import re
from pathlib import Path

_ENTRY = re.compile(
    r'(?:msgctxt "(?P<context>[^"]*)"\n)?msgid (?P<msgid>(?:".*"\n)+)(?:msgid_plural (?P<plural>(?:".*"\n)+))?'
    r"msgstr",
)


def _joined(quoted: str) -> str:
    return "".join(re.findall(r'"(.*)"', quoted))


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def fill_catalogue(po: Path, english: dict[str, str], *, by_context: dict[str, dict[str, str]] | None = None):
    """Write the English of every entry found in `english` (or, for an entry with a msgctxt, in
    `by_context[msgctxt]`) into `po`, and make its header an English one. Returns (entries filled, msgids left
    untranslated)."""
    entries = re.split(r"\n\n", po.read_text(encoding="utf-8").strip())
    header = entries[0].replace("charset=CHARSET", "charset=UTF-8").replace("#, fuzzy\n", "")
    header = header.replace('"Language: \\n"', '"Language: en\\n"')
    header = header.replace("nplurals=INTEGER; plural=EXPRESSION;", "nplurals=2; plural=(n != 1);")
    out, filled, missing = [header], 0, []
    for entry in entries[1:]:
        match = _ENTRY.search(entry)
        if not match:
            out.append(entry)
            continue
        msgid, context = _joined(match.group("msgid")), match.group("context")
        table = (by_context or {}).get(context, {}) if context else english
        translated = table.get(msgid)
        if translated is None:
            missing.append(msgid)
            out.append(entry)
            continue
        head = entry[: match.end() - len("msgstr")].replace("#, fuzzy\n", "")
        if match.group("plural") is not None:
            out.append(head + f'msgstr[0] "{_escape(translated)}"\nmsgstr[1] "{_escape(translated)}"')
        else:
            out.append(head + f'msgstr "{_escape(translated)}"')
        filled += 1
    po.write_text("\n\n".join(out) + "\n", encoding="utf-8")
    return filled, missing
