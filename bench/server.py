"""gunicorn as `make run` starts it, on a free loopback port, for the bench's HTTP rows.

`make run` runs (through scripts/run.sh) `gunicorn gridmgmt.wsgi --config gridmgmt/gunicorn_conf.py
--workers $(WORKERS) --threads 4 --timeout 120 --access-logfile - --error-logfile -`; the bench runs the same
command line on the bench's database (connected as the runtime role, as the web server is), with the access log
in bench/output/ instead of the terminal. WORKERS is read from the Makefile and --threads from scripts/run.sh, so
the two cannot drift apart.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from bench.common import BASE_DIR, WORK_DIR, child_env


def makefile_settings() -> tuple[int, int]:
    """(workers, threads) of `make run`: the Makefile's WORKERS default (or the environment's) and the --threads
    of the web server's command line in scripts/run.sh, which `make run` calls."""
    makefile = (BASE_DIR / "Makefile").read_text(encoding="utf-8")
    workers = int(os.environ.get("WORKERS") or re.search(r"^WORKERS \?= (\d+)", makefile, re.M).group(1))
    script = (BASE_DIR / "scripts" / "run.sh").read_text(encoding="utf-8")
    threads = int(re.search(r"--threads (\d+)", script).group(1))
    return workers, threads


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    def __init__(self, url: str, *, env: dict | None = None):
        self.workers, self.threads = makefile_settings()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.command = [
            str(BASE_DIR / ".venv/bin/gunicorn"), "gridmgmt.wsgi", "--config", "gridmgmt/gunicorn_conf.py",
            "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers), "--threads", str(self.threads),
            "--timeout", "120", "--access-logfile", str(WORK_DIR / "gunicorn-access.log"),
            "--error-logfile", str(WORK_DIR / "gunicorn.log"),
        ]  # fmt: skip
        self.env = child_env(url, **(env or {}))
        self.process: subprocess.Popen | None = None

    def describe(self) -> str:
        return (
            f"gunicorn gridmgmt.wsgi --config gridmgmt/gunicorn_conf.py --workers {self.workers} "
            f"--threads {self.threads} (as make run) on 127.0.0.1"
        )

    def start(self) -> Gunicorn:
        WORK_DIR.mkdir(exist_ok=True)
        self.process = subprocess.Popen(
            self.command, cwd=BASE_DIR, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see bench/output/gunicorn.log")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=5) as response:  # noqa: S310 (loopback)
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("gunicorn did not answer within 90 s; see bench/output/gunicorn.log")

    def worker_pids(self) -> list[int]:
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        except OSError:
            return []
        return [int(pid) for pid in children]

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def __enter__(self) -> Gunicorn:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
