"""`make run` (scripts/setup.sh) gives the audit chain a key: in a new .env, and added to an older one."""

import re
import subprocess
from pathlib import Path

from audit import chain

ROOT = Path(__file__).resolve().parents[2]


def run_env_writer(folder: Path) -> None:
    """The part of setup.sh that adds AUDIT_KEYS, run as written in it against `folder`/.env."""
    script = (ROOT / "scripts/setup.sh").read_text()
    block = re.search(r"^if ! grep -q '\^AUDIT_KEYS=' \.env; then\n.*?^fi\n", script, re.S | re.M).group(0)
    (folder / ".venv").symlink_to(ROOT / ".venv")
    subprocess.run(["bash", "-euo", "pipefail", "-c", "say() { :; }\n" + block], cwd=folder, check=True)


def test_an_env_without_an_audit_key_gets_one_once(tmp_path):
    (tmp_path / ".env").write_text("SECRET_KEY=x\nPII_KEYS=y")  # no newline at the end
    run_env_writer(tmp_path)
    lines = (tmp_path / ".env").read_text().splitlines()
    assert lines[:2] == ["SECRET_KEY=x", "PII_KEYS=y"]
    [key] = [line.removeprefix("AUDIT_KEYS=") for line in lines if line.startswith("AUDIT_KEYS=")]
    assert len(key) >= chain.MIN_KEY_LENGTH and "," not in key
    (tmp_path / ".venv").unlink()
    run_env_writer(tmp_path)  # a second run keeps the key
    assert (tmp_path / ".env").read_text().splitlines() == lines


def test_two_machines_get_different_keys(tmp_path):
    keys = []
    for name in ("one", "two"):
        folder = tmp_path / name
        folder.mkdir()
        (folder / ".env").write_text("DEBUG=0\n")
        run_env_writer(folder)
        keys.append((folder / ".env").read_text())
    assert keys[0] != keys[1]
