"""Writes of notices: made from case events (in the event's transaction), from the lights' check and from registry
change requests; marked read; and delivered on the outgoing channels by `deliver_due` (the queue's worker).

Notices and their delivery rows are written in the transaction of what caused them, so they exist exactly when it
committed. Nothing is sent from there: `manage.py deliver_notices` sends the committed rows, outside any request.
"""

import json
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import BigIntegerField, DateTimeField, Exists, OuterRef
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone, translation

from cases.models import Case, CaseEvent, State
from cases.workflow import TERMINAL
from grids.models import ChangeKind, RegistryChange, Role, Staff, Unit
from grids.selectors import DECIDING_UNIT_TYPES
from notices import channels, rules, selectors
from notices.models import Delivery, DeliveryState, Notification

logger = logging.getLogger("notices.delivery")


def both_languages(value) -> dict:
    """A lazy translation as {"zh-hans": …, "en": …}, kept in params so a notice reads in either language."""
    texts = {}
    for language in ("zh-hans", "en"):
        with translation.override(language):
            texts[language] = str(value)
    return texts


def _case_params(case: Case) -> dict:
    category = case.category
    return {
        "number": case.number,
        "category": {"zh-hans": category.name_zh, "en": category.name_en or category.name_zh},
    }


def _unit_name(unit_id) -> str:
    if not isinstance(unit_id, int):
        return ""
    return Unit.objects.filter(pk=unit_id).values_list("name", flat=True).first() or ""


def _event_unit(data: dict) -> int | None:
    """The co-handling unit a co-handling event is about."""
    for key in ("unit", "co_unit"):
        if isinstance(data.get(key), int):
            return data[key]
    task = data.get("task")
    if isinstance(task, dict) and isinstance(task.get("unit"), int):
        return task["unit"]
    return None


def _recipients(name: str, *, case: Case, event: CaseEvent) -> list[tuple[str, int]]:
    data = event.data or {}
    match name:
        case rules.RESPONSIBLE_UNIT:
            found = [("unit", case.responsible_unit_id)]
        case rules.REPORTER:
            found = [("user", case.reporter_id)]
        case rules.EVENT_UNIT:
            found = [("unit", _event_unit(data))]
        case rules.ASSIGNER:
            found = [("unit", case.assigned_by_unit_id)]
        case rules.FROM_UNIT:
            found = [("unit", data["from_unit"] if isinstance(data.get("from_unit"), int) else None)]
        case _:
            raise ValueError(f"unknown recipient {name!r}")
    return [(kind, pk) for kind, pk in found if pk]


# The notices and their deliveries in one statement (a case event's notices cost the request one round trip).
_INSERT_SQL = """
WITH made AS (
    INSERT INTO notices_notification
        (recipient_user_id, recipient_unit_id, kind, case_id, event_id, registry_change_id, params, dedupe_key,
         created_at)
    SELECT r.user_id, r.unit_id, %(kind)s, %(case)s, %(event)s, %(change)s, %(params)s::jsonb, %(key)s, %(now)s
    FROM unnest(%(users)s::bigint[], %(units)s::bigint[]) AS r(user_id, unit_id)
    ON CONFLICT DO NOTHING
    RETURNING id
), queued AS (
    INSERT INTO notices_delivery (notification_id, channel, state, attempts, next_attempt_at, last_error, created_at)
    SELECT made.id, c.channel, 'pending', 0, %(now)s, '', %(now)s FROM made, unnest(%(channels)s::text[]) AS c(channel)
)
SELECT id FROM made
"""


def _create(
    rule: rules.Rule, recipients, *, case=None, event_id=None, registry_change=None, params: dict, dedupe_key: str = ""
) -> list[int]:
    """Notices of one rule to each recipient (("user" | "unit", id), repeats dropped), queued on the rule's
    configured channels; their ids."""
    recipients = list(dict.fromkeys(recipients))
    if not recipients:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_SQL,
            {
                "kind": str(rule.kind),
                "case": case.pk if case is not None else None,
                "event": event_id,
                "change": registry_change.pk if registry_change is not None else None,
                "params": json.dumps(params, ensure_ascii=False),
                "key": dedupe_key,
                "now": timezone.now(),
                "users": [pk if kind == "user" else None for kind, pk in recipients],
                "units": [pk if kind == "unit" else None for kind, pk in recipients],
                "channels": [name for name in rule.channels if name in settings.NOTICE_CHANNELS],
            },
        )
        return [row[0] for row in cursor.fetchall()]


def _needs(rule_list, name: str) -> bool:
    return any(f"%({name})s" in str(rules.TEXTS[rule.kind]) for rule in rule_list)


