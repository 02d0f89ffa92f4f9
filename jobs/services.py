"""Export jobs: queued by a request, written by the task queue's worker, downloaded when done.

The file is written to a local partial file (EXPORT_JOB_DIR) and then stored in the file storage.
A job may be run more than once — its message delivered again after its worker died, or handed to another worker
by `requeue_stalled` — and still completes once: each run is an attempt with its own partial file, and only the
latest attempt may mark the job done and put its file in place.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connections, transaction
from django.utils import timezone

from grids.gisio.exporters import ExportError, count_rows, export_layer
from jobs.models import ExportJob, JobState

logger = logging.getLogger(__name__)
PROGRESS_EVERY = 5_000  # rows between two progress writes (one export chunk)


def start_export(*, user, export: dict) -> ExportJob:
    """Queue an export (the arguments of export_layer, checked by grids.io_views.export_request)."""
    from jobs import tasks

    job = ExportJob.objects.create(
        requested_by=user, role=export["role"], layer=export["layer"], fmt=export["fmt"], filters=export["filters"]
    )
    transaction.on_commit(lambda: tasks.run_export.delay(str(job.pk)))
    return job


def _claim(job_id: str) -> ExportJob | None:
    """Begin an attempt at the job, unless it is finished or another worker is at it and alive."""
    stalled_before = timezone.now() - timedelta(seconds=settings.JOB_STALL_SECONDS)
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.state in (JobState.DONE, JobState.FAILED):
            return None
        if job.state == JobState.RUNNING and job.heartbeat_at > stalled_before:
            return None
        now = timezone.now()
        job.state, job.attempts, job.rows_done, job.started_at, job.heartbeat_at = (
            JobState.RUNNING,
            job.attempts + 1,
            0,
            now,
            now,
        )
        job.save(update_fields=["state", "attempts", "rows_done", "started_at", "heartbeat_at"])
        return job


def run_export(job_id: str) -> None:
    job = _claim(job_id)
    if job is None:
        return
    attempt = ExportJob.objects.filter(pk=job.pk, attempts=job.attempts)
    # Progress goes through a connection of its own: the export reads inside one long transaction, and progress
    # written there would be seen by nobody until the end.
    progress = connections.create_connection("default")
    last = [0]

    def on_rows(rows: int) -> None:
        if rows - last[0] >= PROGRESS_EVERY:
            last[0] = rows
            with progress.cursor() as cursor:
                cursor.execute(
                    "UPDATE jobs_exportjob SET rows_done = %s, heartbeat_at = now() WHERE id = %s AND attempts = %s",
                    [rows, job.pk, job.attempts],
                )

    settings.EXPORT_JOB_DIR.mkdir(parents=True, exist_ok=True)
    partial = settings.EXPORT_JOB_DIR / f"{job.pk}.{job.attempts}.part"
    try:
        total = count_rows(layer=job.layer, filters=job.filters, role=job.role)
        attempt.update(rows_total=total)
        result = export_layer(
            layer=job.layer,
            fmt=job.fmt,
            path=partial,
            filters=job.filters,
            actor=job.requested_by.get_username(),
            role=job.role,
            on_rows=on_rows,
        )
    except ExportError as error:
        attempt.update(state=JobState.FAILED, error=str(error), finished_at=timezone.now())
        partial.unlink(missing_ok=True)
        return
    finally:
        progress.close()
    with transaction.atomic():
        if not ExportJob.objects.select_for_update().filter(pk=job.pk, attempts=job.attempts).exists():
            partial.unlink(missing_ok=True)  # a later attempt has the job now
            return
        # Into the file storage (local, or the object store that every web machine reads: docs/scaling.md).
        with partial.open("rb") as written:
            name = default_storage.save(f"exports/{job.pk}.{job.fmt}", File(written))
        for left in settings.EXPORT_JOB_DIR.glob(f"{job.pk}.*.part"):  # this attempt's, and of any that died
            left.unlink(missing_ok=True)
        attempt.update(
            state=JobState.DONE,
            rows_done=result.rows_read,
            file_name=name,
            file_size=default_storage.size(name),
            finished_at=timezone.now(),
            error="",
        )


def requeue_stalled() -> int:
    """Send again the jobs that wait or run with no progress for JOB_STALL_SECONDS (their worker died, or their
    message was lost with a broker restart); how many."""
    from jobs import tasks

    stalled_before = timezone.now() - timedelta(seconds=settings.JOB_STALL_SECONDS)
    with transaction.atomic():
        stalled = list(
            ExportJob.objects.select_for_update(skip_locked=True)
            .filter(state__in=(JobState.QUEUED, JobState.RUNNING), heartbeat_at__lt=stalled_before)
            .values_list("pk", flat=True)
        )
        # Queued again: the worker that takes it claims it at once, a dead one's claim no longer counts.
        ExportJob.objects.filter(pk__in=stalled).update(state=JobState.QUEUED, heartbeat_at=timezone.now())
    for pk in stalled:
        logger.warning("export job %s made no progress for %s s: sent again", pk, settings.JOB_STALL_SECONDS)
        tasks.run_export.delay(str(pk))
    return len(stalled)
