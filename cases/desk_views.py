"""The dispatcher desk (办理端口) at /desk/: a unit's queue of cases and a page per case, rendered on the server.

Who: dispatchers see the cases of their unit (and those it co-handles); a command centre's dispatchers and
administrators see all; managers see the same pages read-only (the only action the workflow gives them is 评价 on
closed cases); grid workers are sent to the map (they work on their handhelds); accounts without a role get 403.
Actions are the workflow's `allowed_actions` for this user now, posted by the page's script to the transitions
API with the version shown; a refusal (409) is shown and the page reloaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.db.models import Case as SqlCase
from django.db.models import Count, Exists, F, IntegerField, OuterRef, Value, When
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from cases import calendar, selectors, services
from cases.models import Case, CaseEvent, Category, CoHandlingTask, State, TaskState
from cases.serializers import CaseListQuerySerializer
from cases.stats import STEP_LABELS
from cases.workflow import COHANDLING, STEP_OF_STATE, TASK_PENDING, TERMINAL, TRANSITIONS, action_label
from gridmgmt import times
from grids.models import Grid, Role, Street, Unit, UnitType
from maps.roles import home_for, role_of

PAGE_SIZE = 30
OPEN_STATES = [s.value for s in State if s not in TERMINAL]
LIGHT_ORDER = SqlCase(
    When(light="red", then=Value(0)),
    When(light="yellow", then=Value(1)),
    When(light="green", then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)
# Actions that need what the desk cannot give (an after-photo from the scene, a worker's own check).
NOT_AT_DESK = {"close_on_spot", "confirm"}
TASK_EVENTS = {"cohandle_assign", *COHANDLING}
# What each action asks for besides a note.
ACTION_INPUTS = {
    "dispatch": "unit",
    "extend": "hours",
    "approve_extension": "approved",
    "evaluate": "score",
    "resolve": "photos",
    "supervise": "due",
}
SEGMENT_LABELS = {**STEP_LABELS, "suspended": pgettext_lazy("step", "挂账"), "cohandle": pgettext_lazy("step", "协办")}
# Queue tabs: the cases the unit works on, and those it escalated (上报上级) and follows read-only.
TABS = {"": gettext_lazy("本单位办理"), "escalated": gettext_lazy("已上报上级")}

DESK_STRINGS = {
    "done": gettext_lazy("操作成功"),
    "failed": gettext_lazy("操作失败"),
    "refused": gettext_lazy("操作未执行"),
    "reloading": gettext_lazy("案件已更新，正在刷新…"),
    "hours": gettext_lazy("工作小时"),
    "working_hours": gettext_lazy("用时（工作小时）"),
    "limit": gettext_lazy("时限"),
    "unit": gettext_lazy("责任单位"),
    "started": gettext_lazy("开始"),
    "ended": gettext_lazy("结束"),
    "running": gettext_lazy("进行中"),
    "on_time": gettext_lazy("按时"),
    "late": gettext_lazy("超时"),
    "hours_since_report": gettext_lazy("自上报起（小时）"),
    "case": gettext_lazy("案件位置"),
    "uploading": gettext_lazy("正在上传照片…"),
}


def _guard(request):
    """(role, staff) for those who may open the desk; otherwise the response to give instead."""
    if not request.user.is_authenticated:
        return None, redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
    role, staff = role_of(request.user), getattr(request.user, "staff", None)
    if role == Role.WORKER:
        return None, redirect(home_for(request.user))
    if role is None:
        return None, render(
            request, "maps/forbidden.html", {"role_label": "", "home": "/public/"}, status=403
        )  # fmt: skip
    return (role, staff), None


def _context(request, role, staff, **extra) -> dict:
    unit = staff.unit if staff is not None else None
    return {
        "role": role,
        "role_label": str(Role(role).label),
        "unit": unit,
        "read_only": role == Role.MANAGER,
        "sees_all": selectors.sees_every_case(request.user),
        **extra,
    }


# --- The queue -------------------------------------------------------------------------------


def _filters(request) -> tuple[dict, dict, list[str]]:
    """The queue's filters from the query string: (shown in the form, validated for selectors.filter_cases,
    messages about values that were ignored)."""
    get = request.GET
    form = {name: get.get(name, "").strip() for name in ("state", "light", "category", "level", "street", "grid")}
    form |= {"from": get.get("from", "").strip(), "to": get.get("to", "").strip()}
    if "state" not in get:
        form["state"] = "open"
    raw = {
        "state": ",".join(OPEN_STATES)
        if form["state"] == "open"
        else ("" if form["state"] == "all" else form["state"]),
        "light": form["light"],
        "category": form["category"],
        "level": form["level"],
        "street": form["street"],
        "grid": form["grid"],
        "received_from": form["from"],
        "received_to": form["to"],
    }
    raw = {key: value for key, value in raw.items() if value}
    serializer = CaseListQuerySerializer(data=raw)
    if serializer.is_valid():
        return form, serializer.validated_data, []
    errors = [f"{name}: {' '.join(map(str, messages))}" for name, messages in serializer.errors.items()]
    kept = {key: value for key, value in raw.items() if key not in serializer.errors}
    serializer = CaseListQuerySerializer(data=kept)
    serializer.is_valid()
    return form, serializer.validated_data if not serializer.errors else {}, errors


def queue(request):
    who, refused = _guard(request)
    if refused is not None:
        return refused
    role, staff = who
    form, query, errors = _filters(request)
    tab = request.GET.get("tab", "")
    tab = tab if tab in TABS else ""
    follows_escalated = role == Role.DISPATCHER and staff is not None and not selectors.sees_every_case(request.user)
    if tab == "escalated" and follows_escalated:
        visible = Case.objects.filter(pk__in=selectors.escalated_by(staff.unit_id))
    else:
        tab = ""
        visible = selectors.working_cases(request.user)
    supervised = CaseEvent.objects.filter(
        case_id=OuterRef("pk"), action="supervise", created_at__gte=OuterRef("step_started_at")
    )
    cases = (
        selectors.filter_cases(visible, query)
        .annotate(light_rank=LIGHT_ORDER, supervised=Exists(supervised))
        .select_related("category", "responsible_unit", "assigned_by_unit", "grid", "street")
        .order_by("light_rank", F("step_deadline_at").asc(nulls_last=True), "-received_at", "-id")
    )
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    unit_id = staff.unit_id if staff is not None else None
    now = timezone.now()
    rows = []
    for case in page.object_list:
        remaining = _remaining_hours(case, now) if case.state not in TERMINAL else None
        rows.append(
            {
                "case": case,
                "remaining": remaining,
                "waits": waits_line(case, remaining),
                "co_handled": tab == ""
                and unit_id is not None
                and case.responsible_unit_id != unit_id
                and role == Role.DISPATCHER,
                "supervised": case.supervised and case.state not in TERMINAL,
            }
        )
    lights = {
        row["light"]: row["n"]
        for row in selectors.filter_cases(visible, {"state": OPEN_STATES}).values("light").annotate(n=Count("id"))
    }
    params = request.GET.copy()
    params.pop("page", None)
    tab_params = request.GET.copy()
    tab_params.pop("page", None)
    tab_params.pop("tab", None)
    tabs = []
    if follows_escalated:
        for key, label in TABS.items():
            link = tab_params.copy()
            if key:
                link["tab"] = key
            tabs.append({"key": key, "label": label, "query": link.urlencode(), "current": key == tab})
    context = _context(
        request,
        role,
        staff,
        tab=tab,
        tabs=tabs,
        page=page,
        rows=rows,
        form=form,
        errors=errors,
        lights={name: lights.get(name, 0) for name in ("red", "yellow", "green")},
        query_string=params.urlencode(),
        states=[{"value": s.value, "label": s.label} for s in State],
        categories=_categories(),
        streets=list(Street.objects.order_by("code").values("code", "name")),
        grids=list(Grid.objects.order_by("code").values("code", "name", "community__street__code")),
    )
    return render(request, "cases/desk/queue.html", context)


def waits_line(case: Case, remaining: float | None) -> str:
    """What an open case waits for, who holds it and the working hours left in its step, e.g.
    "待派遣 · 清香坪街道办事处 · 剩余 3.5 工作小时"; "" once it is closed or rejected."""
    waiting = selectors.waits_for(case)
    if waiting is None:
        return ""
    parts = list(waiting)
    if case.suspended_at is not None:
        parts.append(_("计时暂停"))
    elif remaining is not None and remaining >= 0:
        parts.append(_("剩余 %(hours)s 工作小时") % {"hours": f"{remaining:.1f}"})
    elif remaining is not None:
        parts.append(_("超时 %(hours)s 工作小时") % {"hours": f"{-remaining:.1f}"})
    return " · ".join(parts)


def _remaining_hours(case: Case, now: datetime) -> float | None:
    """Working hours left until the step's deadline (negative once past), counted from the suspension if any."""
    if case.step_deadline_at is None:
        return None
    return round(calendar.working_hours_between(case.suspended_at or now, case.step_deadline_at), 1)


