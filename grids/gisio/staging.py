"""A temporary staging table, filled through PostgreSQL COPY batch by batch.

The table lives in the import's transaction (ON COMMIT DROP), so a dry run leaves nothing behind.
"""

import datetime as dt
import io
from collections.abc import Iterable, Sequence

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


class StagingTable:
    def __init__(self, name: str, columns: Sequence[tuple[str, str]]):
        self.name = name
        self.columns = list(columns)

    def create(self) -> None:
        definition = ", ".join(f"{column} {sql_type}" for column, sql_type in self.columns)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.name}")
            cursor.execute(f"CREATE TEMP TABLE {self.name} ({definition}) ON COMMIT DROP")

    def copy(self, rows: Iterable[Sequence]) -> int:
        buffer = io.StringIO()
        count = 0
        for row in rows:
            buffer.write("\t".join(_copy_text(value) for value in row))
            buffer.write("\n")
            count += 1
        if not count:
            return 0
        buffer.seek(0)
        names = ", ".join(column for column, _ in self.columns)
        with connection.cursor() as cursor:
            raw = cursor.cursor
            if hasattr(raw, "copy_expert"):  # psycopg2
                raw.copy_expert(f"COPY {self.name} ({names}) FROM STDIN", buffer)
            else:  # psycopg 3
                with raw.copy(f"COPY {self.name} ({names}) FROM STDIN") as copy:
                    copy.write(buffer.getvalue())
        return count

    def index(self, *column_lists: str) -> None:
        """Index the staged rows for the joins that follow (each argument: "col, col"), and let the planner know
        how many rows there are (temporary tables are never analysed by autovacuum)."""
        with connection.cursor() as cursor:
            for columns in column_lists:
                cursor.execute(f"CREATE INDEX ON {self.name} ({columns})")
            cursor.execute(f"ANALYZE {self.name}")
