"""Heavy requests (heat bins and their export) run a few at a time across every process: past that they are
refused at once with a 503 that says so, instead of taking the CPUs from every other request."""

import psycopg2
import pytest
from django.db import connection

from gridmgmt.dblimits import HEAVY_LOCK_KEY

pytestmark = pytest.mark.django_db
HEXBINS = "/api/v1/dashboard/hexbins?in_bbox=101.5,26.5,101.7,26.7&zoom=13"
OTHER_VIEW = HEXBINS.replace("zoom=13", "zoom=12")


@pytest.fixture
def other_session():
    db = connection.settings_dict
    session = psycopg2.connect(
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], password=db["PASSWORD"],
        dbname=db["NAME"],
    )  # fmt: skip
    session.autocommit = True
    yield session
    session.close()


def test_heavy_requests_past_the_slots_get_503_busy_and_run_again_once_one_is_free(client_for, other_session, settings):
    settings.HEAVY_REQUESTS_AT_ONCE = 2
    manager = client_for("manager")
    assert manager.get(HEXBINS).status_code == 200
    with other_session.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, 0), pg_advisory_lock(%s, 1)", [HEAVY_LOCK_KEY, HEAVY_LOCK_KEY])
        for path in (OTHER_VIEW, HEXBINS.replace("hexbins", "export.csv")):
            refused = manager.get(path)
            assert refused.status_code == 503 and refused["Retry-After"] == "2", path
            assert refused.json()["code"] == "busy" and "2 个" in refused.json()["detail"]
        # Bins already counted come from the cache and need no slot; ordinary requests are not counted.
        assert manager.get(HEXBINS).status_code == 200
        assert manager.get("/api/v1/dashboard/summary").status_code == 200
        cursor.execute("SELECT pg_advisory_unlock(%s, 1)", [HEAVY_LOCK_KEY])
    assert manager.get(OTHER_VIEW).status_code == 200
    with connection.cursor() as cursor:  # the request gave its slot back
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
        assert cursor.fetchone()[0] == 0