def _categories() -> list[dict]:
    """The active categories for the filter, in code order, with their depth in the tree (0 at the top)."""

    def depth(category: Category) -> int:
        return 0 if category.parent is None else 1 + depth(category.parent)

    active = selectors.category_tree().active_by_code
    return [
        {"code": code, "name": category.name_zh, "name_en": category.name_en, "depth": depth(category)}
        for code, category in sorted(active.items())
    ]


# --- A case ----------------------------------------------------------------------------------


@dataclass
class Segment:
    """One bar of the timeline chart: a step (or a suspension) with the unit that held the case."""

    key: str
    label: str
    unit_id: int | None
    start: datetime
    end: datetime | None = None
    limit_hours: float | None = None
    hours: float | None = None
    on_time: bool | None = None
    running: bool = False
    ended_by: str = ""
    unit_name: str = ""
    extra: dict = field(default_factory=dict)


def cohandling_segments(tasks: list[CoHandlingTask], *, now: datetime) -> list[Segment]:
    """One bar per co-handling task, with its unit: from the assignment until the lead unit accepted or released it
    (running while it is open, sent back or awaiting acceptance); on time when the feedback came by the due time."""
    segments = []
    for task in tasks:
        running = task.state in TASK_PENDING
        end = None if running else task.decided_at
        answered = task.submitted_at if task.state != TaskState.RELEASED else task.decided_at
        until = answered or now
        segments.append(
            Segment(
                key="cohandle",
                label=_("%(step)s（%(state)s）")
                % {"step": SEGMENT_LABELS["cohandle"], "state": task.get_state_display()},
                unit_id=task.unit_id,
                start=task.assigned_at,
                end=end,
                limit_hours=task.limit_hours,
                hours=round(max(calendar.working_hours_between(task.assigned_at, until), 0), 2),
                on_time=until <= task.due_at,
                running=running,
                ended_by=_action_label("cohandle_accept" if task.state == TaskState.ACCEPTED else "cohandle_release")
                if not running
                else "",
            )
        )
    return segments


