"""The case cycle in one table: which action is allowed from which states, to which state, for whom.

信息采集 → 立案 → 派遣 → 处置 → 处置反馈 → 核查 → 结案 → 评价 (DESIGN §4), with the side paths
不予立案 (reject), 回退 (return: re-routed), 挂账 (suspend/resume), 延时 (extend/approve_extension),
上报上级 (escalate), 就地解决 (close_on_spot), 现场核实 by a grid worker (confirm), duplicates
(merge/not_duplicate) and 督办 (supervise). Co-handling tasks (协办) move by their own table, COHANDLING.

`roles` are grids.models.Role values (system administrators may always act); `scope` says which of those
actors, relative to the case, may act — see `cases.services.actor_may`.
"""

from dataclasses import dataclass
from enum import StrEnum

from cases.models import State, TaskState
from grids.models import Role


class Scope(StrEnum):
    HANDLER = "handler"  # dispatchers of the responsible unit
    DESK = "desk"  # dispatchers of the responsible unit or of a command centre
    APPROVER = "approver"  # dispatchers of the unit that dispatched it (not the handler itself), or of a command centre
    INVOLVED = "involved"  # dispatchers of the responsible unit, of a co-handling unit, or of a command centre
    VERIFIER = "verifier"  # the reporting worker or a worker of the case's grid; DESK dispatchers
    REPORTER = "reporter"  # the worker who reported the case
    EVALUATOR = "evaluator"  # the reporting worker, managers, command-centre dispatchers


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str | None  # None: the state does not change (resume: back to the state before suspension)
    roles: frozenset[str]
    scope: Scope
    label: str


def t(sources, target, roles, scope, label) -> Transition:
    return Transition(frozenset(sources), target, frozenset(roles), scope, label)


S = State
OPEN = {S.REPORTED, S.REGISTERED, S.DISPATCHED, S.PROCESSING, S.RESOLVED, S.VERIFIED, S.RETURNED, S.SUSPENDED}
OPEN |= {S.ESCALATED}
D, W, M = Role.DISPATCHER, Role.WORKER, Role.MANAGER

TRANSITIONS: dict[str, Transition] = {
    "register": t({S.REPORTED}, S.REGISTERED, {D}, Scope.DESK, "立案"),
    "reject": t({S.REPORTED, S.REGISTERED, S.RETURNED, S.ESCALATED}, S.REJECTED, {D}, Scope.DESK, "不予立案"),
    "dispatch": t({S.REGISTERED, S.RETURNED, S.ESCALATED}, S.DISPATCHED, {D}, Scope.DESK, "派遣"),
    "start": t({S.DISPATCHED}, S.PROCESSING, {D}, Scope.HANDLER, "开始处置"),
    "resolve": t({S.DISPATCHED, S.PROCESSING}, S.RESOLVED, {D}, Scope.HANDLER, "处置反馈"),
    "verify": t({S.RESOLVED}, S.VERIFIED, {W, D}, Scope.VERIFIER, "核查通过"),
    "rework": t({S.RESOLVED}, S.PROCESSING, {W, D}, Scope.VERIFIER, "核查不通过，返工"),
    "close": t({S.VERIFIED}, S.CLOSED, {D}, Scope.DESK, "结案"),
    "return": t({S.REPORTED, S.REGISTERED, S.DISPATCHED, S.PROCESSING}, S.RETURNED, {D}, Scope.HANDLER, "回退"),
    "suspend": t({S.DISPATCHED, S.PROCESSING}, S.SUSPENDED, {D}, Scope.DESK, "挂账"),
    "resume": t({S.SUSPENDED}, None, {D}, Scope.DESK, "恢复办理"),
    "extend": t({S.DISPATCHED, S.PROCESSING}, None, {D}, Scope.HANDLER, "申请延时"),
    "approve_extension": t({S.DISPATCHED, S.PROCESSING}, None, {D}, Scope.APPROVER, "审批延时"),
    "escalate": t(
        {S.REPORTED, S.REGISTERED, S.RETURNED, S.ESCALATED, S.DISPATCHED, S.PROCESSING},
        S.ESCALATED,
        {D},
        Scope.HANDLER,
        "上报上级",
    ),
    "evaluate": t({S.CLOSED}, None, {W, M, D}, Scope.EVALUATOR, "评价"),
    "close_on_spot": t({S.REPORTED}, S.CLOSED, {W}, Scope.REPORTER, "就地解决"),
    "confirm": t({S.REPORTED}, None, {W}, Scope.VERIFIER, "现场核实"),
    "merge": t(
        {S.REPORTED, S.REGISTERED, S.RETURNED, S.ESCALATED, S.DISPATCHED}, S.CLOSED, {D}, Scope.DESK, "合并重复案件"
    ),
    "not_duplicate": t(OPEN, None, {D}, Scope.DESK, "确认不是重复案件"),
    "comment": t(OPEN, None, {D}, Scope.INVOLVED, "办理意见"),
    # 督办: a recorded reminder to the unit holding the case, from above it (the assigner or a command centre).
    "supervise": t(
        {S.REGISTERED, S.RETURNED, S.ESCALATED, S.DISPATCHED, S.PROCESSING, S.SUSPENDED},
        None,
        {D},
        Scope.APPROVER,
        "督办",
    ),
}

