"""The rows measured at the user's boundary: gunicorn over HTTP (as `make run` serves it), beside each row's floor
measured in the same run on equal terms, and the same request in-process to show where the time goes.

Each request row is timed three ways, interleaved sample by sample, the order rotating (whoever reads a point,
a tile or an area first meets colder caches; every variant goes first equally often), after one untimed round
of every variant over the same samples (caches and prepared statements equally warm):

  http        the request over a keep-alive HTTP/1.1 connection to gunicorn (Accept-Encoding: gzip, as a
              browser sends), as the user the row is for: the demo manager's signed-in session (a session
              cookie, as the map and the dashboard send) or a grid worker's access token (the phone app);
              wall time until the whole body is read
  in-process  the same request through Django's test client in the bench's own process (middleware,
              authentication, view, serialisation; no HTTP, no gunicorn)
  floor       the least SQL that gives the answer, as a PREPAREd statement on a connection of its own as the
              web server's role: the same tables and the same subdivided pieces the product reads; no access
              check, no HTTP, no Python beyond fetching the rows

Rows whose SQL the product writes itself (the grid package, the dashboard summary, the OGC items page) take as
floor the statements the endpoint runs — recorded in-process, less the session, user, token and staff reads of
authentication — each PREPAREd and run on that connection. Throughput rows (locate and route with 8
connections) run wrk against gunicorn and pgbench (`-M prepared`, 8 clients) with the floor statement.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import statistics
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import WORK_DIR, connect, libpq_params, percentile, runtime_url

# --- HTTP, keep-alive ----------------------------------------------------------------------------------------


class Http:
    """One persistent HTTP/1.1 connection (as a browser or the phone app keeps one)."""

    def __init__(self, base: str, headers: dict[str, str]):
        host, port = base.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)
        self.headers = {"Host": "127.0.0.1", "Accept-Encoding": "gzip", "Connection": "keep-alive", **headers}
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=300)

    def request(self, method: str, path: str, *, body: bytes | None = None, headers: dict | None = None):
        """(status, body bytes, response headers, seconds)."""
        all_headers = {**self.headers, **(headers or {})}
        for attempt in (0, 1):
            started = time.perf_counter()
            try:
                self.conn.request(method, path, body=body, headers=all_headers)
                response = self.conn.getresponse()
                data = response.read()
                return response.status, data, dict(response.getheaders()), time.perf_counter() - started
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # gunicorn closed an idle keep-alive connection (its keepalive is 2 s): open a new one, as a
                # browser does. Counted in the time only when it happens within a request.
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=300)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.conn.close()


class InProcess:
    """The same requests through Django's test client in this process."""

    def __init__(self, headers: dict[str, str]):
        from django.test import Client

        self.client = Client(HTTP_HOST="127.0.0.1", HTTP_ACCEPT_ENCODING="gzip")
        self.meta = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}

    def request(self, method: str, path: str, *, body: bytes | None = None, headers: dict | None = None):
        meta = {**self.meta, **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in (headers or {}).items()}}
        started = time.perf_counter()
        if method == "GET":
            response = self.client.get(path, **meta)
        else:
            response = self.client.generic(method, path, data=body or b"", content_type="application/json", **meta)
        data = b"".join(response.streaming_content) if response.streaming else response.content
        return response.status_code, data, dict(response.items()), time.perf_counter() - started


# --- The floor: prepared statements ------------------------------------------------------------------------------

_PARAMETER = re.compile(r"%\((\w+)\)s|%s|%%")