def _acting_desk(event: CaseEvent) -> int | None:
    """The unit of the event when a dispatcher acted for it (read from the objects at hand when they are loaded)."""
    if not event.unit_id or not event.actor_id:
        return None
    actor = event.actor if CaseEvent.actor.is_cached(event) else None
    if actor is not None and get_user_model().staff.is_cached(actor):  # (the request's user may be a lazy object)
        staff = getattr(actor, "staff", None)
    else:
        staff = Staff.objects.filter(user_id=event.actor_id).only("role").first()
    return event.unit_id if staff is not None and staff.role == Role.DISPATCHER else None


def notify_case_event(event: CaseEvent, *, case: Case | None = None) -> list[int]:
    """The notices a case event makes by rules.EVENT_RULES (none for most actions); called in its transaction."""
    rule_list = rules.EVENT_RULES.get(event.action, ())
    if not rule_list:
        return []
    data = event.data or {}
    if event.action in rules.ONLY_WHEN_HANDED_ON and data.get("from_unit") == data.get("to_unit"):
        return []
    case = case or event.case
    params = _case_params(case)
    if _needs(rule_list, "actor_unit"):
        params["actor_unit"] = event.unit.name if CaseEvent.unit.is_cached(event) and event.unit else ""
        params["actor_unit"] = params["actor_unit"] or _unit_name(event.unit_id)
    if _needs(rule_list, "from_unit"):
        params["from_unit"] = _unit_name(data.get("from_unit"))
    # The actor is not told what they did, nor their desk when they act for it (a worker's report to their own
    # community's committee is news for its dispatchers).
    acting_desk = _acting_desk(event)
    made = []
    for rule in rule_list:
        recipients = [
            recipient
            for name in rule.recipients
            for recipient in _recipients(name, case=case, event=event)
            if recipient not in (("user", event.actor_id), ("unit", acting_desk))
        ]
        made += _create(rule, recipients, case=case, event_id=event.pk, params=params)
    return made


def notify_lights(*, now: datetime | None = None) -> dict:
    """Tell each unit of its cases whose step turned yellow or overdue (within rules.LIGHT_WINDOW_HOURS), once per
    step and light; run by `escalate_overdue` before it escalates, so the unit that let the time run out hears."""
    now = now or timezone.now()
    since = now - timedelta(hours=rules.LIGHT_WINDOW_HOURS)
    running = (
        Case.objects.exclude(state__in=TERMINAL)
        .exclude(state=State.SUSPENDED)
        .filter(suspended_at__isnull=True, step_deadline_at__isnull=False)
        .select_related("category")
    )
    counts = {}
    for light, cases in (
        ("yellow", running.filter(step_yellow_at__lte=now, step_yellow_at__gte=since, step_deadline_at__gt=now)),
        ("overdue", running.filter(step_deadline_at__lte=now, step_deadline_at__gte=since)),
    ):
        counts[light] = _create_once(
            rules.LIGHT_RULES[light],
            {
                f"{light}:{case.pk}:{case.step_seq}:{case.responsible_unit_id}": (
                    case.responsible_unit_id,
                    case,
                    None,
                    _case_params(case) | {"step": both_languages(rules.STEP_LABELS.get(case.step, case.step))},
                )
                for case in cases.order_by("id")
            },
        )
    return counts


def _create_once(rule: rules.Rule, notices: dict) -> int:
    """Notices of `rule`, one per dedupe key ({key: (unit id, case, event id, params)}), each to its unit and only
    once: keys already made are skipped (the unique index notice_once would refuse them anyway); the rest are made
    in one transaction. How many were made."""
    done = set(Notification.objects.filter(dedupe_key__in=list(notices)).values_list("dedupe_key", flat=True))
    made = 0
    with transaction.atomic():
        for key, (unit_id, case, event_id, params) in notices.items():
            if key not in done:
                made += len(
                    _create(rule, [("unit", unit_id)], case=case, event_id=event_id, params=params, dedupe_key=key)
                )
    return made


