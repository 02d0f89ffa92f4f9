"""Outgoing notices on the task queue: the scheduler sends `deliver_due_notices` every few seconds; each run claims
what is due under SKIP LOCKED with a lease (notices.services.deliver_due), so runs beside each other, or after a
worker died mid-send, send each delivery once and retry with backoff."""

from celery import shared_task

from notices import services


@shared_task
def deliver_due_notices() -> dict:
    return services.deliver_due()