class Floor:
    """Statements PREPAREd once on a connection of their own (the web server's role), then EXECUTEd."""

    def __init__(self, url: str):
        self.conn = connect(runtime_url(url))
        self.cursor = self.conn.cursor()
        self.prepared: dict[str, tuple[str, list | None]] = {}
        self.unprepared: set[str] = set()

    def execute(self, sql: str, params=None) -> list:
        key = hashlib.sha256(sql.encode()).hexdigest()[:16]
        if key not in self.prepared and key not in self.unprepared:
            names: list[str] = []
            positions = iter(range(1, 10_000))

            def number(match) -> str:
                if match.group(0) == "%%":
                    return "%"
                if match.group(1) is None:
                    return f"${next(positions)}"
                if match.group(1) not in names:
                    names.append(match.group(1))
                return f"${names.index(match.group(1)) + 1}"

            text = _PARAMETER.sub(number, sql)
            try:
                self.cursor.execute(f"PREPARE f_{key} AS {text}")
                self.prepared[key] = (text, names if isinstance(params, dict) else None)
            except Exception:  # a parameter whose type PostgreSQL cannot infer: run it as it is, unprepared
                self.unprepared.add(key)
        if key in self.unprepared:
            self.cursor.execute(sql, params)
        else:
            _, names = self.prepared[key]
            values = [params[name] for name in names] if names is not None else list(params or [])
            arguments = f"({', '.join(['%s'] * len(values))})" if values else ""
            self.cursor.execute(f"EXECUTE f_{key}{arguments}", values)
        return self.cursor.fetchall() if self.cursor.description else []

    def close(self) -> None:
        self.conn.close()


AUTH_TABLES = re.compile(r'\b(django_session|auth_user|mobileapi_accesstoken|grids_staff)\b|"django_session"')
# Transaction control, settings, the connection check and the heavy-request slot (gridmgmt/dblimits.py).
SKIPPED_STATEMENTS = re.compile(
    r"^\s*(SELECT 1\b|SELECT slot FROM generate_series|SELECT pg_advisory_unlock|SET\b|RESET\b|SAVEPOINT\b"
    r"|RELEASE\b|ROLLBACK\b|BEGIN\b|COMMIT\b)",
    re.I,
)


