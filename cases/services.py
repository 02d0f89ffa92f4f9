"""Writes of cases: intake (`create_case`), the cycle (`apply_transition`) and overdue escalation.

Every write runs in one transaction; the case row is locked (SELECT … FOR UPDATE) before it is checked,
so two conflicting actions on one case serialise and the second sees the first's result. A refusal
raises before anything is written. Side effects (signals) run on commit.
"""

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import services as audit
from audit.models import AuditAction
from cases import calendar, routing, selectors, signals
from cases.models import STEPS, Case, CaseEvent, Category, ClosedAs, CoHandlingTask, Source, State, TaskState
from cases.workflow import (
    COHANDLING,
    RESTARTS_STEP,
    STEP_OF_STATE,
    TASK_PENDING,
    TERMINAL,
    TRANSITIONS,
    Scope,
    TaskScope,
)
from gridmgmt import times
from gridmgmt.prepared import execute_prepared
from grids import pii
from grids.models import Role, Staff, Unit, UnitType

YELLOW_AT = 0.8  # share of a step's limit after which the light turns yellow


class InvalidInput(Exception):
    """Malformed or impossible input: mapped to 400 with field messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


class TransitionRefused(Exception):
    """The action is not allowed now, for this actor, or the version is stale: mapped to 409; nothing changed."""

    def __init__(self, reason: str, message: str, *, case: Case | None = None, allowed: list[str] | None = None):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.case = case
        self.allowed = allowed or []


class IntakeConflict(Exception):
    """A client UUID seen before with different content: mapped to 409."""

    def __init__(self, existing: Case):
        super().__init__(f"client_uuid already used for {existing.number} with different content")
        self.existing = existing


# --- Who is acting ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    user: object | None  # None: the system (escalate_overdue)
    role: str | None
    unit: Unit | None
    grid_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_system(self) -> bool:
        return self.user is None

    @property
    def at_command_centre(self) -> bool:
        return self.role == Role.DISPATCHER and self.unit is not None and self.unit.type == UnitType.COMMAND_CENTRE


SYSTEM = Actor(user=None, role=Role.ADMIN, unit=None)


def actor_for(user) -> Actor:
    """The role, unit and grids of a user; superusers act as administrators; users without staff have no role."""
    staff = Staff.objects.select_related("unit").filter(user=user).first()
    if staff is None:
        return Actor(user=user, role=Role.ADMIN if user.is_superuser else None, unit=None)
    grid_ids = frozenset(staff.grids.values_list("id", flat=True)) if staff.role == Role.WORKER else frozenset()
    return Actor(user=user, role=staff.role, unit=staff.unit, grid_ids=grid_ids)


def actor_may(action: str, case: Case, actor: Actor, *, co_unit_ids: Iterable[int] = ()) -> bool:
    """Whether the actor's role and unit allow the action on this case (the state is checked separately)."""
    transition = TRANSITIONS[action]
    if actor.is_admin:
        return True
    if actor.role not in transition.roles:
        return False
    unit_id = actor.unit.pk if actor.unit else None
    own_unit = actor.role == Role.DISPATCHER and unit_id is not None and unit_id == case.responsible_unit_id
    reporter = actor.role == Role.WORKER and actor.user is not None and case.reporter_id == actor.user.pk
    match transition.scope:
        case Scope.HANDLER:
            return own_unit
        case Scope.DESK:
            return own_unit or actor.at_command_centre
        case Scope.APPROVER:
            assigner = case.assigned_by_unit_id
            return actor.at_command_centre or (
                actor.role == Role.DISPATCHER and assigner is not None and assigner != case.responsible_unit_id
                and unit_id == assigner
            )  # fmt: skip
        case Scope.INVOLVED:
            return (
                own_unit or actor.at_command_centre or (actor.role == Role.DISPATCHER and unit_id in set(co_unit_ids))
            )
        case Scope.VERIFIER:
            if actor.role == Role.WORKER:
                return reporter or (case.grid_id is not None and case.grid_id in actor.grid_ids)
            return own_unit or actor.at_command_centre
        case Scope.REPORTER:
            return reporter
        case Scope.EVALUATOR:
            return actor.role == Role.MANAGER or reporter or actor.at_command_centre
    return False


def precondition_refusal(action: str, case: Case) -> tuple[str, str] | None:
    """Rules beyond state and actor that need no input; (reason, message) when the action cannot apply."""
    if action == "extend" and case.extension_requested_hours is not None:
        return "extension_pending", _("已有延时申请待审批")
    if action == "approve_extension" and case.extension_requested_hours is None:
        return "no_extension_pending", _("没有待审批的延时申请")
    if action == "escalate" and higher_unit(case) is None:
        return "no_higher_unit", _("没有可以上报的上级单位")
    if action == "return" and case.responsible_unit.type == UnitType.COMMAND_CENTRE:
        return "command_centre_cannot_return", _("指挥中心不能回退案件，请派遣或不予立案")
    if action == "close_on_spot" and case.level != 1:
        return "not_level_1", _("只有一级案件可以就地解决")
    if action == "not_duplicate" and case.duplicate_of_id is None:
        return "not_marked_duplicate", _("该案件没有被标记为疑似重复")
    if action == "evaluate" and case.evaluation is not None:
        return "already_evaluated", _("该案件已评价")
    if action == "resolve":
        pending = pending_cohandling_units(case)
        if pending:
            return "cohandling_open", _("协办任务尚未完成（%(units)s）：请验收或解除后再处置反馈") % {
                "units": "、".join(pending)
            }
    return None


