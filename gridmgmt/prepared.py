"""Statements PREPAREd once per database connection."""

import re

_PARAMETER = re.compile(r"%\((\w+)\)s|%s")
_statements: dict[str, tuple[str, list[str] | None]] = {}  # name → (text with $n, names of the parameters)


def execute_prepared(cursor, name: str, sql: str, params) -> None:
    """Run `sql` (with %s or %(name)s parameters) as a statement PREPAREd once per database connection.

    PostgreSQL then plans it once per session instead of on every call: for the short lookups of a report,
    planning costs as much as running them. Values still travel as parameters (EXECUTE name(%s, …)).
    `name` stands for this one statement text, which holds no literal % of its own."""
    if name not in _statements:
        keys: list[str] = []
        positions = iter(range(1, 1000))

        def number(match) -> str:
            if match.group(1) is None:
                return f"${next(positions)}"
            if match.group(1) not in keys:
                keys.append(match.group(1))
            return f"${keys.index(match.group(1)) + 1}"

        _statements[name] = (_PARAMETER.sub(number, sql), keys if isinstance(params, dict) else None)
    text, keys = _statements[name]
    values = [params[key] for key in keys] if keys is not None else list(params)
    wrapper = cursor.db
    # The names prepared on the connection now open (a new connection starts with none).
    prepared = getattr(wrapper, "prepared_statements", None)
    if prepared is None or prepared[0] is not wrapper.connection:
        prepared = wrapper.prepared_statements = (wrapper.connection, set())
    if name not in prepared[1]:
        cursor.execute(f"PREPARE {name} AS {text}")
        prepared[1].add(name)
    arguments = f"({', '.join(['%s'] * len(values))})" if values else ""
    cursor.execute(f"EXECUTE {name}{arguments}", values)
