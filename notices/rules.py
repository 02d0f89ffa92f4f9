"""Which case events make which notifications, for whom, and on which outgoing channels: one table, data only.

`EVENT_RULES` maps a case event's `action` to the notices it makes. Each notice names its recipients by one of the
`RECIPIENTS` keys below (resolved in notices.services), and the outgoing channels it also goes out on (站外通知:
`sms`, `wecom`; see notices/channels.py). The actor is never told what they did themselves: a recipient that is
the acting account, or the acting unit, is left out.

Lights (yellow, overdue), 督办 time limits that passed and registry changes are not case events; their rows are
`LIGHT_RULES`, `SUPERVISE_DUE_RULE` and `REGISTRY_RULE`, used by notices.services.notify_lights,
remind_supervisions and notify_registry_change.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from notices.models import Kind

# Who a rule may name.
RESPONSIBLE_UNIT = "responsible_unit"  # the unit handling the case after the event (its dispatchers)
REPORTER = "reporter"  # the grid worker (or other account) who reported the case
EVENT_UNIT = "event_unit"  # the co-handling unit the event is about (data.unit / data.co_unit / data.task.unit)
ASSIGNER = "assigner"  # the unit that dispatched the case to the responsible unit
FROM_UNIT = "from_unit"  # the unit that held the case before the event (data.from_unit)
RECIPIENTS = (RESPONSIBLE_UNIT, REPORTER, EVENT_UNIT, ASSIGNER, FROM_UNIT)

SMS, WECOM = "sms", "wecom"
CHANNELS = (SMS, WECOM)


@dataclass(frozen=True)
class Rule:
    kind: str
    recipients: tuple[str, ...]
    channels: tuple[str, ...] = (WECOM,)


EVENT_RULES: dict[str, tuple[Rule, ...]] = {
    "report": (Rule(Kind.NEW_CASE, (RESPONSIBLE_UNIT,), (WECOM, SMS)),),
    "dispatch": (Rule(Kind.NEW_CASE, (RESPONSIBLE_UNIT,), (WECOM, SMS)),),  # only when it changed hands (below)
    "return": (Rule(Kind.RETURNED, (RESPONSIBLE_UNIT,), (WECOM, SMS)),),
    "escalate": (Rule(Kind.ESCALATED, (RESPONSIBLE_UNIT,), (WECOM, SMS)),),
    "resolve": (Rule(Kind.TO_VERIFY, (REPORTER,)),),
    "rework": (Rule(Kind.REWORK, (RESPONSIBLE_UNIT,)),),
    "extend": (Rule(Kind.EXTENSION, (ASSIGNER,)),),
    "approve_extension": (Rule(Kind.EXTENSION_DECIDED, (RESPONSIBLE_UNIT,)),),
    "supervise": (Rule(Kind.SUPERVISE, (RESPONSIBLE_UNIT,), (WECOM, SMS)),),
    "cohandle_assign": (Rule(Kind.COHANDLE_TASK, (EVENT_UNIT,), (WECOM, SMS)),),
    "cohandle_feedback": (Rule(Kind.COHANDLE_FEEDBACK, (RESPONSIBLE_UNIT,)),),
    "cohandle_accept": (Rule(Kind.COHANDLE_ACCEPTED, (EVENT_UNIT,)),),
    "cohandle_return": (Rule(Kind.COHANDLE_RETURNED, (EVENT_UNIT,)),),
    "cohandle_release": (Rule(Kind.COHANDLE_RELEASED, (EVENT_UNIT,)),),
}

# Events whose notice is only news when the case changed hands (a dispatch within the unit tells it nothing).
ONLY_WHEN_HANDED_ON = frozenset({"dispatch"})

LIGHT_RULES = {
    "yellow": Rule(Kind.YELLOW, (RESPONSIBLE_UNIT,)),
    "overdue": Rule(Kind.OVERDUE, (RESPONSIBLE_UNIT,), (WECOM, SMS)),
}
# A light is news only for this long after it turned: the first run of the light check on an old database does
# not flood the desks with every case that turned yellow months ago.
LIGHT_WINDOW_HOURS = 24

# A 督办 with a time limit that passed with nothing recorded on the case by the unit holding it: one reminder
# (notices.services.remind_supervisions, on the schedule with the lights).
SUPERVISE_DUE_RULE = Rule(Kind.SUPERVISE_DUE, (RESPONSIBLE_UNIT,), (WECOM, SMS))

REGISTRY_RULE = Rule(Kind.REGISTRY_CHANGE, ("deciding_units",))

# The text of each kind, filled with the notice's params in the reader's language.
TEXTS = {
    Kind.NEW_CASE: _("新案件 %(number)s（%(category)s）派至本单位"),
    Kind.RETURNED: _("回退案件 %(number)s（%(category)s）改派至本单位"),
    Kind.ESCALATED: _("案件 %(number)s（%(category)s）由%(from_unit)s上报至本单位"),
    Kind.TO_VERIFY: _("您上报的案件 %(number)s 已处置，请核查"),
    Kind.REWORK: _("案件 %(number)s 核查未通过，需要返工"),
    Kind.EXTENSION: _("案件 %(number)s 申请延时，待本单位审批"),
    Kind.EXTENSION_DECIDED: _("案件 %(number)s 的延时申请已审批"),
    Kind.SUPERVISE: _("案件 %(number)s 被%(actor_unit)s督办"),
    Kind.SUPERVISE_DUE: _("案件 %(number)s 的督办已到限期（%(due)s），本单位尚未办理"),
    Kind.COHANDLE_TASK: _("案件 %(number)s（%(category)s）需要本单位协办"),
    Kind.COHANDLE_FEEDBACK: _("%(actor_unit)s反馈了案件 %(number)s 的协办情况"),
    Kind.COHANDLE_ACCEPTED: _("案件 %(number)s 的协办反馈已被认可"),
    Kind.COHANDLE_RETURNED: _("案件 %(number)s 的协办反馈被退回"),
    Kind.COHANDLE_RELEASED: _("案件 %(number)s 的协办任务已解除"),
    Kind.YELLOW: _("案件 %(number)s 的%(step)s环节即将到期（黄灯）"),
    Kind.OVERDUE: _("案件 %(number)s 的%(step)s环节已超时（红灯）"),
    Kind.REGISTRY_CHANGE: _("%(worker)s提交了信息采集申请（%(change_kind)s），待审核"),
}

STEP_LABELS = {
    "register": _("立案"),
    "dispatch": _("派遣"),
    "process": _("处置"),
    "verify": _("核查"),
    "close": _("结案"),
}
