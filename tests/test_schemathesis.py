"""Property-based run over the OpenAPI document with every default check of schemathesis: no 5xx, only documented
status codes, content types and response schemas, schema-violating input refused (allowances and their reasons:
tests/schemathesis.toml).

Bounded in time (SCHEMATHESIS_SECONDS for the web API, default 75, 35 for the handheld API and 10 for logging
out) so it fits in `make test`; SCHEMATHESIS_REPORT=path writes each run's whole report to path.<run>.txt.
"""

import os
import re
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from cases.models import Category
from cases.services import create_case
from grids.models import Role
from mobileapi.models import AccessToken
from tests import live
from tests.factories import BuildingFactory, HouseholdFactory, PersonFactory, StaffFactory, UserFactory, square

SECONDS = int(os.environ.get("SCHEMATHESIS_SECONDS", "75"))
WORKER_SECONDS = 35
WORKER_PATHS = "^/api/mobile/v1/(me|patrols|reports|photos|grids|tasks|registry-changes)"


@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_no_server_error_and_no_schema_break(geo, tmp_path):
    admin = UserFactory(username="schema-admin", is_superuser=True, is_staff=True)
    StaffFactory(user=admin, role=Role.ADMIN)
    centre = geo.point("W1", "S")
    building = BuildingFactory(footprint=square(centre.x - 0.0002, centre.y - 0.0002, 0.0004))
    PersonFactory(household=HouseholdFactory(building=building))
    create_case(category=Category.objects.get(code="BJ0101"), point=centre, description="井盖缺失", source="hotline")
    worker = StaffFactory(role=Role.WORKER, grids=[geo.grids["W1"]]).user
    _, key = AccessToken.issue(user=admin, device_id="schemathesis", lifetime=timedelta(hours=2))
    _, worker_key = AccessToken.issue(user=worker, device_id="schemathesis", lifetime=timedelta(hours=2))
    _, logout_key = AccessToken.issue(user=admin, device_id="schemathesis-logout", lifetime=timedelta(hours=2))

    # Two clients at once may both ask for heat bins: let both in rather than answer one 503 busy.
    with live.gunicorn(db_url=live.database_url(), workers=3, HEAVY_REQUESTS_AT_ONCE="2") as base:
        runs = {
            # The web API as an administrator; logging out would end the run's own session.
            "admin": run_schemathesis(
                base, key, tmp_path, ["--exclude-method", "DELETE", "--exclude-path-regex", WORKER_PATHS], SECONDS
            ),
            # The handheld API as a grid worker, so that its answers are more than 403s.
            "worker": run_schemathesis(
                base,
                worker_key,
                tmp_path,
                ["--exclude-method", "DELETE", "--include-path-regex", WORKER_PATHS],
                WORKER_SECONDS,
            ),
            # Logging out, on a token of its own.
            "logout": run_schemathesis(base, logout_key, tmp_path, ["--include-method", "DELETE"], 10),
        }
    tested = 0
    for name, result in runs.items():
        report = result.stdout[-6000:] + result.stderr[-2000:]
        if os.environ.get("SCHEMATHESIS_REPORT"):
            Path(f"{os.environ['SCHEMATHESIS_REPORT']}.{name}.txt").write_text(result.stdout + result.stderr)
        print(report)
        assert result.returncode == 0, report
        tested += int(re.search(r"Tested: (\d+)", result.stdout).group(1))
    total = int(re.search(r"Selected: \d+/(\d+)", runs["admin"].stdout).group(1))
    assert tested == total, f"{tested} of {total} operations tested"  # every operation, in one run or another


def run_schemathesis(base: str, key: str, folder, filters: list[str], seconds: int):
    return subprocess.run(
        [
            str(live.ROOT / ".venv/bin/st"),
            "--config-file",
            str(Path(__file__).with_name("schemathesis.toml")),
            "run",
            f"{base}/api/schema",
            "--header",
            f"Authorization: Token {key}",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-time",
            str(seconds),
            "--max-examples",
            "25",
            # One worker: with two threads the tool itself has crashed inside Python's compiler
            # ("AST constructor recursion depth mismatch"), which says nothing about the server.
            "--workers",
            "1",
            *filters,
            "--seed",
            "20261127",
            "--warnings",
            "off",
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=900,
    )
