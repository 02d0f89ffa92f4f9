"""Photo work on the task queue: thumbnails, made after the photo is stored (mobileapi.services.make_thumbnail)."""

from celery import shared_task

from mobileapi import services


@shared_task
def make_thumbnail(photo_id: int) -> bool:
    return services.make_thumbnail(photo_id)
