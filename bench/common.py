"""What the bench's parts share: its own databases, child processes with their peak memory, percentiles."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import dj_database_url
from dotenv import dotenv_values

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# By default the schema owner's role from .env (it may create databases), on a database of the bench's own; the
# web server connects as .env's runtime role (DATABASE_URL) to that same database, as `make run` does.
_ENV = dotenv_values(BASE_DIR / ".env")
_OWNER_URL = _ENV.get("DATABASE_OWNER_URL")
_RUNTIME_URL = _ENV.get("DATABASE_URL")
DEFAULT_BENCH_URL = (
    f"{_OWNER_URL.rpartition('/')[0]}/gridmgmt_bench"
    if _OWNER_URL
    else "postgis://gridmgmt:gridmgmt@127.0.0.1:5432/gridmgmt_bench"
)
# Never these: the dev database and the databases tests and colleagues use.
FORBIDDEN_NAMES = {"gridmgmt", "postgres", "template0", "template1"}
WORK_DIR = BASE_DIR / "bench" / "output"  # generated files (GeoPackage, Lua script, logs); not committed


def bench_url(scale: str | None = None) -> str:
    """The bench's database (the owner's URL): BENCH_DATABASE_URL, else gridmgmt_bench; with a scale, its own
    database beside it (`gridmgmt_bench_district`), so a quick small run never replaces the district."""
    url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_BENCH_URL
    if scale:
        url = with_name(url, f"{db_name(url)}_{scale}")
    name = dj_database_url.parse(url)["NAME"]
    if name in FORBIDDEN_NAMES or name.startswith("test_"):
        raise SystemExit(f"refusing to benchmark in database {name!r}: give the bench a database of its own")
    return url


def with_name(url: str, name: str) -> str:
    """The same server and credentials, another database."""
    head, _, _ = url.rpartition("/")
    return f"{head}/{name}"


def db_name(url: str) -> str:
    return dj_database_url.parse(url)["NAME"]


def libpq_params(url: str) -> dict:
    config = dj_database_url.parse(url)
    return {
        "host": config["HOST"] or "127.0.0.1",
        "port": str(config["PORT"] or 5432),
        "user": config["USER"] or "",
        "password": config["PASSWORD"] or "",
        "dbname": config["NAME"],
    }


def pg_dsn(url: str) -> str:
    """`host=… dbname=…` for ogr2ogr's PG: and psycopg2."""
    return " ".join(f"{key}={value}" for key, value in libpq_params(url).items() if value)


def connect(url: str):
    import psycopg2

    conn = psycopg2.connect(pg_dsn(url))
    conn.autocommit = True
    return conn


def runtime_url(url: str) -> str:
    """The runtime role of .env (what the web server connects as) on the database of `url`; `url` itself when
    .env names no separate runtime role or BENCH_RUNTIME_URL says otherwise."""
    if os.environ.get("BENCH_RUNTIME_URL"):
        return os.environ["BENCH_RUNTIME_URL"]
    if not _RUNTIME_URL or not _OWNER_URL:
        return url
    runtime, owner = dj_database_url.parse(_RUNTIME_URL), dj_database_url.parse(url)
    if runtime["USER"] == owner["USER"]:
        return url
    return with_name(_RUNTIME_URL, owner["NAME"])


def child_env(url: str, **extra: str) -> dict:
    """Environment of a child process on the bench database: the runtime role as DATABASE_URL and the owner as
    DATABASE_OWNER_URL (manage.py's set-up commands connect as the owner, the web server as the runtime role)."""
    env = dict(os.environ)
    env["DATABASE_URL"] = runtime_url(url)
    env["DATABASE_OWNER_URL"] = url
    env.pop("DATABASE_ROLE", None)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.update(extra)
    return env


@dataclass
class ChildRun:
    seconds: float
    max_rss_mib: float
    returncode: int
    output: str


# Peak memory of a child process: wait4's ru_maxrss of a child forked from this (large) process would count this
# process's pages too (Linux records the old address space's high-water mark at exec). So the command runs
# under a small launcher that forks and execs it and reports its child's peak: the command's own.
LAUNCHER = """
import json, os, signal, sys
signal.signal(signal.SIGTERM, lambda *_: None)  # the process group gets it; wait for the command to end
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
while True:
    try:
        _, status, usage = os.wait4(pid, 0)
        break
    except InterruptedError:
        continue
code = os.waitstatus_to_exitcode(status)
with open(sys.argv[1], "w") as fh:
    json.dump({"maxrss_kib": usage.ru_maxrss, "code": code}, fh)
sys.exit(code if code >= 0 else 128 - code)
"""


def run_child(args: list[str], *, env: dict | None = None, log: Path | None = None, timeout: float = 3600) -> ChildRun:
    """Run a command to its end: its wall time, exit status, output and its own peak resident memory."""
    import json
    import signal
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        result_path = Path(handle.name)
    out = open(log, "w", encoding="utf-8") if log else subprocess.DEVNULL
    started = time.perf_counter()
    try:
        proc = subprocess.Popen(
            [PYTHON, "-c", LAUNCHER, str(result_path), *args],
            env=env,
            cwd=BASE_DIR,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        seconds = time.perf_counter() - started
    finally:
        if log:
            out.close()
    try:
        report = json.loads(result_path.read_text() or "{}")
    except (OSError, ValueError):
        report = {}
    result_path.unlink(missing_ok=True)
    output = log.read_text(encoding="utf-8", errors="replace") if log else ""
    returncode = report.get("code", proc.returncode)
    return ChildRun(seconds, report.get("maxrss_kib", 0) / 1024, returncode, output)


def manage(*args: str, url: str, log: Path | None = None, timeout: float = 3600) -> ChildRun:
    return run_child([PYTHON, "manage.py", *args], env=child_env(url), log=log, timeout=timeout)


def ensure_database(url: str) -> None:
    """Create the database (with PostGIS) when missing, as scripts/ensure_database.py does, migrate it and collect
    the static files."""
    WORK_DIR.mkdir(exist_ok=True)
    env = child_env(url, DATABASE_ROLE="owner")
    result = run_child([PYTHON, "scripts/ensure_database.py"], env=env, log=WORK_DIR / "ensure.log")
    if result.returncode:
        raise SystemExit(f"cannot create database {db_name(url)}:\n{result.output}")
    result = manage("migrate", "--noinput", "-v", "0", url=url, log=WORK_DIR / "migrate.log")
    if result.returncode:
        raise SystemExit(f"migrate failed on {db_name(url)}:\n{result.output}")
    # This checkout's static files, as `prepare` collects them: a clean clone measuring a database built before
    # has none, and its pages (the phone app's) answer 500 without their manifest.
    result = manage("collectstatic", "--noinput", "-v", "0", url=url, log=WORK_DIR / "collectstatic.log")
    if result.returncode:
        raise SystemExit(f"collectstatic failed:\n{result.output}")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def git_state() -> dict:
    """The commit measured and whether the tree held changes to tracked files (untracked files do not count)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=BASE_DIR, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    changed = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": git("rev-parse", "--short=10", "HEAD") or "?", "clean": not changed, "changed": changed}