def recorded_statements(in_process: InProcess, method: str, path: str, **kwargs) -> list[tuple[str, object]]:
    """The SQL one request runs (in-process), less authentication's reads and transaction control."""
    from django.db import connection

    statements: list[tuple[str, object]] = []

    def record(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        in_process.request(method, path, **kwargs)
    from gridmgmt.prepared import _statements as product_prepared

    kept = []
    for sql, params in statements:
        if sql.lstrip().upper().startswith("PREPARE "):
            continue
        executed = re.match(r"\s*EXECUTE (\w+)", sql)
        if executed:  # a statement the product PREPAREs (gridmgmt/prepared.py): its text, $n parameters
            sql = product_prepared[executed.group(1)][0].replace("%", "%%")
        if SKIPPED_STATEMENTS.match(sql) or AUTH_TABLES.search(sql.split(" WHERE ")[0]):
            continue
        kept.append((sql, params))
    return kept


# --- Timing ---------------------------------------------------------------------------------------------------


@dataclass
class Timed:
    seconds: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter = field(default_factory=Counter)
    bytes: list[int] = field(default_factory=list)

    def p(self, name: str, share: float = 0.5) -> float:
        return percentile(self.seconds.get(name, []), share) * 1000


def interleaved(samples: list, variants: dict[str, Callable], *, rounds: int, warm: bool = True) -> Timed:
    """Each variant on each sample, in an order that rotates, `rounds` times; one untimed round first."""
    names = list(variants)
    timed = Timed(seconds={name: [] for name in names})
    if warm:
        for sample in samples:
            for name in names:
                variants[name](sample, timed, False)
    for round_no in range(rounds):
        for i, sample in enumerate(samples):
            shift = (i + round_no) % len(names)
            for name in names[shift:] + names[:shift]:
                timed.seconds[name].append(variants[name](sample, timed, True))
    return timed


def http_variant(client, method: str = "GET", expect: tuple[int, ...] = (200,), headers_of=None):
    def run(sample, timed: Timed, record: bool) -> float:
        headers = headers_of(sample) if headers_of else None
        status, data, _, seconds = client.request(method, sample["path"], headers=headers)
        if record:
            timed.statuses[status] += 1
            timed.bytes.append(len(data))
        if status not in expect:
            raise RuntimeError(f"{sample['path']}: {status} {data[:300]!r}")
        return seconds

    return run


def floor_variant(floor: Floor):
    def run(sample, timed: Timed, record: bool) -> float:
        started = time.perf_counter()
        for sql, params in sample["floor"]:
            floor.execute(sql, params)
        return time.perf_counter() - started

    return run


# --- wrk and pgbench ---------------------------------------------------------------------------------------------

WRK_GET_LUA = r"""
-- generated by bench/boundary.py: GET the paths in turn, each thread from its own place in the list
local paths = {PATHS}
local header_sets = {HEADERS}
local threads = {}
local counter = 0
function setup(thread)
   thread:set("tid", counter)
   counter = counter + 1
   table.insert(threads, thread)
end
function init(args)
   n = tid * 7919
   ok = 0; bad = 0; first_error = ""
end
function request()
   n = n + 1
   return wrk.format("GET", paths[n % #paths + 1], header_sets[n % #header_sets + 1])
end
function response(status, headers, body)
   if status == 200 then ok = ok + 1 else
      bad = bad + 1
      if first_error == "" then first_error = status .. " " .. string.sub(body, 1, 200) end
   end
end
function done(summary, latency, requests)
   local good, errors, first = 0, 0, ""
   for _, thread in ipairs(threads) do
      good = good + thread:get("ok"); errors = errors + thread:get("bad")
      if first == "" then first = thread:get("first_error") or "" end
   end
   io.write(string.format(
      'WRK_JSON {"requests":%d,"duration_us":%d,"socket_errors":%d,"ok":%d,"bad":%d,"p50_us":%d,"p99_us":%d,' ..
      '"first_error":%q}\n', summary.requests, summary.duration,
      summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
      good, errors, latency:percentile(50), latency:percentile(99), first))
end
"""


def lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def wrk_get(base: str, paths: list[str], header_sets: list[dict], *, connections: int, seconds: int) -> dict:
    from bench.load import ensure_wrk

    wrk = ensure_wrk(__import__("sys").stdout)
    script = WORK_DIR / "get.lua"
    headers_lua = ",".join(
        "{" + ",".join(f"[{lua_string(k)}]={lua_string(v)}" for k, v in {"Host": "127.0.0.1", **h}.items()) + "}"
        for h in header_sets
    )
    script.write_text(
        WRK_GET_LUA.replace("{PATHS}", "{" + ",".join(lua_string(p) for p in paths) + "}").replace(
            "{HEADERS}", "{" + headers_lua + "}"
        ),
        encoding="utf-8",
    )
    args = [
        wrk,
        f"-t{min(2, connections)}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        base + "/",
    ]
    done = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60)
    line = next((line for line in done.stdout.splitlines() if line.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result:\n{done.stdout[-1500:]}\n{done.stderr[-1500:]}")
    result = json.loads(line.removeprefix("WRK_JSON "))
    result["per_second"] = result["ok"] / (result["duration_us"] / 1e6)
    return result


def pgbench(url: str, script: str, *, clients: int, seconds: int) -> dict:
    """pgbench -M prepared with `script` (a file of its own), `clients` connections: statements per second."""
    import os

    params = libpq_params(runtime_url(url))
    path = WORK_DIR / "floor.pgbench"
    path.write_text(script, encoding="utf-8")
    env = dict(os.environ, PGHOST=params["host"], PGPORT=params["port"], PGUSER=params["user"],
               PGPASSWORD=params["password"], PGDATABASE=params["dbname"])  # fmt: skip
    args = ["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", "2", "-T", str(seconds), "-f", str(path)]
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=seconds + 60)
    match = re.search(r"tps = ([0-9.]+)", done.stdout)
    if done.returncode or not match:
        raise RuntimeError(f"pgbench failed:\n{done.stdout[-1500:]}\n{done.stderr[-1500:]}")
    latency = re.search(r"latency average = ([0-9.]+) ms", done.stdout)
    return {"per_second": float(match.group(1)), "latency_ms": float(latency.group(1)) if latency else None}


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000 if values else float("nan")


def write_json(name: str, data) -> Path:
    path = WORK_DIR / name
    path.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    return path
