"""Property-based run over the OpenAPI document: no 5xx and no response that breaks the documented schema.

Bounded in time (SCHEMATHESIS_SECONDS, default 120) so it fits in `make test`.
"""

import os
import subprocess
from datetime import timedelta

import pytest

from cases.models import Category
from cases.services import create_case
from grids.models import Role
from mobileapi.models import AccessToken
from tests import live
from tests.factories import BuildingFactory, HouseholdFactory, PersonFactory, StaffFactory, UserFactory, square


@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_no_server_error_and_no_schema_break(geo, tmp_path):
    admin = UserFactory(username="schema-admin", is_superuser=True, is_staff=True)
    StaffFactory(user=admin, role=Role.ADMIN)
    centre = geo.point("W1", "S")
    building = BuildingFactory(footprint=square(centre.x - 0.0002, centre.y - 0.0002, 0.0004))
    PersonFactory(household=HouseholdFactory(building=building))
    create_case(category=Category.objects.get(code="BJ0101"), point=centre, description="井盖缺失", source="hotline")
    _, key = AccessToken.issue(user=admin, device_id="schemathesis", lifetime=timedelta(hours=2))

    # Two clients at once may both ask for heat bins: let both in rather than answer one 503 busy.
    with live.gunicorn(db_url=live.database_url(), workers=3, HEAVY_REQUESTS_AT_ONCE="2") as base:
        run_schemathesis(base=base, key=key, cwd=tmp_path)


@pytest.mark.django_db(transaction=True)
def test_schemathesis_as_a_grid_worker_on_registry_change_requests(geo, tmp_path):
    """The handheld's 信息采集 endpoints answer workers only, so they get a run of their own with a worker's token."""
    worker = StaffFactory(role=Role.WORKER, grids=[geo.grids["W1"]]).user
    centre = geo.point("W1", "S")
    building = BuildingFactory(footprint=square(centre.x - 0.0002, centre.y - 0.0002, 0.0004))
    PersonFactory(household=HouseholdFactory(building=building))
    _, key = AccessToken.issue(user=worker, device_id="schemathesis", lifetime=timedelta(hours=2))
    with live.gunicorn(db_url=live.database_url(), workers=3, HEAVY_REQUESTS_AT_ONCE="2") as base:
        run_schemathesis(
            base=base,
            key=key,
            cwd=tmp_path,
            seconds=os.environ.get("SCHEMATHESIS_WORKER_SECONDS", "40"),
            paths=["--include-path-regex", "registry-changes"],
        )


def run_schemathesis(*, base: str, key: str, cwd, seconds: str | None = None, paths: list[str] = ()) -> None:
    result = subprocess.run(
        [
            str(live.ROOT / ".venv/bin/st"),
            "run",
            f"{base}/api/schema",
            "--header",
            f"Authorization: Token {key}",
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-time",
            seconds or os.environ.get("SCHEMATHESIS_SECONDS", "120"),
            "--max-examples",
            "25",
            "--workers",
            "2",
            "--exclude-path-regex",
            "auth/token",  # logging in and out would end the run's own session
            *paths,
            "--seed",
            "20261127",
            "--warnings",
            "off",
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
    )
    report = result.stdout[-6000:] + result.stderr[-2000:]
    print(report)
    assert "Tested:" in result.stdout, report
    assert result.returncode == 0, report