def pending_cohandling_units(case: Case) -> list[str]:
    """Names of the co-handling units whose task on the case is unfinished (open, sent back or awaiting acceptance)."""
    return list(
        CoHandlingTask.objects.filter(case=case, state__in=TASK_PENDING)
        .order_by("assigned_at", "id")
        .values_list("unit__name", flat=True)
    )


def allowed_actions(case: Case, actor: Actor) -> list[str]:
    """Actions this actor may take on the case now (state, role, unit and preconditions)."""
    co_unit_ids = list(case.co_units.values_list("id", flat=True))
    allowed = []
    for action, transition in TRANSITIONS.items():
        if case.state not in transition.sources or not actor_may(action, case, actor, co_unit_ids=co_unit_ids):
            continue
        if action == "merge" and case.duplicate_of_id is None:
            continue  # merging without a suggested original needs a target; offered only for likely duplicates
        if precondition_refusal(action, case) is None:
            allowed.append(action)
    return allowed


def higher_unit(case: Case) -> Unit | None:
    """Where an escalated case goes: the responsible unit's parent, else the command centre; none above that."""
    unit = case.responsible_unit
    if unit.parent_id:
        return unit.parent
    if unit.type == UnitType.COMMAND_CENTRE:
        return None
    try:
        return routing.command_centre_at(case.point)
    except routing.RoutingError:
        return None


# --- Time limits ----------------------------------------------------------------------------


def _set_thresholds(case: Case) -> None:
    limit, paused = case.step_limit_hours, case.step_paused_hours
    case.step_yellow_at = calendar.add_working_hours(case.step_started_at, YELLOW_AT * limit + paused)
    case.step_deadline_at = calendar.add_working_hours(case.step_started_at, limit + paused)


def _start_step(case: Case, step: str, now: datetime) -> None:
    case.step = step
    case.step_seq += 1
    case.step_started_at = now
    case.step_limit_hours = case.category.limit_hours(step)
    case.step_paused_hours = 0
    case.extension_requested_hours = None
    _set_thresholds(case)


def _stop_clock(case: Case) -> None:
    case.step = ""
    case.step_started_at = case.step_limit_hours = case.step_yellow_at = case.step_deadline_at = None
    case.extension_requested_hours = None


def case_limit_hours(category: Category) -> float:
    return sum(category.limit_hours(step) for step in STEPS)


def step_started_record(case: Case) -> dict:
    """What an event says about the step it starts (kept in its data as `step_started`)."""
    return {
        "step": case.step,
        "seq": case.step_seq,
        "unit": case.responsible_unit_id,
        "limit_hours": case.step_limit_hours,
        "deadline_at": times.rfc3339(case.step_deadline_at),
    }


def step_ended_record(case: Case, *, unit_id: int | None, now: datetime) -> dict:
    """What an event says about the step it ends (`step_ended`): who held it, its limit, the working hours it took
    (suspensions excluded) and whether it ended by its deadline (the deadline is in the `step_started` record of the
    event that began it, same `seq`). The statistics read these (cases/stats.py)."""
    worked = calendar.working_hours_between(case.step_started_at, now) - (case.step_paused_hours or 0)
    return {
        "step": case.step,
        "seq": case.step_seq,
        "unit": unit_id,
        "limit_hours": case.step_limit_hours,
        "hours": round(max(worked, 0.0), 3),
        "on_time": case.step_deadline_at is None or now <= case.step_deadline_at,
    }


# --- Intake ---------------------------------------------------------------------------------


def intake_digest(**content) -> str:
    """A fingerprint of what a client sent, to tell a retry (same) from a reused UUID (different)."""
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _replay(client_uuid: uuid.UUID, digest: str) -> Case | None:
    # Id and digest first: a new UUID, by far the usual case, costs one small query.
    seen = selectors.intake_of(client_uuid)
    if seen is None:
        return None
    existing = Case.objects.get(pk=seen[0])
    if seen[1] != digest:
        raise IntakeConflict(existing)
    return existing


