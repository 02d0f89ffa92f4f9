"""Work done with nobody at a terminal, by the real task queue (Celery on this machine's Redis): the schedule
escalates overdue cases, export jobs run on the worker and download, and a job whose worker is killed mid-way is
finished once by the worker that replaces it."""

import csv
import io
import json
import signal
import threading
import urllib.error
import urllib.request
from datetime import timedelta

import psycopg2
import pytest
from django.db import connection
from django.utils import timezone

from cases.models import State
from grids.models import Grid, Role
from jobs.models import ExportJob, JobState
from mobileapi.models import AccessToken
from tests import live
from tests.cases.geo import Geography
from tests.cases.helpers import fresh, report
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db(transaction=True)


def token_of(role: str, username: str) -> str:
    user = StaffFactory(role=role, user__username=username).user
    _, key = AccessToken.issue(user=user, device_id="jobs", lifetime=timedelta(hours=1))
    return key


def call(base: str, path: str, token: str, body: dict | None = None):
    request = urllib.request.Request(
        base + path,
        json.dumps(body).encode() if body is not None else None,
        {"Authorization": f"Token {token}", "Content-Type": "application/json"},
        method="POST" if body is not None else "GET",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        data = response.read()
        kind = response.headers.get_content_type()
        return response.status, response.headers, json.loads(data) if kind == "application/json" else data


def job_state(job_id: str) -> str:
    return ExportJob.objects.get(pk=job_id).state


def test_the_schedule_escalates_an_overdue_case_with_no_command_run_by_hand(geo: Geography):
    # Reported 30 days ago (the clock moved back for it): its registration step ran out long since.
    overdue = report(geo.point("E1", "N"), "SJ0102", received_at=timezone.now() - timedelta(days=30))
    on_time = report(geo.point("W1", "N"), "SJ0102")
    db_url = live.database_url()
    schedule = {"ESCALATE_EVERY_SECONDS": "1"}
    with live.celery("worker", db_url=db_url, **schedule), live.celery("beat", db_url=db_url, **schedule):
        assert live.wait_for(lambda: fresh(overdue).state == State.ESCALATED, seconds=60)
        escalated = fresh(overdue)
        assert escalated.responsible_unit == geo.offices["E"]
        assert escalated.events.get(action="escalate").data["automatic"] is True
        # The schedule runs again and again: still one escalation, and the case on time is left alone.
        runs = escalated.events.count()
        threading.Event().wait(3)
    assert fresh(overdue).events.filter(action="escalate").count() == 1 and fresh(overdue).events.count() == runs
    assert fresh(on_time).state != State.ESCALATED and not fresh(on_time).events.filter(action="escalate").exists()


def test_an_export_job_runs_on_the_worker_its_progress_shows_and_its_file_downloads(geo: Geography, tmp_path):
    manager = token_of(Role.MANAGER, "jobs-manager")
    other = token_of(Role.MANAGER, "jobs-other-manager")
    env = {"EXPORT_JOB_DIR": str(tmp_path / "partial"), "MEDIA_ROOT": str(tmp_path / "media")}
    with (
        live.gunicorn(db_url=live.database_url(), workers=1, **env) as base,
        live.celery("worker", db_url=live.database_url(), **env),
    ):
        status, headers, job = call(base, "/api/v1/export-jobs", manager, {"layer": "grids", "format": "csv"})
        assert status == 202 and job["state"] == "queued" and headers["Location"] == f"/api/v1/export-jobs/{job['id']}"
        assert live.wait_for(lambda: call(base, headers["Location"], manager)[2]["state"] == "done", seconds=60)
        done = call(base, headers["Location"], manager)[2]
        assert done["percent"] == 100 and done["rows_done"] == done["rows_total"] == Grid.objects.count()
        status, headers, content = call(base, done["download"], manager)
        assert status == 200 and "attachment" in headers["Content-Disposition"]
        rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
        assert sorted(row["code"] for row in rows) == sorted(Grid.objects.values_list("code", flat=True))

        # Someone else's job is not there for another manager; a layer the role may not export is refused.
        with pytest.raises(urllib.error.HTTPError) as hidden:
            call(base, f"/api/v1/export-jobs/{job['id']}", other)
        assert hidden.value.code == 404
        with pytest.raises(urllib.error.HTTPError) as refused:
            call(base, "/api/v1/export-jobs", manager, {"layer": "persons", "format": "csv"})
        assert refused.value.code == 403
    assert ExportJob.objects.count() == 1


def test_a_worker_killed_mid_job_and_restarted_completes_the_job_once(geo: Geography, tmp_path):
    manager = token_of(Role.MANAGER, "jobs-killed-manager")
    env = {"EXPORT_JOB_DIR": str(tmp_path / "partial"), "MEDIA_ROOT": str(tmp_path / "media"), "JOB_STALL_SECONDS": "2"}
    db_url = live.database_url()
    settings = connection.settings_dict
    # Hold the grids table: the job's worker starts it and then waits on the lock, mid-job.
    holder = psycopg2.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"],
        user=settings["USER"],
        password=settings["PASSWORD"],
        dbname=settings["NAME"],
    )
    with live.gunicorn(db_url=db_url, workers=1, **env) as base:
        try:
            with holder.cursor() as cursor:
                cursor.execute("LOCK TABLE grids_grid IN ACCESS EXCLUSIVE MODE")
            with live.celery("worker", db_url=db_url, **env) as first:
                job_id = call(base, "/api/v1/export-jobs", manager, {"layer": "grids", "format": "gpkg"})[2]["id"]
                assert live.wait_for(lambda: job_state(job_id) == JobState.RUNNING, seconds=60)
                live.stop_process_group(first, signal.SIGKILL)  # the machine loses the worker, mid-job
        finally:
            holder.rollback()
            holder.close()
        assert job_state(job_id) == JobState.RUNNING
        with live.celery("worker", db_url=db_url, **env):
            assert live.wait_for(lambda: job_state(job_id) == JobState.DONE, seconds=60)
            done = call(base, f"/api/v1/export-jobs/{job_id}", manager)[2]
            status, _headers, content = call(base, done["download"], manager)
    job = ExportJob.objects.get(pk=job_id)
    assert job.attempts == 2 and done["rows_done"] == Grid.objects.count()
    assert status == 200 and content[:16] == b"SQLite format 3\x00"
    assert [path.name for path in (tmp_path / "media/exports").iterdir()] == [f"{job_id}.gpkg"]  # one file
    assert list((tmp_path / "partial").iterdir()) == []  # no partial file left of either attempt


def test_the_scheduler_sends_a_notice_to_its_webhook_and_retries_it_on_the_worker(geo: Geography):
    from tests.notices.test_delivery import KEY, Receiver, verified

    with Receiver(statuses=[500]) as receiver:
        env = {
            "NOTICE_CHANNELS": "wecom",
            "NOTICE_WECOM_URL": receiver.url,
            "NOTICE_WEBHOOK_KEY": KEY,
            "NOTICE_WEBHOOK_BACKOFF_SECONDS": "1",
            "NOTICE_DELIVER_EVERY_SECONDS": "1",
        }
        db_url = live.database_url()
        with live.celery("worker", db_url=db_url, **env), live.celery("beat", db_url=db_url, **env):
            case = report(geo.point("W1", "N"), "SJ0101", reporter=StaffFactory(role=Role.WORKER).user)
            assert live.wait_for(lambda: len(receiver.received) >= 2, seconds=60)
    assert [status for _headers, _body, status in receiver.received[:2]] == [500, 200]
    headers, body, _status = receiver.received[1]
    assert verified(headers, body) and json.loads(body)["notice"]["case"] == case.number
    assert len(receiver.received) == 2  # delivered once, not again
