"""Cases: categories (分级分类), routing rules (归口办理), the case with its event history, and the working calendar.

Writes go through `cases.services`; the allowed transitions live in `cases.workflow`.
"""

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GistIndex
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from grids.models import SRID, Community, Grid, Street, Unit, UnitType

# The steps of the cycle whose time is limited, in the order a case meets them.
STEPS = ("register", "dispatch", "process", "verify", "close")
REQUIRED_STEPS = ("register", "dispatch", "process", "verify")
DEFAULT_CLOSE_HOURS = 4
MAX_STEP_HOURS = 2000


def validate_time_limits(value) -> None:
    """{"register": 2, "dispatch": 2, "process": 48, "verify": 8[, "close": 4]}: working hours per step."""
    if not isinstance(value, dict):
        raise ValidationError(_('时限应为对象，例如 {"register": 2, "dispatch": 2, "process": 48, "verify": 8}'))
    unknown = sorted(set(value) - set(STEPS))
    if unknown:
        raise ValidationError(
            _("未知环节：%(steps)s；可用：%(known)s"), params={"steps": ", ".join(unknown), "known": ", ".join(STEPS)}
        )
    missing = [step for step in REQUIRED_STEPS if step not in value]
    if missing:
        raise ValidationError(_("缺少环节时限：%(steps)s"), params={"steps": ", ".join(missing)})
    for step, hours in value.items():
        if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not 0 < hours <= MAX_STEP_HOURS:
            raise ValidationError(
                _("环节 %(step)s 的时限应为 0 到 %(max)s 之间的工作小时数"),
                params={"step": step, "max": MAX_STEP_HOURS},
            )


class CategoryKind(models.TextChoices):
    COMPONENT = "component", _("部件")
    EVENT = "event", _("事件")
    SOCIAL = "social", _("社会治理")


class Category(models.Model):
    """A node of the category tree (GB/T 30428.2 部件/事件 大类 → 小类, plus social-governance kinds).

    Only leaves (小类) are reported against; handling unit types and time limits matter on leaves.
    """

    code = models.CharField(_("编码"), max_length=16, unique=True)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("上级类别")
    )
    name_zh = models.CharField(_("名称"), max_length=64)
    name_en = models.CharField(_("英文名称"), max_length=128, blank=True, default="")
    kind = models.CharField(_("类型"), max_length=16, choices=CategoryKind.choices)
    default_level = models.PositiveSmallIntegerField(_("默认等级"), default=2)
    handling_unit_type = models.CharField(
        _("主办单位类型"), max_length=20, choices=UnitType.choices, blank=True, default=""
    )
    co_unit_types = ArrayField(
        models.CharField(max_length=20, choices=UnitType.choices),
        verbose_name=_("协办单位类型"),
        default=list,
        blank=True,
    )
    time_limits = models.JSONField(
        _("各环节时限（工作小时）"), default=dict, blank=True, validators=[validate_time_limits]
    )
    register_conditions = models.TextField(_("立案条件"), blank=True, default="")
    close_conditions = models.TextField(_("结案条件"), blank=True, default="")
    after_photo_required = models.BooleanField(
        _("处置反馈须附处置后照片"), default=False, help_text=_("主办单位处置反馈时必须上传处置后照片")
    )
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("案件类别")
        verbose_name_plural = _("案件类别")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(default_level__gte=1, default_level__lte=4), name="category_level_1_4"),
            models.CheckConstraint(condition=~Q(parent=models.F("id")), name="category_not_own_parent"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh}"

    def clean(self) -> None:
        if self.time_limits:
            validate_time_limits(self.time_limits)
        if self.handling_unit_type and self.handling_unit_type in self.co_unit_types:
            raise ValidationError({"co_unit_types": _("协办单位类型不能包含主办单位类型")})

    @property
    def is_leaf(self) -> bool:
        return not self.children.exists()

    def limit_hours(self, step: str) -> float:
        """Working hours allowed for a step; categories without limits fall back to their ancestors, then defaults."""
        node = self
        while node is not None:
            if node.time_limits and step in node.time_limits:
                return float(node.time_limits[step])
            node = node.parent
        return float(FALLBACK_TIME_LIMITS[step])


FALLBACK_TIME_LIMITS = {"register": 2, "dispatch": 2, "process": 40, "verify": 8, "close": DEFAULT_CLOSE_HOURS}


class RuleRole(models.TextChoices):
    RESPONSIBLE = "responsible", _("主办")
    CO_HANDLING = "co_handling", _("协办")