# The step whose clock runs in each state (time limits per step come from the category).
STEP_OF_STATE = {
    S.REPORTED: "register",
    S.REGISTERED: "dispatch",
    S.RETURNED: "dispatch",
    S.ESCALATED: "dispatch",
    S.DISPATCHED: "process",
    S.PROCESSING: "process",
    S.RESOLVED: "verify",
    S.VERIFIED: "close",
}
# Actions after which the step starts afresh even when its name stays the same (a new unit, or rework).
RESTARTS_STEP = {"return", "escalate", "rework"}
# States in which the responsible unit holds the case; overdue cases here are escalated by escalate_overdue.
ESCALATABLE = TRANSITIONS["escalate"].sources
TERMINAL = {S.CLOSED, S.REJECTED}


# --- Co-handling tasks (协办) -------------------------------------------------------------------
# A task of one co-handling unit on a case moves by this table; each move is also a CaseEvent of the same name.
# `cohandle_assign` creates tasks (at dispatch) and is not a move. Scopes: CO_UNIT — dispatchers of the task's
# unit; LEAD — dispatchers of the case's responsible unit (or a command centre).


class TaskScope(StrEnum):
    CO_UNIT = "co_unit"
    LEAD = "lead"


@dataclass(frozen=True)
class TaskTransition:
    sources: frozenset[str]
    target: str
    scope: TaskScope
    label: str
    case_states: frozenset[str]  # the case states in which the move is allowed


T = TaskState
# While the lead unit works the case (and while it is suspended or passed upwards), co-handling goes on.
WORKING = frozenset({S.REGISTERED, S.RETURNED, S.ESCALATED, S.DISPATCHED, S.PROCESSING, S.SUSPENDED})
COHANDLING: dict[str, TaskTransition] = {
    "cohandle_feedback": TaskTransition(
        frozenset({T.OPEN, T.RETURNED}), T.SUBMITTED, TaskScope.CO_UNIT, "协办反馈", WORKING
    ),
    "cohandle_accept": TaskTransition(frozenset({T.SUBMITTED}), T.ACCEPTED, TaskScope.LEAD, "验收协办", WORKING),
    "cohandle_return": TaskTransition(frozenset({T.SUBMITTED}), T.RETURNED, TaskScope.LEAD, "退回协办", WORKING),
    "cohandle_release": TaskTransition(
        frozenset({T.OPEN, T.RETURNED, T.SUBMITTED}), T.RELEASED, TaskScope.LEAD, "解除协办", WORKING
    ),
}
# Tasks in these states are unfinished work: the lead unit cannot resolve the case while one is left.
TASK_PENDING = frozenset({T.OPEN, T.RETURNED, T.SUBMITTED})

# Events that are not transitions of the tables.
_OTHER_ACTION_LABELS = {"report": "上报", "photo": "照片", "cohandle_assign": "派发协办"}


def action_label(action: str) -> str:
    """An event's action in Chinese (the source text of its translation)."""
    transition = TRANSITIONS.get(action) or COHANDLING.get(action)
    return transition.label if transition else _OTHER_ACTION_LABELS.get(action, action)


def actions_from(state: str) -> list[str]:
    return [action for action, transition in TRANSITIONS.items() if state in transition.sources]
