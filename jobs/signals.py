"""A worker that starts (again) first hands out the jobs left behind by one that died."""

from celery.signals import worker_ready


@worker_ready.connect
def requeue_left_jobs(**kwargs) -> None:
    from jobs.services import requeue_stalled

    requeue_stalled()