class RoutingRule(models.Model):
    """Category (or a group: a non-leaf matches its descendants) + optional region → a unit type (or one unit).

    The resolver takes the most specific rule whose unit covers the point: a rule on a nearer category first,
    then a rule with a region before one without, then the higher priority.
    """

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="rules", verbose_name=_("类别"))
    street = models.ForeignKey(
        Street, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("限于街道")
    )
    community = models.ForeignKey(
        Community, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("限于社区")
    )
    area = models.MultiPolygonField(_("限于范围"), srid=SRID, null=True, blank=True)
    unit_type = models.CharField(_("单位类型"), max_length=20, choices=UnitType.choices)
    unit = models.ForeignKey(
        Unit,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("指定单位"),
        help_text=_("留空则取该类型中辖区覆盖案发点的单位"),
    )
    role = models.CharField(_("角色"), max_length=16, choices=RuleRole.choices, default=RuleRole.RESPONSIBLE)
    priority = models.SmallIntegerField(_("优先级"), default=0, help_text=_("同等具体程度时，数值大者优先"))
    active = models.BooleanField(_("启用"), default=True)
    # Rules derived from the category's handling/co-handling unit types; the loader keeps them in step.
    is_default = models.BooleanField(_("由类别生成"), default=False, editable=False)
    note = models.CharField(_("说明"), max_length=255, blank=True, default="")

    class Meta:
        verbose_name = _("派遣规则")
        verbose_name_plural = _("派遣规则")
        ordering = ["category__code", "role", "-priority", "id"]
        indexes = [models.Index(fields=["category", "active"], name="routingrule_category_active")]
        constraints = [
            models.CheckConstraint(
                condition=Q(street__isnull=True) | Q(community__isnull=True), name="routingrule_one_region_fk"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category.code} → {self.get_unit_type_display()} ({self.get_role_display()})"

    def clean(self) -> None:
        if self.unit_id and self.unit.type != self.unit_type:
            raise ValidationError({"unit": _("指定单位的类型与规则的单位类型不一致")})


class UnitArea(models.Model):
    """Pieces of each unit's jurisdiction (ST_Subdivide, 64 vertices), kept by a trigger on grids_unit.

    Point-in-jurisdiction tests run on these small pieces with the spatial index (after mysociety/mapit).
    """

    unit = models.ForeignKey(
        Unit, on_delete=models.CASCADE, related_name="+", db_constraint=True, verbose_name=_("单位")
    )
    unit_type = models.CharField(max_length=20, choices=UnitType.choices, verbose_name=_("单位类型"))
    unit_area = models.FloatField(
        help_text="area of the whole jurisdiction in m²; the smaller unit wins a tie", verbose_name=_("辖区")
    )
    geom = models.PolygonField(srid=SRID, spatial_index=True, verbose_name=_("辖区切片"))

    class Meta:
        verbose_name = _("单位辖区切片")
        verbose_name_plural = _("单位辖区切片")
        indexes = [models.Index(fields=["unit_type"], name="unitarea_unit_type")]


class CalendarDay(models.Model):
    """An exception to the weekday rule (Mon–Fri work): a public holiday, or a make-up working day (调休)."""

    date = models.DateField(_("日期"), unique=True)
    is_workday = models.BooleanField(_("工作日"))
    name = models.CharField(_("名称"), max_length=64, blank=True, default="")

    class Meta:
        verbose_name = _("工作日历")
        verbose_name_plural = _("工作日历")
        ordering = ["date"]

    def __str__(self) -> str:
        kind = _("上班") if self.is_workday else _("放假")
        return f"{self.date} {self.name} {kind}"


class CaseCounter(models.Model):
    """Per-day sequence behind case numbers (XQ-YYYYMMDD-NNNNN), advanced by an atomic upsert."""

    day = models.DateField(primary_key=True, verbose_name=_("日期"))
    n = models.PositiveIntegerField(default=0, verbose_name=_("当日序号"))

    class Meta:
        verbose_name = _("案件编号计数")
        verbose_name_plural = _("案件编号计数")


class State(models.TextChoices):
    REPORTED = "reported", _("已上报")
    REGISTERED = "registered", _("已立案")
    DISPATCHED = "dispatched", _("已派遣")
    PROCESSING = "processing", _("处置中")
    RESOLVED = "resolved", _("已处置")
    VERIFIED = "verified", _("已核查")
    CLOSED = "closed", _("已结案")
    REJECTED = "rejected", _("不予立案")
    RETURNED = "returned", _("已回退")
    SUSPENDED = "suspended", _("挂账")
    ESCALATED = "escalated", _("已上报上级")


class Source(models.TextChoices):
    HANDHELD = "handheld", _("网格员上报")
    DESK = "desk", _("窗口受理")
    HOTLINE = "hotline", _("热线")
    OPEN311 = "open311", _("Open311")
    VISIT = "visit", _("来访")
    LETTER = "letter", _("来信")
    ONLINE = "online", _("网络")


# Sources a desk takes a case from (一窗受理): the caller, not the dispatcher, reported it (except at the window).
DESK_SOURCES = (Source.HOTLINE, Source.VISIT, Source.LETTER, Source.ONLINE, Source.DESK)


class ClosedAs(models.TextChoices):
    NONE = "", _("—")
    NORMAL = "normal", _("正常结案")
    ON_SPOT = "on_spot", _("就地解决")
    MERGED = "merged", _("合并结案")


class Case(models.Model):
    number = models.CharField(_("案件编号"), max_length=24, unique=True, editable=False)
    point = models.PointField(_("位置"), srid=SRID, spatial_index=True)
    address = models.CharField(_("地址"), max_length=255, blank=True, default="")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="cases", verbose_name=_("类别"))
    level = models.PositiveSmallIntegerField(_("等级"))
    description = models.TextField(_("描述"))
    source = models.CharField(_("来源"), max_length=16, choices=Source.choices)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reported_cases",
        verbose_name=_("上报人"),
    )
    extra_reporters = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="merged_reports", verbose_name=_("合并案件上报人")
    )
    external_ref = models.CharField(_("外部单号"), max_length=64, blank=True, default="")
    # The caller of a desk intake (一窗受理). The phone is protected as residents' phones are (grids/pii.py):
    # a Fernet token, a keyed digest for exact search, and a mask for display; the plain value is never stored.
    # Defaults in the database too, so that bulk loads naming only the other columns (the demo's COPY) stay valid.
    caller_name = models.CharField(_("来电/来访人"), max_length=64, blank=True, default="", db_default="")
    caller_phone_cipher = models.TextField(_("来电人电话密文"), blank=True, default="", db_default="", editable=False)
    caller_phone_digest = models.CharField(
        _("来电人电话摘要"), max_length=64, blank=True, default="", db_default="", editable=False
    )
    caller_phone_masked = models.CharField(
        _("联系电话"), max_length=20, blank=True, default="", db_default="", editable=False
    )
    client_uuid = models.UUIDField(_("客户端标识"), null=True, blank=True, unique=True, editable=False)
    intake_digest = models.CharField(
        max_length=64, blank=True, default="", editable=False, verbose_name=_("受理内容摘要")
    )
    captured_at = models.DateTimeField(_("采集时间"))
    received_at = models.DateTimeField(_("接收时间"), default=timezone.now)

    responsible_unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="cases", verbose_name=_("主办单位")
    )
    co_units = models.ManyToManyField(Unit, blank=True, related_name="co_cases", verbose_name=_("协办单位"))
    # The unit whose dispatcher last dispatched the case elsewhere; it approves extensions with the command centre.
    assigned_by_unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("派遣单位")
    )
    street = models.ForeignKey(
        Street, on_delete=models.PROTECT, null=True, blank=True, related_name="cases", verbose_name=_("街道")
    )
    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, null=True, blank=True, related_name="cases", verbose_name=_("社区")
    )
    grid = models.ForeignKey(
        Grid, on_delete=models.PROTECT, null=True, blank=True, related_name="cases", verbose_name=_("网格")
    )
    routing_reason = models.JSONField(_("派遣依据"), default=dict, blank=True)
    # The reporter solved it on the spot (level 1): the case closes when the after-photo arrives.
    resolved_on_site = models.BooleanField(_("现场已解决"), default=False)

    state = models.CharField(_("状态"), max_length=16, choices=State.choices, default=State.REPORTED)
    resume_state = models.CharField(_("恢复后状态"), max_length=16, choices=State.choices, blank=True, default="")
    closed_as = models.CharField(_("结案方式"), max_length=16, choices=ClosedAs.choices, blank=True, default="")
    version = models.PositiveIntegerField(_("版本"), default=1)

    # The running step and its clock; the light is a comparison of now() with these (see selectors.LIGHT).
    step = models.CharField(_("当前环节"), max_length=16, blank=True, default="")
    step_seq = models.PositiveIntegerField(default=1, editable=False, verbose_name=_("环节序号"))
    step_started_at = models.DateTimeField(_("环节开始"), null=True, blank=True)
    step_limit_hours = models.FloatField(_("环节时限（工作小时）"), null=True, blank=True)
    step_paused_hours = models.FloatField(default=0, editable=False, verbose_name=_("环节暂停工作小时"))
    step_yellow_at = models.DateTimeField(_("黄灯时间"), null=True, blank=True)
    step_deadline_at = models.DateTimeField(_("环节期限"), null=True, blank=True)
    deadline_at = models.DateTimeField(_("案件期限"), null=True, blank=True)
    suspended_at = models.DateTimeField(_("挂账时间"), null=True, blank=True)
    suspended_hours = models.FloatField(_("累计挂账（工作小时）"), default=0)
    extension_requested_hours = models.FloatField(_("待批延时（工作小时）"), null=True, blank=True)
    extended_hours = models.FloatField(_("已批延时（工作小时）"), default=0)
    # The step_seq that escalate_overdue has already handled, so that running it again changes nothing.
    overdue_handled_seq = models.PositiveIntegerField(
        null=True, blank=True, editable=False, verbose_name=_("已处理超时的环节序号")
    )
    evaluation = models.PositiveSmallIntegerField(_("评价"), null=True, blank=True)

    duplicate_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="duplicates", verbose_name=_("疑似重复")
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("案件")
        verbose_name_plural = _("案件")
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["state", "responsible_unit"], name="case_state_unit"),
            models.Index(fields=["received_at"], name="case_received_at"),
            models.Index(fields=["category", "received_at"], name="case_category_received"),
            models.Index(fields=["step_deadline_at"], name="case_step_deadline"),
            # Cases by their caller's phone (keyed digest): only the few that have one are indexed.
            models.Index(
                fields=["caller_phone_digest"], name="case_caller_phone_digest", condition=~Q(caller_phone_digest="")
            ),
            # Duplicate search measures in metres on the geography of the point.
            GistIndex(Cast("point", output_field=models.PointField(srid=SRID, geography=True)), name="case_point_geog"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(level__gte=1, level__lte=4), name="case_level_1_4"),
            models.CheckConstraint(condition=Q(version__gte=1), name="case_version_positive"),
            models.CheckConstraint(condition=~Q(duplicate_of=models.F("id")), name="case_not_own_duplicate"),
            models.CheckConstraint(
                condition=Q(evaluation__isnull=True) | Q(evaluation__gte=1, evaluation__lte=5),
                name="case_evaluation_1_5",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class CaseEvent(models.Model):
    """One step in a case's history. Append-only: a trigger refuses UPDATE and DELETE."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events", verbose_name=_("案件"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人"),
        help_text=_("空表示系统"),
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("操作单位")
    )
    action = models.CharField(_("动作"), max_length=32)
    from_state = models.CharField(_("原状态"), max_length=16, blank=True, default="")
    to_state = models.CharField(_("新状态"), max_length=16, blank=True, default="")
    note = models.TextField(_("意见"), blank=True, default="")
    attachments = models.JSONField(_("附件"), default=list, blank=True)
    data = models.JSONField(_("数据"), default=dict, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("案件流转记录")
        verbose_name_plural = _("案件流转记录")
        ordering = ["case_id", "created_at", "id"]
        indexes = [
            models.Index(fields=["case", "created_at"], name="caseevent_case_time"),
            # The statistics read a period's events (cases/stats.py).
            models.Index(fields=["created_at"], name="caseevent_created_at"),
            # A unit keeps sight of the cases it escalated (selectors.escalated_by).
            models.Index(
                KeyTransform("from_unit", "data"), condition=Q(action="escalate"), name="caseevent_escalated_from"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.action} {self.from_state}→{self.to_state}"


class TaskState(models.TextChoices):
    OPEN = "open", _("待反馈")
    SUBMITTED = "submitted", _("已反馈")
    ACCEPTED = "accepted", _("已验收")
    RETURNED = "returned", _("已退回")
    RELEASED = "released", _("已解除")


class CoHandlingTask(models.Model):
    """One co-handling (协办) unit's share of a case: made when the case is dispatched, answered by the unit with a
    note and photos, accepted or sent back by the lead unit, or released by it. Its transitions are the table
    `cases.workflow.COHANDLING`; every step is also a CaseEvent (cohandle_*)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="cohandling_tasks", verbose_name=_("案件"))
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="cohandling_tasks", verbose_name=_("协办单位")
    )
    state = models.CharField(_("状态"), max_length=16, choices=TaskState.choices, default=TaskState.OPEN)
    assigned_at = models.DateTimeField(_("派发时间"))
    limit_hours = models.FloatField(_("时限（工作小时）"))
    yellow_at = models.DateTimeField(_("黄灯时间"))
    due_at = models.DateTimeField(_("办理期限"))
    feedback_note = models.TextField(_("反馈意见"), blank=True, default="")
    feedback_photos = models.JSONField(_("反馈照片"), default=list, blank=True)
    submitted_at = models.DateTimeField(_("反馈时间"), null=True, blank=True)
    decided_at = models.DateTimeField(_("验收/退回/解除时间"), null=True, blank=True)
    decision_note = models.TextField(_("主办单位意见"), blank=True, default="")
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("协办任务")
        verbose_name_plural = _("协办任务")
        ordering = ["case_id", "assigned_at", "id"]
        constraints = [models.UniqueConstraint(fields=["case", "unit"], name="cohandlingtask_once_per_unit")]
        indexes = [models.Index(fields=["unit", "state"], name="cohandlingtask_unit_state")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.unit_id} {self.state}"