def remind_supervisions(*, now: datetime | None = None) -> int:
    """Remind the unit holding a case of each 督办 whose time limit (`due_at`, cases.services._supervise) passed
    with nothing recorded on the case by that unit since, once per 督办; run with the lights' check on the schedule.
    A case closed, or handed to another unit, meanwhile is no longer the unit's to answer: no reminder."""
    from cases.services import SUPERVISE_MAX_DAYS

    now = now or timezone.now()
    answered = CaseEvent.objects.filter(
        case_id=OuterRef("case_id"), unit_id=OuterRef("to_unit"), created_at__gt=OuterRef("created_at")
    )
    due = (
        CaseEvent.objects.filter(
            action="supervise", created_at__gte=now - timedelta(days=SUPERVISE_MAX_DAYS + 1), data__has_key="due_at"
        )
        .annotate(due=Cast(KT("data__due_at"), DateTimeField()), to_unit=Cast(KT("data__to_unit"), BigIntegerField()))
        .filter(due__lte=now)
        .annotate(answered=Exists(answered))
        .filter(answered=False)
        .exclude(case__state__in=TERMINAL)
        .select_related("case__category")
        .order_by("id")
    )
    events = [event for event in due if event.to_unit and event.case.responsible_unit_id == event.to_unit]
    return _create_once(
        rules.SUPERVISE_DUE_RULE,
        {
            f"supervise_due:{event.pk}": (
                event.to_unit,
                event.case,
                event.pk,
                _case_params(event.case) | {"due": timezone.localtime(event.due).strftime("%Y-%m-%d %H:%M")},
            )
            for event in events
        },
    )


def notify_registry_change(change: RegistryChange) -> list[int]:
    """A worker's request to change the registry: for the committees and street offices whose area holds the
    building (those that may decide it at /desk/registry/)."""
    units = Unit.objects.filter(
        type__in=DECIDING_UNIT_TYPES, jurisdiction__intersects=change.building.footprint
    ).values_list("pk", flat=True)
    params = {"worker": change.worker.get_username(), "change_kind": both_languages(ChangeKind(change.kind).label)}
    return _create(rules.REGISTRY_RULE, [("unit", pk) for pk in units], registry_change=change, params=params)


# --- Reading ---------------------------------------------------------------------------------------------------


def mark_read(*, user, notice_id: int) -> Notification | None:
    """Mark one of the user's notices read (a desk's notice for the whole desk); None when it is not theirs."""
    notices = selectors.notices_for(user)
    notices.filter(pk=notice_id, read_at__isnull=True).update(read_at=timezone.now(), read_by=user)
    return notices.filter(pk=notice_id).first()


def mark_all_read(*, user) -> int:
    return selectors.notices_for(user).filter(read_at__isnull=True).update(read_at=timezone.now(), read_by=user)


# --- Delivery ----------------------------------------------------------------------------------------------------


def deliver_due(*, now: datetime | None = None, limit: int = 100) -> dict:
    """Send the deliveries that are due, once each: claimed under SKIP LOCKED with a lease (so workers beside each
    other take different rows, and a worker that dies mid-send leaves its rows to be tried again after the lease),
    sent outside any transaction, and the outcome recorded. A failure worth retrying is tried again after
    NOTICE_WEBHOOK_BACKOFF_SECONDS × 2^(tries − 1); after NOTICE_WEBHOOK_TRIES tries, or on a refusal (4xx), the
    delivery is `failed` with its last status and error."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(state=DeliveryState.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .values_list("id", flat=True)[:limit]
        )
        lease = timedelta(seconds=settings.NOTICE_DELIVERY_LEASE_SECONDS)
        Delivery.objects.filter(pk__in=ids).update(next_attempt_at=now + lease)
    counts = {"sent": 0, "retry": 0, "failed": 0}
    deliveries = Delivery.objects.filter(pk__in=ids).select_related(
        "notification__case", "notification__recipient_user", "notification__recipient_unit"
    )
    for delivery in deliveries.order_by("id"):
        counts[_deliver(delivery, now=now)] += 1
    return counts


def _deliver(delivery: Delivery, *, now: datetime) -> str:
    target = channels.channel(delivery.channel)
    if target is None:
        outcome = channels.Outcome(ok=False, error=f"channel {delivery.channel!r} is not configured")
    else:
        outcome = target.send(selectors.delivery_payload(delivery), delivery_id=delivery.pk)
    attempts = delivery.attempts + 1
    fields = {"attempts": attempts, "last_status": outcome.status, "last_error": outcome.error[:2000]}
    if outcome.ok:
        fields |= {"state": DeliveryState.SENT, "delivered_at": timezone.now(), "last_error": ""}
        result = "sent"
    elif outcome.retry and attempts < settings.NOTICE_WEBHOOK_TRIES:
        backoff = settings.NOTICE_WEBHOOK_BACKOFF_SECONDS * 2 ** (attempts - 1)
        fields["next_attempt_at"] = now + timedelta(seconds=backoff)
        result = "retry"
    else:
        fields["state"] = DeliveryState.FAILED
        result = "failed"
    Delivery.objects.filter(pk=delivery.pk).update(**fields)
    logger.log(
        logging.INFO if outcome.ok else logging.WARNING,
        "delivery %s via %s, try %s: %s %s",
        delivery.pk,
        delivery.channel,
        attempts,
        result,
        outcome.error or outcome.status or "",
    )
    return result