def create_case(
    *,
    category: Category,
    point: Point,
    description: str,
    source: str,
    actor=None,
    reporter=None,
    address: str = "",
    captured_at: datetime | None = None,
    level: int | None = None,
    client_uuid: uuid.UUID | None = None,
    external_ref: str = "",
    attachments: Iterable[str] = (),
    received_at: datetime | None = None,
    resolved_on_site: bool = False,
    caller_name: str = "",
    caller_phone: str = "",
) -> tuple[Case, bool]:
    """Take a report: locate it, route it, number it, look for a likely duplicate, write the first event.

    Returns (case, created). With a client UUID seen before: the same content returns the existing case
    (created False); different content raises IntakeConflict. `point` is WGS84 (convert at the edge).
    A new case carries the Route it was given as `case.route` (its co-units without reading them back).

    The number, the case, its co-units and event are written by one statement (see _insert_case). A caller's
    phone is stored protected (grids/pii.py): encrypted, a keyed digest, a mask.
    """
    if point.srid != 4326:
        raise ValueError("point must be in EPSG:4326")
    attachments = list(attachments)
    caller_name = (caller_name or "").strip()
    try:
        phone = pii.protected_phone(caller_phone.strip()) if caller_phone and caller_phone.strip() else {}
    except DjangoValidationError as error:
        raise InvalidInput({"caller_phone": [str(message) for message in error.messages]}) from None
    digest = ""
    if client_uuid is not None:
        digest = intake_digest(
            category=category.code,
            lon=round(point.x, 7),
            lat=round(point.y, 7),
            description=description,
            address=address,
            captured_at=captured_at.isoformat() if captured_at else None,
            level=level,
            source=source,
            reporter=getattr(reporter, "pk", None),
            external_ref=external_ref,
            attachments=attachments,
            resolved_on_site=resolved_on_site,
            **({"caller_name": caller_name, "caller_phone": phone["phone_digest"]} if caller_name or phone else {}),
        )
        existing = _replay(client_uuid, digest)
        if existing is not None:
            return existing, False
    received_at = received_at or timezone.now()
    captured_at = captured_at or received_at
    if source not in Source.values:
        raise InvalidInput({"source": [_("未知来源：%(source)s") % {"source": source}]})
    if level is not None and not 1 <= level <= 4:
        raise InvalidInput({"level": [_("等级应为1到4")]})
    _check_attachments(attachments, user=actor if actor is not None else reporter)
    regions = selectors.regions_at(point=point)
    if regions.district_id is None:
        raise InvalidInput({"location": [_("该位置不在任何区县辖区内。The point lies outside every district.")]})
    try:
        route = routing.resolve(point=point, category=category)
    except routing.RoutingError as error:
        raise InvalidInput({"location": [str(error)]}) from None

    original = selectors.likely_original(point=point, category=category, now=received_at)
    case = Case(
        point=point,
        address=address,
        category=category,
        level=level or category.default_level,
        description=description,
        source=source,
        reporter=reporter,
        external_ref=external_ref,
        client_uuid=client_uuid,
        intake_digest=digest,
        captured_at=captured_at,
        received_at=received_at,
        responsible_unit=route.responsible,
        street_id=regions.street_id,
        community_id=regions.community_id,
        grid_id=regions.grid_id,
        routing_reason=route.reason,
        state=State.REPORTED,
        duplicate_of=original,
        resolved_on_site=resolved_on_site,
        step_seq=0,
        caller_name=caller_name,
        caller_phone_cipher=phone.get("phone_cipher", ""),
        caller_phone_digest=phone.get("phone_digest", ""),
        caller_phone_masked=phone.get("phone_masked", ""),
    )
    _start_step(case, "register", received_at)
    case.deadline_at = calendar.add_working_hours(received_at, case_limit_hours(category))
    data = {
        "routing_reason": route.reason,
        "captured_at": times.rfc3339(captured_at),
        "step_started": step_started_record(case),
    }
    if original is not None:
        data["likely_duplicate_of"] = {"id": original.pk, "number": original.number}
    event = CaseEvent(
        actor=actor if actor is not None else reporter,
        unit=_actor_unit(actor),
        action="report",
        from_state="",
        to_state=State.REPORTED,
        note=description[:2000],
        attachments=attachments,
        data=data,
        created_at=received_at,
    )
    try:
        # The case and its first event commit together with the event's seal in the audit chain; inside a
        # caller's transaction this is a savepoint, which keeps a refused insert (a concurrent retry) from
        # spoiling it. The seal comes last: it holds the chain's lock until the commit, so every report
        # waits for the one before it only that long.
        with transaction.atomic():
            event_id = _insert_case(case, co_unit_ids=[unit.pk for unit in route.co_units], event=event)
            event.pk, event.case = event_id, case
            signals.case_event_recorded.send(sender=CaseEvent, event=event, case=case)
            audit.seal_case_events([event_id], actor=event.actor.get_username() if event.actor else "system")
    except IntegrityError:
        # A concurrent retry with the same client UUID won the race: answer as for a retry.
        if client_uuid is None:
            raise
        existing = _replay(client_uuid, digest)
        if existing is None:
            raise
        return existing, False
    transaction.on_commit(lambda: signals.case_created.send(sender=Case, case_id=case.pk))
    case.route = route
    return case, True


def reveal_caller(*, case: Case, actor, reason: str, address: str = "") -> dict[str, str]:
    """The plain phone of a case's caller, for an actor who may see the case and reveal residents' phones (the
    same permission); every reveal is logged in the audit log as a resident's is. Managers never see it."""
    staff = getattr(actor, "staff", None)
    if staff is not None and staff.role == Role.MANAGER:
        raise PermissionDenied(_("管理人员不可查看个人敏感信息。"))
    if not actor.has_perm("grids.reveal_person"):
        raise PermissionDenied(_("没有查看完整个人信息的权限。"))
    revealed = {"phone": pii.decrypt(case.caller_phone_cipher)} if case.caller_phone_cipher else {}
    audit.record(
        action=AuditAction.REVEAL,
        actor=actor.get_username(),
        target=f"cases.case:{case.pk}",
        address=address,
        detail={"fields": ["caller_phone"], "reason": reason, "number": case.number},
    )
    return revealed


