from celery import shared_task

from jobs import services


@shared_task
def run_export(job_id: str) -> None:
    services.run_export(job_id)


@shared_task
def requeue_stalled_jobs() -> int:
    return services.requeue_stalled()


@shared_task
def run_import(job_id: str) -> None:
    services.run_import(job_id)
