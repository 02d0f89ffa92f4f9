"""Scheduled work on cases (CELERY_BEAT_SCHEDULE in the settings)."""

from celery import shared_task

from cases import services


@shared_task
def escalate_overdue() -> dict:
    """Escalate each overdue case once; safe however often it runs (cases.services.escalate_overdue)."""
    return services.escalate_overdue()
