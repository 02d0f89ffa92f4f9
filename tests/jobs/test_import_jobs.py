"""Large admin uploads are written by the real worker as import jobs: the upload page sends the administrator to the
job's page, which shows its progress and then the import's report (refused rows as CSV); a job whose worker is
killed mid-import is finished once, with no row written twice; small uploads are still written within the request."""

import csv
import io
import json
import signal
import threading

import psycopg2
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from shapely.geometry import mapping

from grids.models import Building
from jobs.models import ImportJob, JobState
from tests import live
from tests.grids.test_import import buildings_frame, footprint

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def job_settings(settings, tmp_path):
    """Every upload is large enough for a job; the test and the worker share one file storage."""
    settings.IMPORT_JOB_MIN_BYTES = 1
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return {"MEDIA_ROOT": settings.MEDIA_ROOT, "IMPORT_JOB_MIN_BYTES": "1", "JOB_STALL_SECONDS": "2"}


def gpkg_upload(tmp_path) -> SimpleUploadedFile:
    source = tmp_path / "楼栋.gpkg"
    buildings_frame().to_file(source)
    return SimpleUploadedFile("楼栋.gpkg", source.read_bytes())


def job_of(response) -> ImportJob:
    assert response.status_code == 302, response.content.decode()[-1500:]
    job = ImportJob.objects.get()
    assert response["Location"] == f"/admin/grids/import/{job.pk}/"
    return job


def state(job: ImportJob) -> str:
    return ImportJob.objects.get(pk=job.pk).state


def test_a_large_upload_is_written_by_the_worker_and_its_page_shows_the_report(
    client, admin_user, tmp_path, town, job_settings
):
    client.force_login(admin_user)
    upload = gpkg_upload(tmp_path)
    with live.celery("worker", db_url=live.database_url(), **job_settings):
        job = job_of(client.post("/admin/grids/import/", {"layer": "buildings", "file": upload, "commit": "on"}))
        page = client.get(f"/admin/grids/import/{job.pk}/").content.decode()
        assert 'id="import-job-progress"' in page and "楼栋.gpkg" in page
        assert live.wait_for(lambda: state(job) == JobState.DONE, seconds=60), ImportJob.objects.get(pk=job.pk).error
    page = client.get(f"/admin/grids/import/{job.pk}/").content.decode()
    assert 'data-state="done"' in page and 'http-equiv="refresh"' not in page  # finished: no longer refreshes
    assert "已读 3 / 3 行" in page and 'value="100"' in page
    assert "Committed." in page and "新增" in page
    assert 'data-building="B001"' in page and 'href="/map/?grid=51040300100101"' in page  # the grid it fell into
    assert sorted(Building.objects.values_list("code", flat=True)) == ["B001", "B002", "B003"]
    assert not list((tmp_path / "media" / "imports").rglob("*.gpkg"))  # the upload is not kept once written
    # The import page lists the job.
    assert f'href="/admin/grids/import/{job.pk}/"' in client.get("/admin/grids/import/").content.decode()


def test_refused_rows_of_a_job_download_with_their_reasons(client, admin_user, tmp_path, town, job_settings):
    features = [
        {
            "type": "Feature",
            "properties": {"code": code, "name": name, "floors": 5},
            "geometry": mapping(shape),
        }
        for code, name, shape in [
            ("G1", "一栋", footprint(0.005, 0.005)),
            ("G2", "二栋", footprint(0.030, 0.020)),
            ("G3", "点", footprint(0.010, 0.010).centroid),
        ]
    ]
    body = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode()
    client.force_login(admin_user)
    with live.celery("worker", db_url=live.database_url(), **job_settings):
        response = client.post(
            "/admin/grids/import/",
            {
                "layer": "buildings",
                "file": SimpleUploadedFile("b.geojson", body),
                "commit": "on",
                "skip_refused": "on",
            },
        )
        job = job_of(response)
        assert live.wait_for(lambda: state(job) == JobState.DONE, seconds=60), ImportJob.objects.get(pk=job.pk).error
    page = client.get(f"/admin/grids/import/{job.pk}/").content.decode()
    assert f'href="/admin/grids/import/{job.pk}/refused.csv"' in page
    assert sorted(Building.objects.values_list("code", flat=True)) == ["G1", "G2"]
    download = client.get(f"/admin/grids/import/{job.pk}/refused.csv")
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert rows[0] == ["行号", "原因"] and len(rows) == 2
    assert rows[1][0] == "3" and "a Point, not a polygon" in rows[1][1]


def test_a_worker_killed_mid_import_and_restarted_writes_the_rows_once(
    client, admin_user, tmp_path, town, job_settings
):
    client.force_login(admin_user)
    db_url = live.database_url()
    db = connection.settings_dict
    # Hold the buildings table: the job's worker starts the import and then waits on the lock, mid-job.
    holder = psycopg2.connect(
        host=db["HOST"] or "127.0.0.1", port=db["PORT"], user=db["USER"], password=db["PASSWORD"], dbname=db["NAME"]
    )
    upload = gpkg_upload(tmp_path)
    try:
        with holder.cursor() as cursor:
            cursor.execute("LOCK TABLE grids_building IN ACCESS EXCLUSIVE MODE")
        with live.celery("worker", db_url=db_url, **job_settings) as first:
            job = job_of(client.post("/admin/grids/import/", {"layer": "buildings", "file": upload, "commit": "on"}))
            assert live.wait_for(lambda: state(job) == JobState.RUNNING, seconds=60)
            live.stop_process_group(first, signal.SIGKILL)  # the machine loses the worker, mid-import
    finally:
        holder.rollback()
        holder.close()
    assert state(job) == JobState.RUNNING and Building.objects.count() == 0
    threading.Event().wait(3)  # longer than JOB_STALL_SECONDS: the dead worker's attempt has lapsed
    with live.celery("worker", db_url=db_url, **job_settings):
        assert live.wait_for(lambda: state(job) == JobState.DONE, seconds=60)
        threading.Event().wait(2)  # a further delivery of the job would find it done
    done = ImportJob.objects.get(pk=job.pk)
    assert done.attempts == 2 and done.report["new"] == 3 and done.report["written"] is True
    assert Building.objects.count() == 3


def test_a_small_upload_is_still_written_within_the_request(client, admin_user, tmp_path, town, settings):
    settings.IMPORT_JOB_MIN_BYTES = 50 * 1024 * 1024
    client.force_login(admin_user)
    response = client.post(
        "/admin/grids/import/", {"layer": "buildings", "file": gpkg_upload(tmp_path), "commit": "on"}
    )
    assert response.status_code == 200 and "Committed." in response.content.decode()
    assert Building.objects.count() == 3 and not ImportJob.objects.exists()


def test_an_import_job_is_shown_only_to_who_asked_for_it(client, admin_user, django_user_model, tmp_path, town):
    from tests.factories import StaffFactory, UserFactory

    job = ImportJob.objects.create(requested_by=admin_user, layer="buildings", source_name="b.gpkg")
    other = StaffFactory(role="admin", user=UserFactory(is_staff=True)).user
    client.force_login(other)
    assert client.get(f"/admin/grids/import/{job.pk}/").status_code == 404
    assert client.get(f"/admin/grids/import/{job.pk}/refused.csv").status_code == 404
    client.force_login(admin_user)
    page = client.get(f"/admin/grids/import/{job.pk}/").content.decode()
    assert 'data-state="queued"' in page and 'http-equiv="refresh" content="2"' in page
