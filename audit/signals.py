from django.contrib.admin.models import LogEntry
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver

from audit import services
from audit.models import AuditAction
from cases.models import CaseEvent
from cases.signals import case_transitioned


def _address(request) -> str:
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


@receiver(user_logged_in)
def on_login(sender, request, user, **kwargs):
    services.record(action=AuditAction.LOGIN, actor=user.get_username(), address=_address(request))


@receiver(user_logged_out)
def on_logout(sender, request, user, **kwargs):
    services.record(action=AuditAction.LOGOUT, actor=services.actor_name(user), address=_address(request))


@receiver(user_login_failed)
def on_login_failed(sender, credentials, request=None, **kwargs):
    # The password is never recorded, only the name that was tried.
    services.record(
        action=AuditAction.LOGIN_FAILED, actor=str(credentials.get("username", ""))[:150], address=_address(request)
    )


@receiver(post_save, sender=LogEntry)
def on_admin_change(sender, instance: LogEntry, created, **kwargs):
    if created:
        services.record(
            action=AuditAction.ADMIN_CHANGE,
            actor=instance.user.get_username(),
            target=f"{instance.content_type.app_label}.{instance.content_type.model}:{instance.object_id}",
            detail={"flag": instance.action_flag, "message": instance.get_change_message()},
        )


@receiver(post_save, sender=CaseEvent)
def on_case_event(sender, instance: CaseEvent, created, raw=False, **kwargs):
    # In the transaction that wrote it: a case event is never committed without its seal.
    if created and not raw:
        services.seal_case_events([instance.pk], actor=instance.actor.get_username() if instance.actor else "system")


@receiver(case_transitioned)
def on_case_transition(sender, case_id, action, to_state, **kwargs):
    event = CaseEvent.objects.filter(case_id=case_id, action=action).select_related("actor", "unit", "case")
    event = event.order_by("-id").first()
    if event is None:
        return
    services.record(
        action=AuditAction.TRANSITION,
        actor=event.actor.get_username() if event.actor else "system",
        target=f"cases.case:{event.case.number}",
        detail={
            "action": action,
            "from": event.from_state,
            "to": to_state,
            "unit": event.unit.name if event.unit else "",
        },
    )