def timeline(
    case: Case, events: list[CaseEvent], *, now: datetime | None = None, tasks: list[CoHandlingTask] | None = None
) -> list[Segment]:
    """The steps of a case, each with its unit, start, end and working hours, from its events' step records;
    suspensions as their own bars; each co-handling task as a bar of its unit. Cases whose events predate step
    records are cut at each change of state."""
    now = now or timezone.now()
    segments: list[Segment] = []
    running: dict[int, Segment] = {}
    suspension: Segment | None = None
    holder = case.responsible_unit_id
    has_records = any("step_started" in (e.data or {}) for e in events)
    for event in events:
        data = event.data or {}
        if has_records:
            ended = data.get("step_ended")
            if ended and ended.get("seq") in running:
                segment = running.pop(ended["seq"])
                segment.end, segment.hours, segment.on_time = event.created_at, ended.get("hours"), ended.get("on_time")
                segment.ended_by = _action_label(event.action)
            started = data.get("step_started")
            if started:
                segment = Segment(
                    key=started["step"],
                    label=str(SEGMENT_LABELS.get(started["step"], started["step"])),
                    unit_id=started.get("unit"),
                    start=event.created_at,
                    limit_hours=started.get("limit_hours"),
                )
                running[started["seq"]] = segment
                segments.append(segment)
                holder = started.get("unit")
            elif event.action in ("dispatch", "return", "escalate") and data.get("to_unit"):
                holder = data["to_unit"]
        elif event.from_state != event.to_state:
            if segments and segments[-1].end is None:
                last = segments[-1]
                last.end = event.created_at
                last.hours = round(calendar.working_hours_between(last.start, event.created_at), 2)
                last.ended_by = _action_label(event.action)
            if event.action in ("dispatch", "return", "escalate") and data.get("to_unit"):
                holder = data["to_unit"]
            step = STEP_OF_STATE.get(event.to_state)
            if step:
                segments.append(Segment(key=step, label=str(SEGMENT_LABELS[step]), unit_id=holder,
                                        start=event.created_at))  # fmt: skip
        if event.action == "suspend":
            suspension = Segment(key="suspended", label=str(SEGMENT_LABELS["suspended"]), unit_id=holder,
                                 start=event.created_at)  # fmt: skip
            segments.append(suspension)
        elif event.action == "resume" and suspension is not None:
            suspension.end = event.created_at
            suspension.hours = (data or {}).get("paused_hours")
            suspension.ended_by = _action_label(event.action)
            suspension = None
    for segment in segments:
        if segment.end is None and segment.key != "cohandle":
            segment.running = True
            if segment.key == "suspended":
                segment.hours = round(calendar.working_hours_between(segment.start, now), 2)
            else:
                paused = case.step_paused_hours if case.step_started_at == segment.start else 0
                until = case.suspended_at or now
                segment.hours = round(max(calendar.working_hours_between(segment.start, until) - paused, 0), 2)
                if case.step_deadline_at is not None:
                    segment.on_time = until <= case.step_deadline_at
    segments += cohandling_segments(tasks if tasks is not None else list(case.cohandling_tasks.all()), now=now)
    segments.sort(key=lambda s: s.start)
    names = dict(Unit.objects.filter(pk__in={s.unit_id for s in segments}).values_list("id", "name"))
    for segment in segments:
        segment.unit_name = names.get(segment.unit_id, "")
    return segments


