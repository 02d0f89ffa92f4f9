"""Reads of notices: whose they are, the unread summary (and its ETag), their text and link, delivery payloads."""

import hashlib

from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone, translation

from grids.models import Role
from notices import rules
from notices.models import Delivery, Kind, Notification

LATEST = 5  # notices in the header's list


def scope_of(user) -> Q | None:
    """The notices `user` sees: their own, and a dispatcher's unit's. None for nobody (anonymous)."""
    if not user.is_authenticated:
        return None
    scope = Q(recipient_user_id=user.pk)
    staff = getattr(user, "staff", None)
    if staff is not None and staff.role == Role.DISPATCHER and staff.unit_id:
        scope |= Q(recipient_unit_id=staff.unit_id)
    return scope


def notices_for(user) -> QuerySet[Notification]:
    scope = scope_of(user)
    if scope is None:
        return Notification.objects.none()
    return Notification.objects.filter(scope)


def summary_tag(user) -> tuple[int, str]:
    """(unread count, ETag): the tag changes whenever a notice arrives or one is read, and with the language."""
    figures = notices_for(user).aggregate(
        unread=Count("id", filter=Q(read_at__isnull=True)), last=Max("id"), read=Max("read_at")
    )
    stamp = f"{user.pk}|{figures['unread']}|{figures['last']}|{figures['read']}|{translation.get_language()}"
    return figures["unread"], '"' + hashlib.sha256(stamp.encode()).hexdigest()[:32] + '"'


def _param(value, language: str):
    if isinstance(value, dict):
        return value.get(language) or value.get("zh-hans") or next(iter(value.values()), "")
    return value


def text_of(notice: Notification, language: str | None = None) -> str:
    language = language or translation.get_language() or "zh-hans"
    language = "en" if language.startswith("en") else "zh-hans"
    params = {key: _param(value, language) for key, value in (notice.params or {}).items()}
    with translation.override(language):
        template = str(rules.TEXTS.get(notice.kind, notice.kind))
        try:
            return template % params
        except (KeyError, TypeError, ValueError):
            return template


def link_of(notice: Notification) -> str:
    if notice.kind == Kind.REGISTRY_CHANGE:
        return "/desk/registry/"
    if notice.case_id is None:
        return "/notices/"
    if notice.recipient_unit_id:
        return f"/desk/cases/{notice.case_id}/"
    return "/m/#/reports"


def as_json(notice: Notification) -> dict:
    return {
        "id": notice.pk,
        "kind": notice.kind,
        "kind_label": str(Kind(notice.kind).label),
        "text": text_of(notice),
        "case": notice.params.get("number") if notice.case_id else None,
        "link": link_of(notice),
        "created_at": timezone.localtime(notice.created_at).isoformat(),
        "read": notice.read_at is not None,
    }


def latest(user, *, unread_only: bool = True, limit: int = LATEST) -> list[Notification]:
    notices = notices_for(user)
    if unread_only:
        notices = notices.filter(read_at__isnull=True)
    return list(notices.order_by("-id")[:limit])


def delivery_payload(delivery: Delivery) -> dict:
    """What an outgoing channel receives: the notice in both languages and its recipient (an account's name or a
    unit's code, name and duty phone; the gateway maps them to phone numbers or WeCom ids)."""
    notice = delivery.notification
    if notice.recipient_unit_id:
        unit = notice.recipient_unit
        recipient = {"unit": {"code": unit.code, "name": unit.name, "phone": unit.phone}}
    else:
        recipient = {"user": notice.recipient_user.get_username()}
    return {
        "delivery": delivery.pk,
        "channel": delivery.channel,
        "notice": {
            "id": notice.pk,
            "kind": notice.kind,
            "text": {"zh-hans": text_of(notice, "zh-hans"), "en": text_of(notice, "en")},
            "case": notice.params.get("number") if notice.case_id else None,
            "link": link_of(notice),
            "created_at": timezone.localtime(notice.created_at).isoformat(),
        },
        "recipient": recipient,
    }
