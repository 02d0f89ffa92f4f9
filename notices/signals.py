"""Notices from what happens elsewhere, in the transaction that made it happen."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from cases.models import CaseEvent
from cases.signals import case_event_recorded, lights_checked
from grids.models import RegistryChange
from notices import services


@receiver(post_save, sender=CaseEvent)
def on_case_event(sender, instance: CaseEvent, created, raw=False, **kwargs):
    # Every event written through the ORM (apply_transition, a merge, the co-handling tasks, 督办 …).
    if created and not raw:
        services.notify_case_event(instance)


@receiver(case_event_recorded)
def on_case_event_written(sender, event: CaseEvent, case, **kwargs):
    # The report event, written with its case in one SQL statement by create_case.
    services.notify_case_event(event, case=case)


@receiver(lights_checked)
def on_lights_checked(sender, now, **kwargs):
    services.notify_lights(now=now)
    services.remind_supervisions(now=now)


@receiver(post_save, sender=RegistryChange)
def on_registry_change(sender, instance: RegistryChange, created, raw=False, **kwargs):
    if created and not raw:
        services.notify_registry_change(instance)