# The day's number, the case, its co-units and its first event in one statement: one round trip, one commit,
# and the day's counter row locked only while PostgreSQL runs it (no client round trip while it is held).
# Columns and values come from the models' fields as the ORM would write them (Case has no save signals); every
# value is a plain parameter, the point included (create_case takes it in the column's SRID, 4326, only).
_CASE_FIELDS = [field for field in Case._meta.concrete_fields if not field.primary_key and field.name != "number"]
_EVENT_FIELDS = [field for field in CaseEvent._meta.concrete_fields if not field.primary_key and field.name != "case"]
_INSERT_CASE_SQL = f"""
WITH counter AS (
    INSERT INTO cases_casecounter (day, n) VALUES (%s, 1)
    ON CONFLICT (day) DO UPDATE SET n = cases_casecounter.n + 1 RETURNING n
), new_case AS (
    INSERT INTO cases_case (number, {", ".join(field.column for field in _CASE_FIELDS)})
    VALUES ((SELECT %s || lpad(n::text, greatest(5, length(n::text)), '0') FROM counter),
            {", ".join(["%s"] * len(_CASE_FIELDS))})
    RETURNING id, number
), co_units AS (
    INSERT INTO cases_case_co_units (case_id, unit_id)
    SELECT new_case.id, unit_id FROM new_case, unnest(%s::bigint[]) AS unit_id
), event AS (
    INSERT INTO cases_caseevent (case_id, {", ".join(field.column for field in _EVENT_FIELDS)})
    VALUES ((SELECT id FROM new_case), {", ".join(["%s"] * len(_EVENT_FIELDS))})
    RETURNING id
)
SELECT new_case.id, new_case.number, event.id FROM new_case, event
"""


def _insert_case(case: Case, *, co_unit_ids: list[int], event: CaseEvent) -> int:
    """Write a new case with the next number of its day (XQ-YYYYMMDD-NNNNN, the day in settings.TIME_ZONE, at least five
    digits), its co-units and event; returns the event's id."""
    day = timezone.localtime(case.received_at).date()
    prefix = f"{getattr(settings, 'CASE_NUMBER_PREFIX', 'XQ')}-{day:%Y%m%d}-"
    with connection.cursor() as cursor:
        db = cursor.db  # the connection itself, not the per-thread proxy each field would look it up through
        params = [day, prefix]
        params += [field.get_db_prep_save(field.pre_save(case, add=True), db) for field in _CASE_FIELDS]
        params.append(co_unit_ids)
        params += [field.get_db_prep_save(field.pre_save(event, add=True), db) for field in _EVENT_FIELDS]
        execute_prepared(cursor, "cases_insert_case", _INSERT_CASE_SQL, params)
        case.pk, case.number, event_id = cursor.fetchone()
    case._state.adding, case._state.db = False, db.alias
    return event_id


def _actor_unit(user) -> Unit | None:
    if user is None:
        return None
    if get_user_model().staff.is_cached(user):  # token authentication reads the staff row and unit with the user
        staff = getattr(user, "staff", None)
        return staff.unit if staff is not None else None
    return Unit.objects.defer("jurisdiction").filter(staff__user=user).first()


# --- The cycle ------------------------------------------------------------------------------