def _action_label(action: str) -> str:
    return _(action_label(action))


def _dispatch_targets(case: Case, actor: services.Actor) -> list[Unit]:
    """Units the actor may dispatch this case to (besides keeping it): any unit for a command centre or an
    administrator, otherwise the actor's own unit and the units below it."""
    units = Unit.objects.defer("jurisdiction").order_by("type", "code")
    if actor.is_admin or actor.at_command_centre:
        return [u for u in units if u.type != UnitType.COMMAND_CENTRE]
    if actor.unit is None:
        return []
    allowed, frontier = {actor.unit.pk}, {actor.unit.pk}
    children: dict[int, list[int]] = {}
    for unit in units:
        if unit.parent_id:
            children.setdefault(unit.parent_id, []).append(unit.pk)
    while frontier:
        frontier = {child for parent in frontier for child in children.get(parent, [])} - allowed
        allowed |= frontier
    return [u for u in units if u.pk in allowed]


def case_page(request, pk: int):
    who, refused = _guard(request)
    if refused is not None:
        return refused
    role, staff = who
    case = selectors.case_detail(pk, request.user)
    if case is None:
        raise Http404(_("案件不存在或您无权查看"))
    actor = services.actor_for(request.user)
    allowed = [action for action in services.allowed_actions(case, actor) if action not in NOT_AT_DESK]
    events = list(case.events.all())  # prefetched with actor and unit
    tasks = list(case.cohandling_tasks.all())  # prefetched with unit
    task_units = {task.unit_id: task.unit.name for task in tasks}
    states = dict(State.choices)
    for event in events:
        event.action_label = _action_label(event.action)
        event.from_label, event.to_label = states.get(event.from_state, ""), states.get(event.to_state, "")
        event.task_unit = task_units.get((event.data or {}).get("unit"), "") if event.action in TASK_EVENTS else ""
    segments = timeline(case, events, tasks=tasks)
    photos = _photos(case, events)
    actions = [
        {"action": action, "label": _(TRANSITIONS[action].label), "input": ACTION_INPUTS.get(action, "")}
        for action in allowed
    ]
    now = timezone.now()
    photo_urls = {p["sha256"]: p for p in photos}
    task_rows = [
        {
            "task": task,
            "light": selectors.task_light(task, now),
            "actions": [
                {"action": action, "label": _(COHANDLING[action].label)}
                for action in services.task_actions(task, case, actor)
            ],
            "photos": [photo_urls[ref] for ref in task.feedback_photos if ref in photo_urls],
        }
        for task in tasks
    ]
    follows_only = (
        role == Role.DISPATCHER
        and not actions
        and not any(row["actions"] for row in task_rows)
        and staff is not None
        and staff.unit_id != case.responsible_unit_id
        and not actor.at_command_centre
        and case.events.filter(action="escalate", data__from_unit=staff.unit_id).exists()
    )
    remaining = _remaining_hours(case, timezone.now())
    chart = {
        "start": times.rfc3339(case.received_at),
        "segments": [
            {
                "key": s.key,
                "label": s.label,
                "unit": s.unit_name,
                "start": times.rfc3339(s.start),
                "end": times.rfc3339(s.end or timezone.now()),
                "running": s.running,
                "hours": s.hours,
                "limit_hours": s.limit_hours,
                "on_time": s.on_time,
            }
            for s in segments
        ],
    }
    from maps.basemaps import basemap_config
    from maps.strings import JS_STRINGS

    config = {
        "case": {"id": case.pk, "number": case.number, "version": case.version, "light": case.light},
        "point": [case.point.x, case.point.y],
        "center": [case.point.y, case.point.x],
        "zoom": 17,
        "basemap": basemap_config(),
        "language": request.LANGUAGE_CODE,
        "strings": {**{key: str(value) for key, value in DESK_STRINGS.items()}, "labels": str(JS_STRINGS["labels"])},
        "actions": {a["action"]: str(a["label"]) for a in actions}
        | {action: str(_(transition.label)) for action, transition in COHANDLING.items()},
        "chart": chart,
    }
    context = _context(
        request,
        role,
        staff,
        case=case,
        events=events,
        segments=segments,
        photos=photos,
        actions=actions,
        task_rows=task_rows,
        follows_only=follows_only,
        photo_required=case.category.after_photo_required,
        remaining=remaining,
        targets=_dispatch_targets(case, actor) if "dispatch" in allowed else [],
        config=config,
        co_units=list(case.co_units.all()),
        step_label=SEGMENT_LABELS.get(case.step, case.step),
        chart_height=min(80 + 36 * len(segments), 560),
        back=request.GET.get("back", ""),
        may_reveal=bool(case.caller_phone_masked)
        and role != Role.MANAGER
        and request.user.has_perm("grids.reveal_person"),
    )
    return render(request, "cases/desk/case.html", context)


