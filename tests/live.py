"""A real gunicorn server, task-queue worker and scheduler on the test database, for tests that must cross a real
HTTP and process boundary."""

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url(*, port: int | None = None) -> str:
    db = connection.settings_dict
    return f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{port or db['PORT']}/{db['NAME']}"


def is_up(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def wait_for(predicate, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return False


@contextlib.contextmanager
def gunicorn(*, db_url: str, workers: int = 2, access_log: Path | None = None, **env):
    """Serve the project on a free loopback port with `make run`'s gunicorn settings; yields the base URL."""
    port = free_port()
    environment = {**os.environ, "DATABASE_URL": db_url, "DEBUG": "0", "HTTPS": "0", **env}
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "gridmgmt.wsgi",
            "--config",
            "gridmgmt/gunicorn_conf.py",
            *(["--access-logfile", str(access_log)] if access_log else []),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--timeout",
            "60",
        ],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(lambda: is_up(base)), "the server did not come up"
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)


@contextlib.contextmanager
def celery(process: str, *, db_url: str, **env):
    """A task-queue worker or scheduler (`worker`, `beat`) for the test database, as `make run` starts it; yields
    the Popen of its own process group, so that a test can kill it with everything it forked."""
    environment = {**os.environ, "DATABASE_URL": db_url, **env}
    if process == "worker":  # messages left in the test database's queue by earlier runs (e.g. schemathesis)
        subprocess.run(
            [str(ROOT / ".venv/bin/celery"), "-A", "gridmgmt", "purge", "-f"],
            cwd=ROOT,
            env=environment,
            check=True,
            capture_output=True,
        )
    log = tempfile.NamedTemporaryFile(prefix=f"gridmgmt-{process}-", suffix=".log", delete=False)
    arguments = {
        "worker": ["worker", "--concurrency", "1", "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
        "beat": ["beat", "--loglevel", "INFO", "--schedule", f"{log.name}.schedule"],
    }[process]
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/celery"), "-A", "gridmgmt", *arguments],
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server.log_path = log.name
    try:
        if process == "worker":
            assert wait_for(lambda: "ready." in Path(log.name).read_text(), seconds=60), Path(log.name).read_text()
        yield server
    finally:
        stop_process_group(server, signal.SIGTERM)


def stop_process_group(process: subprocess.Popen, how: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, how)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
