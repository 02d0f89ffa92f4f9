"""/ogc/api drives a property-based run against a real server: no 5xx, and every status, content type and body
as the document says."""

import os
import subprocess
from datetime import timedelta

import pytest

from grids.models import Role
from mobileapi.models import AccessToken
from tests import live
from tests.factories import StaffFactory


@pytest.mark.django_db(transaction=True)
def test_schemathesis_over_the_ogc_api_definition(town, tmp_path):
    staff = StaffFactory(role=Role.WORKER)
    _, key = AccessToken.issue(user=staff.user, device_id="schemathesis-ogc", lifetime=timedelta(hours=1))
    with live.gunicorn(db_url=live.database_url()) as base:
        result = subprocess.run(
            [
                str(live.ROOT / ".venv/bin/st"),
                "run",
                f"{base}/ogc/api",
                "--header",
                f"Authorization: Token {key}",
                # Not the negative-data check: a `limit` above the documented maximum is served as the maximum,
                # as OGC API – Features asks, where a generic checker expects a 400.
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
                "--phases",
                "examples,coverage,fuzzing",
                "--max-time",
                os.environ.get("SCHEMATHESIS_SECONDS", "60"),
                "--max-examples",
                "25",
                "--seed",
                "20261203",
                "--warnings",
                "off",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
    report = result.stdout[-6000:] + result.stderr[-2000:]
    assert "Tested:" in result.stdout and "Selected: 6/6" in result.stdout, report
    assert result.returncode == 0, report