def _photos(case: Case, events: list[CaseEvent]) -> list[dict]:
    """Photos of the case that can be shown, in the order its events cite them (handheld photos are attached by an
    event too): those on the case (selectors.photos_on_case), served by the map's case-photo endpoint."""
    from mobileapi.models import CasePhoto

    refs = []
    for event in events:
        for ref in event.attachments or []:
            if isinstance(ref, str) and len(ref) == 64 and ref not in refs:
                refs.append(ref)
    if not refs:
        return []
    stored = selectors.photos_on_case(case.pk)
    attached = {
        row.photo.sha256: row for row in CasePhoto.objects.filter(case=case).select_related("photo").order_by("id")
    }
    after = {ref for event in events if event.action == "resolve" for ref in event.attachments or []}
    labels = {"before": _("处置前"), "after": _("处置后")}
    rows = []
    for ref in refs:
        if ref not in stored:
            continue
        row = attached.get(ref)
        kind = row.kind if row is not None else ("after" if ref in after else "")
        rows.append(
            {
                "sha256": ref,
                "url": f"/api/v1/case-photos/{ref}",
                "thumb": f"/api/v1/case-photos/{ref}?thumb=1",
                "kind": labels.get(kind, ""),
                "flag": flag_reason(row) if row is not None and row.flagged else "",
            }
        )
    return rows


def flag_reason(photo) -> str:
    """Why the server flagged a photo: its camera position or time far from the report (mobileapi.services)."""
    from mobileapi.services import PHOTO_FAR_M, PHOTO_LATE_HOURS

    reasons = []
    if photo.distance_m is not None and photo.distance_m > PHOTO_FAR_M:
        reasons.append(_("拍摄位置距案发点 %(m)s 米") % {"m": round(photo.distance_m)})
    if photo.time_gap_hours is not None and photo.time_gap_hours > PHOTO_LATE_HOURS:
        reasons.append(_("拍摄时间与采集时间相差 %(h)s 小时") % {"h": round(photo.time_gap_hours, 1)})
    return "；".join(reasons)
