"""A temporary staging table, filled through PostgreSQL COPY batch by batch.

The table lives in the import's transaction (ON COMMIT DROP), so a dry run leaves nothing behind.
"""

import datetime as dt
import io
from collections.abc import Sequence

from django.db import connection

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "{" + ",".join(f'"{item}"' for item in value) + "}"
    return str(value)


_NONE = type(None)
_SPECIAL = ("\\", "\t", "\n", "\r")


def column_text(values: list) -> list[str]:
    """The COPY text of one column: strings escaped, None as \\N, numbers as they print.

    Columns of plain strings (the usual case) are escaped in one pass: joined with NUL (which PostgreSQL text
    cannot hold, so it never occurs in a value that could be stored), translated once when an escape is needed
    at all, and split again. Anything else goes value by value.
    """
    kinds = set(map(type, values))
    if kinds <= {str, _NONE}:
        nulls = [i for i, v in enumerate(values) if v is None] if _NONE in kinds else []
        texts = ["" if v is None else v for v in values] if nulls else list(values)
        joined = "\x00".join(texts)
        if joined.count("\x00") == len(texts) - 1:  # no NUL inside a value
            if any(special in joined for special in _SPECIAL):
                texts = joined.translate(_ESCAPES).split("\x00")
            for i in nulls:
                texts[i] = "\\N"
            return texts
    elif kinds <= {int, _NONE}:
        return ["\\N" if v is None else str(v) for v in values]
    return [_copy_text(value) for value in values]


class StagingTable:
    def __init__(self, name: str, columns: Sequence[tuple[str, str]]):
        self.name = name
        self.columns = list(columns)

    def create(self) -> None:
        definition = ", ".join(f"{column} {sql_type}" for column, sql_type in self.columns)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.name}")
            cursor.execute(f"CREATE TEMP TABLE {self.name} ({definition}) ON COMMIT DROP")

    def copy_data(self, columns: Sequence[list]) -> str:
        """The COPY text of a batch given column by column ("" for none).

        The text is built a column at a time (see column_text) and the rows joined in C, so a batch of 10,000 rows
        costs a few milliseconds of Python instead of one function call per value.
        """
        if len(columns) != len(self.columns):
            raise ValueError(f"{len(columns)} columns given for {len(self.columns)}")
        if not columns or not len(columns[0]):
            return ""
        texts = [column_text(column) for column in columns]
        return "\n".join(map("\t".join, zip(*texts, strict=True))) + "\n"

    def send(self, data: str, raw) -> None:
        """COPY `data` (copy_data's text) through `raw`, the driver's connection under Django's (taken in the
        thread that owns it): this may run in another thread while that thread leaves the connection alone (the
        import sends one batch while it reads the next)."""
        names = ", ".join(column for column, _ in self.columns)
        with raw.cursor() as cursor:
            if hasattr(cursor, "copy_expert"):  # psycopg2
                cursor.copy_expert(f"COPY {self.name} ({names}) FROM STDIN", io.StringIO(data))
            else:  # psycopg 3
                with cursor.copy(f"COPY {self.name} ({names}) FROM STDIN") as copy:
                    copy.write(data)

    def index(self, *column_lists: str) -> None:
        """Index the staged rows for the joins that follow (each argument: "col, col"), and let the planner know
        how many rows there are (temporary tables are never analysed by autovacuum). Geometry columns are left
        out of ANALYZE: no join here filters on them, and their statistics cost the most to gather."""
        plain = ", ".join(column for column, sql_type in self.columns if not sql_type.startswith("geometry"))
        with connection.cursor() as cursor:
            for columns in column_lists:
                cursor.execute(f"CREATE INDEX ON {self.name} ({columns})")
            cursor.execute(f"ANALYZE {self.name} ({plain})")
