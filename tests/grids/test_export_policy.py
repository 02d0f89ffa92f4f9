"""GET /api/v1/export/{layer}.{fmt}: which role may export which layer and fields (grids.gisio.policy), CSV and
GeoJSON streamed in chunks, and no temporary file left behind whether the export succeeds or fails."""

import os
import tempfile
import time
import zipfile
from io import BytesIO

import psycopg2
import pytest
from django.db import connection

from gridmgmt import dblimits
from grids.gisio import exporters
from tests.factories import StaffFactory, UnitFactory
from tests.grids.test_export import cases, town  # noqa: F401 - fixtures

LAYERS = ["districts", "streets", "communities", "grids", "buildings", "households", "persons", "units", "cases"]
MAY_EXPORT = {
    "admin": set(LAYERS),
    "manager": set(LAYERS) - {"households", "persons"},
    "dispatcher": set(),
    "worker": set(),
}


@pytest.mark.django_db
@pytest.mark.urls("tests.grids.test_export")
@pytest.mark.parametrize("role", sorted(MAY_EXPORT))
def test_each_role_exports_exactly_its_layers(client_for, cases, role):  # noqa: F811
    client = client_for(role, unit=UnitFactory(code="SO09")) if role == "dispatcher" else client_for(role)
    for layer in LAYERS:
        response = client.get(f"/api/v1/export/{layer}.csv")
        expected = 200 if layer in MAY_EXPORT[role] else 403
        assert response.status_code == expected, (role, layer)
        if expected == 200:
            header = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()[0]
            assert header.split(",")[0] in {"code", "building_code", "id_number_masked", "number"}, (role, layer)
        else:
            assert "导出" in response.json()["detail"]


@pytest.mark.django_db
@pytest.mark.urls("tests.grids.test_export")
def test_managers_case_files_name_no_reporter(client_for, cases):  # noqa: F811
    from cases.models import CaseEvent

    reporter = StaffFactory(role="worker", user__username="reporter-canary-7731").user
    CaseEvent.objects.create(case=cases[0], action="report", to_state="reported", actor=reporter)

    def workbook_text(client) -> str:
        response = client.get("/api/v1/export/cases.xlsx")
        assert response.status_code == 200
        with zipfile.ZipFile(BytesIO(b"".join(response.streaming_content))) as book:
            return b"".join(book.read(name) for name in book.namelist()).decode()

    managers = workbook_text(client_for("manager"))
    assert "case_events" in managers and cases[0].number in managers
    assert "reporter-canary-7731" not in managers and ">actor<" not in managers
    assert "reporter-canary-7731" in workbook_text(client_for("admin"))  # administrators see who acted


@pytest.mark.django_db
@pytest.mark.urls("tests.grids.test_export")
def test_csv_is_streamed_a_chunk_of_rows_at_a_time(client_for, town, monkeypatch):  # noqa: F811
    monkeypatch.setattr(exporters, "CHUNK", 3)
    response = client_for("admin").get("/api/v1/export/persons.csv")
    assert response.status_code == 200 and response.streaming
    chunks = [chunk.decode("utf-8") for chunk in response.streaming_content]
    rows_per_chunk = [chunk.count("\n") for chunk in chunks]
    assert sum(rows_per_chunk) == 17  # the header and 16 people
    assert len(chunks) >= 6 and max(rows_per_chunk) <= 4, rows_per_chunk  # never more than a chunk at once
    assert chunks[0] == "\ufeff"  # the first bytes leave before any row is read

    geojson = client_for("admin").get("/api/v1/export/persons.geojson")
    assert geojson.streaming and len(list(geojson.streaming_content)) >= 6


@pytest.mark.django_db(transaction=True)
@pytest.mark.urls("tests.grids.test_export")
def test_a_client_leaving_mid_stream_ends_the_export_transaction(client_for, town, monkeypatch):  # noqa: F811
    monkeypatch.setattr(exporters, "CHUNK", 2)
    client = client_for("admin")
    response = client.get("/api/v1/export/persons.csv")
    stream = iter(response.streaming_content)
    next(stream), next(stream)
    assert connection.in_atomic_block  # the server-side cursor's transaction is open while streaming
    response.close()  # what the server does when the client disconnects
    assert not connection.in_atomic_block
    assert connection.connection.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_IDLE
    assert client.get("/api/v1/export/grids.csv").status_code == 200


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """The process's temporary folder, for this test only."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.mark.django_db
@pytest.mark.urls("tests.grids.test_export")
def test_file_exports_leave_no_temporary_file_after_success(client_for, cases, scratch):  # noqa: F811
    client = client_for("admin")
    for name in ("cases.xlsx", "cases.gpkg", "persons.csv"):
        response = client.get(f"/api/v1/export/{name}")
        assert response.status_code == 200 and len(b"".join(response.streaming_content)) > 100
        assert os.listdir(scratch) == [], name


@pytest.mark.django_db(transaction=True)
@pytest.mark.urls("tests.grids.test_export")
def test_file_exports_leave_no_temporary_file_after_a_failure(client_for, cases, scratch, settings):  # noqa: F811
    # The case events are held by another session, so the export's second sheet waits until its time is up.
    settings.DB_EXPORT_LIMITS = {"statement_timeout": "1s", "idle_in_transaction_session_timeout": "10s"}
    db = connection.settings_dict
    holder = psycopg2.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"],
        dbname=db["NAME"],
    )
    dblimits.enable()
    try:
        with holder.cursor() as cursor:
            cursor.execute("LOCK TABLE cases_caseevent IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            response = client_for("admin").get("/api/v1/export/cases.xlsx")
            assert time.monotonic() - started < 10
        assert response.status_code == 503 and response.json()["code"] == "query_limit"
        assert os.listdir(scratch) == []
    finally:
        dblimits.disable()
        holder.close()