def apply_transition(
    *,
    case_id: int,
    actor,
    action: str,
    version: int,
    note: str = "",
    unit: Unit | int | None = None,
    attachments: Iterable[str] = (),
    hours: float | None = None,
    approved: bool = True,
    score: int | None = None,
    target: int | None = None,
    task: int | None = None,
    due_at: datetime | None = None,
) -> Case:
    """Apply one action of the workflow table to a case, under a row lock; append its event; bump the version.

    `actor` is a user (or an `Actor`, e.g. SYSTEM). Raises TransitionRefused (409) when the action is not
    allowed from the case's state, for this actor, or `version` is stale; InvalidInput (400) for bad input.
    The co-handling actions (workflow.COHANDLING) name their `task` and go to `apply_cohandling`.
    """
    if action in COHANDLING:
        if task is None:
            raise InvalidInput({"task": [_("请指定协办任务")]})
        return apply_cohandling(
            case_id=case_id, task_id=task, actor=actor, action=action, version=version, note=note,
            attachments=attachments,
        )  # fmt: skip
    if action not in TRANSITIONS:
        raise InvalidInput({"action": [_("未知动作：%(action)s") % {"action": action}]})
    who = actor if isinstance(actor, Actor) else actor_for(actor)
    attachments = list(attachments)
    target_unit = _unit_or_invalid(unit)
    with transaction.atomic():
        case = (
            Case.objects.select_for_update(of=("self",)).select_related("category", "responsible_unit").get(pk=case_id)
        )
        _check(case, who, action, version)
        _check_attachments(attachments, user=who.user, case_id=case.pk)
        transition = TRANSITIONS[action]
        from_state = case.state
        holder_id = case.responsible_unit_id
        now = timezone.now()
        data: dict = {}
        handler = _HANDLERS.get(action)
        if handler is not None:
            data = (
                handler(
                    case,
                    who,
                    now=now,
                    unit=target_unit,
                    hours=hours,
                    approved=approved,
                    score=score,
                    target=target,
                    attachments=attachments,
                    note=note,
                    due_at=due_at,
                )
                or {}
            )
        to_state = case.state if transition.target is None else transition.target
        if action == "resume":
            to_state = case.resume_state or State.PROCESSING
            case.resume_state = ""
            data["resumed_to"] = to_state
        case.state = to_state
        new_step = STEP_OF_STATE.get(to_state)
        restart = bool(new_step) and (new_step != case.step or action in RESTARTS_STEP)
        if (to_state in TERMINAL or restart) and case.step and case.step_started_at is not None:
            data["step_ended"] = step_ended_record(case, unit_id=holder_id, now=now)
        if to_state in TERMINAL:
            _stop_clock(case)
        elif restart:
            _start_step(case, new_step, now)
            data["step_started"] = step_started_record(case)
        case.version += 1
        case.save()
        CaseEvent.objects.create(
            case=case,
            actor=who.user,
            unit=who.unit,
            action=action,
            from_state=from_state,
            to_state=to_state,
            note=note,
            attachments=attachments,
            data=data,
            created_at=now,
        )
        if action == "dispatch":
            _assign_cohandling(case, who, now=now)
        transaction.on_commit(
            lambda: signals.case_transitioned.send(sender=Case, case_id=case.pk, action=action, to_state=to_state)
        )
    return case


def _check_attachments(attachments: list[str], *, user, case_id: int | None = None) -> None:
    """A person may cite only photos they uploaded or that are already on the case (Open311's media URLs and the
    system's own events have no person behind them)."""
    if not attachments or user is None:
        return
    if positions := selectors.unusable_attachments(attachments, user=user, case_id=case_id):
        listed = ", ".join(str(position) for position in positions)
        raise InvalidInput(
            {
                "attachments": [
                    f"第 {listed} 个附件不是您上传的照片，也不在该案件上。"
                    f"Attachment {listed} is neither a photo you uploaded nor one already on this case."
                ]
            }
        )


def _unit_or_invalid(unit: Unit | int | None) -> Unit | None:
    if unit is None or isinstance(unit, Unit):
        return unit
    found = Unit.objects.filter(pk=unit).first()
    if found is None:
        raise InvalidInput({"unit": [_("未知单位：%(unit)s") % {"unit": unit}]})
    return found


def _check(case: Case, actor: Actor, action: str, version: int) -> None:
    transition = TRANSITIONS[action]

    def refuse(reason: str, message: str):
        raise TransitionRefused(reason, message, case=case, allowed=allowed_actions(case, actor))

    if case.state not in transition.sources:
        refuse(
            "action_not_allowed",
            _("案件处于“%(state)s”状态，不能%(label)s") % {"state": State(case.state).label, "label": transition.label},
        )
    co_unit_ids = list(case.co_units.values_list("id", flat=True))
    if not actor.is_system and not actor_may(action, case, actor, co_unit_ids=co_unit_ids):
        refuse("actor_not_allowed", _("您的角色或单位不能对该案件%(label)s") % {"label": transition.label})
    if version != case.version:
        refuse(
            "stale_version",
            _("案件已被他人更新（当前版本 %(current)s，提交的版本 %(sent)s），请刷新后重试")
            % {"current": case.version, "sent": version},
        )
    problem = precondition_refusal(action, case)
    if problem is not None:
        refuse(*problem)


# Each handler changes the locked case (not its state, step or version) and returns event data.


def _dispatch(case: Case, actor: Actor, *, unit: Unit | None, **_kw) -> dict:
    data = {"from_unit": case.responsible_unit_id}
    if unit is not None and unit.pk != case.responsible_unit_id:
        if not _may_dispatch_to(actor, unit):
            raise TransitionRefused(
                "unit_not_allowed",
                _("不能派遣给%(unit)s：只能派遣给本单位或下级单位") % {"unit": unit.name},
                case=case,
                allowed=allowed_actions(case, actor),
            )
        case.responsible_unit = unit
        case.co_units.remove(unit)
    case.assigned_by_unit = actor.unit or case.assigned_by_unit
    data["to_unit"] = case.responsible_unit_id
    return data


def _may_dispatch_to(actor: Actor, unit: Unit) -> bool:
    if actor.is_admin or actor.is_system or actor.at_command_centre:
        return True
    if actor.unit is None:
        return False
    node, seen = unit, set()
    while node is not None and node.pk not in seen:
        if node.pk == actor.unit.pk:
            return True
        seen.add(node.pk)
        node = node.parent
    return False


