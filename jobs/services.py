"""Jobs of the task queue's worker. Exports: queued by a request, written by the worker, downloaded when done.
Imports: an administrator's large upload, written to the database by the worker (start_import, run_import).

The file is written to a local partial file (EXPORT_JOB_DIR) and then stored in the file storage.
A job may be run more than once — its message delivered again after its worker died, or handed to another worker
by `requeue_stalled` — and still completes once: each run is an attempt with its own partial file, and only the
latest attempt may mark the job done and put its file in place.
"""

import logging
import shutil
import tempfile
import threading
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connections, transaction
from django.utils import timezone

from grids.gisio.exporters import ExportError, count_rows, export_layer
from jobs.models import ExportJob, ImportJob, JobState

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


def _claim(job_id: str, model=ExportJob):
    """Begin an attempt at the job, unless it is finished or another worker is at it and alive."""
    stalled_before = timezone.now() - timedelta(seconds=settings.JOB_STALL_SECONDS)
    with transaction.atomic():
        job = model.objects.select_for_update().filter(pk=job_id).first()
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
    sent = 0
    for model, task in ((ExportJob, tasks.run_export), (ImportJob, tasks.run_import)):
        with transaction.atomic():
            stalled = list(
                model.objects.select_for_update(skip_locked=True)
                .filter(state__in=(JobState.QUEUED, JobState.RUNNING), heartbeat_at__lt=stalled_before)
                .values_list("pk", flat=True)
            )
            # Queued again: the worker that takes it claims it at once, a dead one's claim no longer counts.
            model.objects.filter(pk__in=stalled).update(state=JobState.QUEUED, heartbeat_at=timezone.now())
        for pk in stalled:
            logger.warning(
                "%s %s made no progress for %s s: sent again", model._meta.model_name, pk, settings.JOB_STALL_SECONDS
            )
            task.delay(str(pk))
        sent += len(stalled)
    return sent


# --- Imports ------------------------------------------------------------------------------------------------------


def import_as_job(upload, *, commit: bool) -> bool:
    """Whether an upload is written by the worker instead of within the request: a commit of IMPORT_JOB_MIN_BYTES or
    more (a dry run writes nothing and stays in the request)."""
    return commit and upload.size >= settings.IMPORT_JOB_MIN_BYTES


def start_import(*, user, layer: str, upload, options: dict) -> ImportJob:
    """Keep the uploaded file in the file storage and queue its import (`options`: mapping, source_layer, encoding,
    crs, skip_refused — the admin form's, checked)."""
    from jobs import tasks

    job = ImportJob(requested_by=user, layer=layer, source_name=Path(upload.name).name, upload_size=upload.size)
    job.options = options
    job.upload = default_storage.save(f"imports/{job.pk}/upload{Path(upload.name).suffix.lower()}", upload)
    job.save()
    transaction.on_commit(lambda: tasks.run_import.delay(str(job.pk)))
    return job


def run_import(job_id: str) -> None:
    """One attempt at an import job. The import's writes and the job's "done" commit together, in one transaction,
    and only if this is still the job's latest attempt: a job run twice (its message delivered again, or sent again
    by requeue_stalled) writes its rows once; an attempt whose worker dies leaves nothing written."""
    from grids.admin_io import import_file
    from grids.gisio.importers import ImportFailure

    job = _claim(job_id, ImportJob)
    if job is None:
        return
    attempt = ImportJob.objects.filter(pk=job.pk, attempts=job.attempts)
    progress = connections.create_connection("default")  # seen at once, not at the end of the import's transaction
    done = [0]

    def on_progress(rows: int) -> None:
        done[0] += rows
        with progress.cursor() as cursor:
            cursor.execute(
                "UPDATE jobs_importjob SET rows_done = %s, heartbeat_at = now() WHERE id = %s AND attempts = %s",
                [done[0], job.pk, job.attempts],
            )

    def on_count(total: int | None) -> None:
        with progress.cursor() as cursor:
            cursor.execute(
                "UPDATE jobs_importjob SET rows_total = %s, heartbeat_at = now() WHERE id = %s AND attempts = %s",
                [total, job.pk, job.attempts],
            )

    beating = _heartbeat(job)
    try:
        with tempfile.TemporaryDirectory(prefix="gridmgmt-import-job-") as folder:
            local = Path(folder) / job.source_name
            with default_storage.open(job.upload, "rb") as stored, local.open("wb") as copy:
                shutil.copyfileobj(stored, copy)
            with transaction.atomic():
                report, placed = import_file(
                    job.layer,
                    local,
                    {**job.options, "commit": True},
                    actor=job.requested_by.get_username(),
                    on_count=on_count,
                    on_progress=on_progress,
                )
                if ImportJob.objects.select_for_update().filter(pk=job.pk, attempts=job.attempts).first() is None:
                    transaction.set_rollback(True)  # a later attempt has the job now: its writes count, not these
                    return
                attempt.update(
                    state=JobState.DONE,
                    rows_done=report.read,
                    report=report_of(report, placed),
                    finished_at=timezone.now(),
                    error="",
                )
    except ImportFailure as failure:
        attempt.update(state=JobState.FAILED, error=str(failure), finished_at=timezone.now())
    except Exception as error:  # not the file's fault: said on the page, not tried again and again
        logger.exception("import job %s failed", job.pk)
        attempt.update(state=JobState.FAILED, error=f"{error.__class__.__name__}: {error}", finished_at=timezone.now())
    finally:
        beating.set()
        progress.close()
    if ImportJob.objects.filter(pk=job.pk, state__in=(JobState.DONE, JobState.FAILED)).exists():
        default_storage.delete(job.upload)  # written (or refused): the upload is not needed again


def _heartbeat(job: ImportJob) -> threading.Event:
    """Keep the attempt's heartbeat fresh while it runs (the import's SQL steps report no rows for a long while);
    set the event to stop. A worker that dies stops it with everything else."""
    stop = threading.Event()

    def beat() -> None:
        own = connections.create_connection("default")
        try:
            while not stop.wait(settings.JOB_STALL_SECONDS / 4):
                with own.cursor() as cursor:
                    cursor.execute(
                        "UPDATE jobs_importjob SET heartbeat_at = now() WHERE id = %s AND attempts = %s",
                        [job.pk, job.attempts],
                    )
        finally:
            own.close()

    threading.Thread(target=beat, name=f"import-job-{job.pk}", daemon=True).start()
    return stop


def report_of(report, placed: list) -> dict:
    """What the job page shows of an import: its counts, its summary and the refused rows it kept (the first
    grids.gisio.report.SAMPLE), and the new buildings with their grid."""
    return {
        "written": report.written,
        "read": report.read,
        "new": report.new,
        "changed": report.changed,
        "unchanged": report.unchanged,
        "refused": report.refused,
        "refused_rows": [[row, reason] for row, reason in report.refused_rows],
        "summary": report.lines(show=50),
        "placed": [
            {
                "code": building.code,
                "name": building.name,
                "grid": {"code": building.grid.code, "name": building.grid.name} if building.grid else None,
            }
            for building in placed
        ],
    }