def _return(case: Case, actor: Actor, **_kw) -> dict:
    """Re-route without the units that have returned the case; with none left, the command centre routes by hand."""
    returned_by = set(case.events.filter(action="return").values_list("data__from_unit", flat=True))
    exclude = tuple(sorted({case.responsible_unit_id} | {int(pk) for pk in returned_by if pk is not None}))
    try:
        route = routing.resolve(point=case.point, category=case.category, exclude=exclude)
    except routing.RoutingError as error:
        raise TransitionRefused("no_unit", str(error), case=case) from None
    data = {"from_unit": case.responsible_unit_id, "to_unit": route.responsible.pk, "routing_reason": route.reason}
    case.responsible_unit = route.responsible
    case.co_units.set(route.co_units)
    case.routing_reason = route.reason
    case.assigned_by_unit = None
    return data


def _resolve(case: Case, actor: Actor, *, attachments: list, **_kw) -> dict:
    if case.category.after_photo_required and not attachments:
        raise InvalidInput({"attachments": [_("该类别的处置反馈须附处置后照片")]})
    return {"after_photos": attachments} if attachments else {}


SUPERVISE_MAX_DAYS = 30  # the furthest a 督办's time limit may lie


def _supervise(case: Case, actor: Actor, *, note: str, now: datetime, due_at: datetime | None, **_kw) -> dict:
    """督办, optionally with a time limit (限期): if the unit holding the case records nothing on it by then, the
    schedule reminds it once (notices.services.remind_supervisions)."""
    if not note.strip():
        raise InvalidInput({"note": [_("请填写督办意见")]})
    data = {"to_unit": case.responsible_unit_id}
    if due_at is not None:
        if due_at <= now:
            raise InvalidInput({"due_at": [_("督办限期须晚于当前时间")]})
        if due_at > now + timedelta(days=SUPERVISE_MAX_DAYS):
            raise InvalidInput({"due_at": [_("督办限期不能超过 %(days)s 天") % {"days": SUPERVISE_MAX_DAYS}]})
        data["due_at"] = due_at.astimezone(UTC).isoformat()
    return data


def _escalate(case: Case, actor: Actor, **_kw) -> dict:
    parent = higher_unit(case)
    data = {
        "from_unit": case.responsible_unit_id,
        "to_unit": parent.pk,
        "from_level": case.level,
        "to_level": min(case.level + 1, 4),
        "automatic": actor.is_system,
    }
    case.responsible_unit = parent
    case.co_units.remove(parent)
    case.level = data["to_level"]
    case.assigned_by_unit = None
    return data


def _suspend(case: Case, actor: Actor, *, now: datetime, **_kw) -> dict:
    case.resume_state = case.state
    case.suspended_at = now
    return {}


def _resume(case: Case, actor: Actor, *, now: datetime, **_kw) -> dict:
    paused = max(calendar.working_hours_between(case.suspended_at, now), 0.0)
    case.suspended_hours += paused
    if case.step_started_at is not None:
        case.step_paused_hours += paused
        _set_thresholds(case)
    if case.deadline_at is not None:
        case.deadline_at = calendar.add_working_hours(case.deadline_at, paused)
    data = {"suspended_at": times.rfc3339(case.suspended_at), "paused_hours": round(paused, 4)}
    case.suspended_at = None
    return data


def _extend(case: Case, actor: Actor, *, hours: float | None, **_kw) -> dict:
    if hours is None or not 0 < hours <= 720:
        raise InvalidInput({"hours": [_("请填写延时的工作小时数（0–720）")]})
    case.extension_requested_hours = hours
    return {"hours": hours}


def _approve_extension(case: Case, actor: Actor, *, approved: bool, **_kw) -> dict:
    hours = case.extension_requested_hours
    case.extension_requested_hours = None
    if approved:
        case.step_limit_hours += hours
        case.extended_hours += hours
        _set_thresholds(case)
        if case.deadline_at is not None:
            case.deadline_at = calendar.add_working_hours(case.deadline_at, hours)
    return {"hours": hours, "approved": approved}


def _close(case: Case, actor: Actor, *, now: datetime, **_kw) -> dict:
    case.closed_as = ClosedAs.NORMAL
    case.closed_at = now
    return {}


def _close_on_spot(case: Case, actor: Actor, *, now: datetime, attachments: list, **_kw) -> dict:
    if not attachments:
        raise InvalidInput({"attachments": [_("就地解决需要附处置后照片")]})
    case.closed_as = ClosedAs.ON_SPOT
    case.closed_at = now
    return {"after_photos": attachments}


def _evaluate(case: Case, actor: Actor, *, score: int | None, **_kw) -> dict:
    if score is None or not 1 <= score <= 5:
        raise InvalidInput({"score": [_("请给出1到5分的评价")]})
    case.evaluation = score
    return {"score": score}


def _not_duplicate(case: Case, actor: Actor, **_kw) -> dict:
    data = {"was_duplicate_of": case.duplicate_of_id}
    case.duplicate_of = None
    return data


def _merge(case: Case, actor: Actor, *, now: datetime, target: int | None, **_kw) -> dict:
    """Close the duplicate into its original; the original keeps the duplicate's reporters and gets an event."""
    original_id = target or case.duplicate_of_id
    if original_id is None:
        raise InvalidInput({"target": [_("请指定要合并到的原案件")]})
    if original_id == case.pk:
        raise InvalidInput({"target": [_("不能合并到自身")]})
    candidates = Case.objects if actor.is_system else selectors.visible_cases(actor.user)
    original = candidates.select_for_update(of=("self",)).filter(pk=original_id).first()
    if original is None:  # one the actor may not see is answered as one that does not exist
        raise InvalidInput({"target": [_("原案件不存在")]})
    if original.state in TERMINAL or original.duplicate_of_id == case.pk:
        raise TransitionRefused(
            "merge_target_closed",
            _("原案件已结案或不予立案，不能合并"),
            case=case,
            allowed=allowed_actions(case, actor),
        )
    reporters = [user for user in [case.reporter, *case.extra_reporters.all()] if user is not None]
    reporters = [user for user in reporters if user.pk != original.reporter_id]
    original.extra_reporters.add(*reporters)
    for duplicate in case.duplicates.all():
        duplicate.duplicate_of = original
        duplicate.save(update_fields=["duplicate_of", "updated_at"])
    original.version += 1
    original.save(update_fields=["version", "updated_at"])
    CaseEvent.objects.create(
        case=original,
        actor=actor.user,
        unit=actor.unit,
        action="merge",
        from_state=original.state,
        to_state=original.state,
        note=_("合并重复案件 %(number)s") % {"number": case.number},
        data={"merged": {"id": case.pk, "number": case.number}, "reporters": [u.get_username() for u in reporters]},
        created_at=now,
    )
    case.duplicate_of = original
    case.closed_as = ClosedAs.MERGED
    case.closed_at = now
    return {"into": {"id": original.pk, "number": original.number}}


_HANDLERS = {
    "dispatch": _dispatch,
    "resolve": _resolve,
    "supervise": _supervise,
    "return": _return,
    "escalate": _escalate,
    "suspend": _suspend,
    "resume": _resume,
    "extend": _extend,
    "approve_extension": _approve_extension,
    "close": _close,
    "close_on_spot": _close_on_spot,
    "evaluate": _evaluate,
    "not_duplicate": _not_duplicate,
    "merge": _merge,
}


# --- Co-handling tasks (协办) ------------------------------------------------------------------


def _assign_cohandling(case: Case, actor: Actor, *, now: datetime) -> None:
    """After a dispatch: each co-handling unit without a task on the case gets one (event `cohandle_assign`); an
    unfinished task of a unit that now leads the case, or is no longer co-handling, is released (`cohandle_release`).
    Due in the category's processing limit, in working hours, yellow at 80 %."""
    co_ids = set(case.co_units.values_list("id", flat=True)) - {case.responsible_unit_id}
    tasks = {task.unit_id: task for task in CoHandlingTask.objects.select_for_update().filter(case=case)}
    for unit_id, task in tasks.items():
        if unit_id not in co_ids and task.state in TASK_PENDING:
            old = task.state
            task.state, task.decided_at = TaskState.RELEASED, now
            task.decision_note = _("不再是该案件的协办单位")
            task.save(update_fields=["state", "decided_at", "decision_note", "updated_at"])
            _task_event(case, actor, task, "cohandle_release", old, note=task.decision_note, now=now)
    limit = case.category.limit_hours("process")
    for unit in case.co_units.filter(pk__in=co_ids - set(tasks)).order_by("code"):
        task = CoHandlingTask.objects.create(
            case=case,
            unit=unit,
            assigned_at=now,
            limit_hours=limit,
            yellow_at=calendar.add_working_hours(now, YELLOW_AT * limit),
            due_at=calendar.add_working_hours(now, limit),
        )
        _task_event(case, actor, task, "cohandle_assign", "", now=now, extra={"due_at": times.rfc3339(task.due_at)})


def _task_event(
    case: Case, actor: Actor, task: CoHandlingTask, action: str, old: str, *, now: datetime, note: str = "",
    attachments: list | None = None, extra: dict | None = None,
) -> CaseEvent:  # fmt: skip
    return CaseEvent.objects.create(
        case=case,
        actor=actor.user,
        unit=actor.unit,
        action=action,
        from_state=case.state,
        to_state=case.state,
        note=note,
        attachments=attachments or [],
        data={"task": task.pk, "unit": task.unit_id, "task_from": old, "task_to": task.state, **(extra or {})},
        created_at=now,
    )


def task_actor_may(action: str, task: CoHandlingTask, case: Case, actor: Actor) -> bool:
    transition = COHANDLING[action]
    if actor.is_admin:
        return True
    if actor.role != Role.DISPATCHER or actor.unit is None:
        return False
    if transition.scope == TaskScope.CO_UNIT:
        return actor.unit.pk == task.unit_id
    return actor.unit.pk == case.responsible_unit_id or actor.at_command_centre


def task_actions(task: CoHandlingTask, case: Case, actor: Actor) -> list[str]:
    """The co-handling actions this actor may take on the task now."""
    return [
        action
        for action, transition in COHANDLING.items()
        if task.state in transition.sources
        and case.state in transition.case_states
        and task_actor_may(action, task, case, actor)
    ]


def apply_cohandling(
    *, case_id: int, task_id: int, actor, action: str, version: int, note: str = "", attachments: Iterable[str] = ()
) -> Case:
    """Move one co-handling task by the table (workflow.COHANDLING) under the case's row lock (so it serialises
    with the lead's 处置反馈), record the CaseEvent of the same name and bump the case's version."""
    who = actor if isinstance(actor, Actor) else actor_for(actor)
    attachments = list(attachments)
    transition = COHANDLING[action]
    with transaction.atomic():
        case = (
            Case.objects.select_for_update(of=("self",)).select_related("category", "responsible_unit").get(pk=case_id)
        )
        task = CoHandlingTask.objects.select_for_update().filter(pk=task_id, case=case).first()
        if task is None:
            raise InvalidInput({"task": [_("该案件没有这项协办任务")]})

        def refuse(reason: str, message: str):
            raise TransitionRefused(reason, message, case=case, allowed=allowed_actions(case, who))

        if task.state not in transition.sources or case.state not in transition.case_states:
            refuse(
                "action_not_allowed",
                _("协办任务处于“%(state)s”状态，不能%(label)s")
                % {"state": TaskState(task.state).label, "label": transition.label},
            )
        if not task_actor_may(action, task, case, who):
            refuse("actor_not_allowed", _("您的角色或单位不能%(label)s") % {"label": transition.label})
        if version != case.version:
            refuse(
                "stale_version",
                _("案件已被他人更新（当前版本 %(current)s，提交的版本 %(sent)s），请刷新后重试")
                % {"current": case.version, "sent": version},
            )
        _check_attachments(attachments, user=who.user, case_id=case.pk)
        if action == "cohandle_feedback" and not note.strip():
            raise InvalidInput({"note": [_("请填写协办反馈意见")]})
        if action == "cohandle_return" and not note.strip():
            raise InvalidInput({"note": [_("请填写退回理由")]})
        now = timezone.now()
        old = task.state
        task.state = transition.target
        if action == "cohandle_feedback":
            task.feedback_note, task.feedback_photos, task.submitted_at = note, attachments, now
        else:
            task.decided_at, task.decision_note = now, note
        task.save()
        case.version += 1
        case.save(update_fields=["version", "updated_at"])
        _task_event(case, who, task, action, old, note=note, attachments=attachments, now=now)
        transaction.on_commit(
            lambda: signals.case_transitioned.send(sender=Case, case_id=case.pk, action=action, to_state=case.state)
        )
    return case


# --- Photos from the desk ----------------------------------------------------------------------


def may_attach_photo(case: Case, actor: Actor) -> bool:
    """Dispatchers of the responsible unit, of a co-handling unit, or of a command centre (and administrators)."""
    if actor.is_admin:
        return True
    if actor.role != Role.DISPATCHER or actor.unit is None:
        return False
    if actor.at_command_centre or actor.unit.pk == case.responsible_unit_id:
        return True
    return case.co_units.filter(pk=actor.unit.pk).exists()


def attach_desk_photo(*, case: Case, actor, data: bytes, kind: str):
    """A photo from the desk (处置后 for 处置反馈, or a co-handling unit's feedback): kept and compared with the report
    as a handheld's photo is (mobileapi.services.attach_photo, which records a `photo` event). Only while the case
    is worked (not before it is registered, not once resolved)."""
    from cases.workflow import WORKING
    from mobileapi import services as mobile

    who = actor if isinstance(actor, Actor) else actor_for(actor)
    if case.state not in WORKING:
        raise TransitionRefused(
            "action_not_allowed",
            _("案件处于“%(state)s”状态，不能添加照片") % {"state": State(case.state).label},
            case=case,
            allowed=allowed_actions(case, who),
        )
    return mobile.attach_photo(case=case, data=data, kind=kind, uploader=who.user)


# --- Overdue escalation ---------------------------------------------------------------------


def escalate_overdue(*, now: datetime | None = None) -> dict:
    """Escalate every case whose current step is overdue, once per step, however often this runs."""
    now = now or timezone.now()
    counts = {"escalated": 0, "no_higher_unit": 0, "skipped": 0}
    signals.lights_checked.send(sender=Case, now=now)  # notices of lights turned yellow or red (notices app)
    for case_id in selectors.overdue_case_ids(now=now):
        counts[escalate_overdue_case(case_id=case_id, now=now)] += 1
    return counts


def escalate_overdue_case(*, case_id: int, now: datetime) -> str:
    with transaction.atomic():
        case = Case.objects.select_for_update(of=("self",)).select_related("responsible_unit").get(pk=case_id)
        overdue = (
            case.state in TRANSITIONS["escalate"].sources
            and case.suspended_at is None
            and case.step_deadline_at is not None
            and case.step_deadline_at < now
            and case.overdue_handled_seq != case.step_seq
        )
        if not overdue:
            return "skipped"
        handled_seq = case.step_seq
        if higher_unit(case) is None:
            Case.objects.filter(pk=case.pk).update(overdue_handled_seq=handled_seq)
            return "no_higher_unit"
        case = apply_transition(
            case_id=case.pk,
            actor=SYSTEM,
            action="escalate",
            version=case.version,
            note=_("超时自动上报上级"),
        )
        Case.objects.filter(pk=case.pk).update(overdue_handled_seq=handled_seq)
        return "escalated"
