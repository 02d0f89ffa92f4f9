"""Shapes of the cases API. Field-level messages in Chinese first."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cases.models import DESK_SOURCES, Case, CaseEvent, Category, Source, State
from cases.selectors import category_tree
from cases.services import allowed_actions
from cases.workflow import COHANDLING, TRANSITIONS, action_label
from gridmgmt import times
from gridmgmt.limits import CASE_PAGE_SIZE, window_start
from grids.coords import CRS_CHOICES
from grids.serializers import (
    BBoxField,
    GeoJSONGeometryField,
    RegionRefSerializer,
    UnitRefSerializer,
    paging_fields,
    sensible_date,
    unit_ref,
)


@extend_schema_field(OpenApiTypes.STR)
class CategoryCodeField(serializers.Field):
    """A category by its code; only active leaves (小类) can be reported against."""

    default_error_messages = {
        "invalid": _("应为类别编码，例如 SJ0102"),
        "unknown": _("未知的案件类别：{code}"),
        "group": _("{code} 是大类，请选择其下的小类"),
    }

    def to_internal_value(self, data) -> Category:
        if not isinstance(data, str) or not 0 < len(data.strip()) <= 16 or "\x00" in data:
            self.fail("invalid")
        code = data.strip()
        tree = category_tree()  # held per process; one tiny query for its stamp
        category = tree.active_by_code.get(code)
        if category is None:
            self.fail("unknown", code=code)
        if category.pk in tree.group_ids:
            self.fail("group", code=code)
        return category

    def to_representation(self, value) -> str:
        return value.code


class CategoryRefSerializer(times.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "code", "name_zh", "name_en", "kind", "default_level"]


class RouteQuerySerializer(serializers.Serializer):
    lon = serializers.FloatField(min_value=-180, max_value=180)
    lat = serializers.FloatField(min_value=-90, max_value=90)
    crs = serializers.ChoiceField(choices=CRS_CHOICES, required=False, default="wgs84")
    category = CategoryCodeField()


class RegionIdsSerializer(serializers.Serializer):
    district = serializers.IntegerField(source="district_id", allow_null=True)
    street = serializers.IntegerField(source="street_id", allow_null=True)
    community = serializers.IntegerField(source="community_id", allow_null=True)
    grid = serializers.IntegerField(source="grid_id", allow_null=True)


class RoutePreviewSerializer(serializers.Serializer):
    category = CategoryRefSerializer()
    lon = serializers.FloatField()
    lat = serializers.FloatField()
    level = serializers.IntegerField()
    regions = RegionIdsSerializer()
    responsible_unit = UnitRefSerializer()
    co_units = UnitRefSerializer(many=True)
    routing_reason = serializers.JSONField()


def route_preview_body(preview: dict) -> dict:
    """RoutePreviewSerializer's answer, made directly (see grids.serializers.unit_ref; a test keeps them equal)."""
    category, regions = preview["category"], preview["regions"]
    return {
        "category": {
            "id": category.pk,
            "code": category.code,
            "name_zh": category.name_zh,
            "name_en": category.name_en,
            "kind": category.kind,
            "default_level": category.default_level,
        },
        "lon": preview["lon"],
        "lat": preview["lat"],
        "level": preview["level"],
        "regions": {
            "district": regions.district_id,
            "street": regions.street_id,
            "community": regions.community_id,
            "grid": regions.grid_id,
        },
        "responsible_unit": unit_ref(preview["responsible_unit"]),
        "co_units": [unit_ref(unit) for unit in preview["co_units"]],
        "routing_reason": preview["routing_reason"],
    }


# --- Intake ---------------------------------------------------------------------------------


class AttachmentsField(serializers.ListField):
    """Photos by content hash, at most 20: each one the caller uploaded (POST /api/mobile/v1/photos) or one already
    on the case (cases.services checks)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("child", serializers.CharField(max_length=255))
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("required", False)
        kwargs.setdefault("default", list)
        super().__init__(**kwargs)


class CaseCreateSerializer(serializers.Serializer):
    category = CategoryCodeField()
    location = GeoJSONGeometryField(geom_type="Point", required=False, help_text=_("GeoJSON 点；或用 lon/lat"))
    lon = serializers.FloatField(required=False, min_value=-180, max_value=180)
    lat = serializers.FloatField(required=False, min_value=-90, max_value=90)
    crs = serializers.ChoiceField(choices=CRS_CHOICES, required=False, default="wgs84")
    description = serializers.CharField(max_length=2000, trim_whitespace=True)
    address = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)
    captured_at = times.DateTimeField(required=False)
    source = serializers.ChoiceField(choices=[(s.value, s.label) for s in DESK_SOURCES], default="desk")
    level = serializers.IntegerField(required=False, min_value=1, max_value=4)
    client_uuid = serializers.UUIDField(required=False)
    external_ref = serializers.CharField(max_length=64, required=False, default="", allow_blank=True)
    attachments = AttachmentsField()
    caller_name = serializers.CharField(max_length=64, required=False, default="", allow_blank=True)
    caller_phone = serializers.CharField(
        max_length=32, required=False, default="", allow_blank=True,
        help_text=_("来电人电话：加密保存，默认脱敏显示"),
    )  # fmt: skip

    def validate_caller_phone(self, value: str) -> str:
        from django.core.exceptions import ValidationError

        from grids import pii

        if not value.strip():
            return ""
        try:
            return pii.normalize_phone(value)
        except ValidationError:
            raise serializers.ValidationError(_("电话号码格式不正确：应为11位手机号或带区号的固定电话")) from None

    def validate(self, attrs):
        from django.utils import timezone

        has_point = "location" in attrs
        has_lonlat = "lon" in attrs or "lat" in attrs
        if has_point and has_lonlat:
            raise serializers.ValidationError({"location": [_("location 与 lon/lat 只能给一种")]})
        if not has_point:
            missing = {name: [_("缺少位置：请给 location（GeoJSON 点）或 lon 与 lat")] for name in ("lon", "lat")}
            missing = {name: message for name, message in missing.items() if name not in attrs}
            if len(missing) == 2:
                raise serializers.ValidationError({"location": missing["lon"]})
            if missing:
                raise serializers.ValidationError(missing)
            attrs["location"] = (attrs.pop("lon"), attrs.pop("lat"))
        captured = attrs.get("captured_at")
        if captured is not None and captured > timezone.now() + timezone.timedelta(minutes=10):
            raise serializers.ValidationError({"captured_at": [_("采集时间不能晚于当前时间")]})
        return attrs


# --- Transitions ----------------------------------------------------------------------------


class TransitionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=sorted([*TRANSITIONS, *COHANDLING]))
    version = serializers.IntegerField(min_value=1)
    note = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)
    unit = serializers.IntegerField(required=False, allow_null=True, default=None)
    attachments = AttachmentsField()
    hours = serializers.FloatField(required=False, min_value=0.1, max_value=720)
    approved = serializers.BooleanField(required=False, default=True)
    score = serializers.IntegerField(required=False, min_value=1, max_value=5)
    target = serializers.IntegerField(required=False, min_value=1)
    task = serializers.IntegerField(
        required=False, min_value=1, help_text="the co-handling task, for the cohandle_* actions"
    )
    due_at = times.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="督办限期, for supervise only: if the unit holding the case has not acted on it by then, it is "
        "reminded once",
    )

    def validate(self, attrs):
        action = attrs["action"]
        if action in COHANDLING and "task" not in attrs:
            raise serializers.ValidationError({"task": [_("请指定协办任务")]})
        if action not in COHANDLING and "task" in attrs:
            raise serializers.ValidationError({"task": [_("只有协办操作可以指定协办任务")]})
        if action == "extend" and "hours" not in attrs:
            raise serializers.ValidationError({"hours": [_("申请延时需填写工作小时数")]})
        if action == "evaluate" and "score" not in attrs:
            raise serializers.ValidationError({"score": [_("评价需给出1到5分")]})
        if action == "close_on_spot" and not attrs["attachments"]:
            raise serializers.ValidationError({"attachments": [_("就地解决需要附处置后照片")]})
        if attrs.get("due_at") is not None and action != "supervise":
            raise serializers.ValidationError({"due_at": [_("只有督办可以指定限期")]})
        if attrs.get("unit") is not None and action != "dispatch":
            raise serializers.ValidationError({"unit": [_("只有派遣可以指定单位")]})
        return attrs


# --- Reading cases --------------------------------------------------------------------------


class CommaListField(serializers.CharField):
    """`a,b,c` → a list of validated choices."""

    def __init__(self, *, choices, child=str, **kwargs):
        self.allowed = {child(choice) for choice in choices}
        self.child = child
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        try:
            values = [self.child(part.strip()) for part in text.split(",") if part.strip()]
        except ValueError:
            raise serializers.ValidationError(_("无效的取值：%(value)s") % {"value": text}) from None
        unknown = [str(value) for value in values if value not in self.allowed]
        if unknown:
            raise serializers.ValidationError(
                _("无效的取值：%(values)s；可用：%(allowed)s")
                % {"values": ", ".join(unknown), "allowed": ", ".join(sorted(map(str, self.allowed)))}
            )
        return values


class AnyCategoryCodeField(CategoryCodeField):
    """A category by code, group or leaf (lists match its descendants)."""

    def to_internal_value(self, data) -> Category:
        if not isinstance(data, str) or not 0 < len(data.strip()) <= 16 or "\x00" in data:
            self.fail("invalid")
        category = Category.objects.filter(code=data.strip()).first()
        if category is None:
            self.fail("unknown", code=data.strip())
        return category


class CaseListQuerySerializer(serializers.Serializer):
    state = CommaListField(choices=State.values)
    light = CommaListField(choices=["green", "yellow", "red"])
    category = AnyCategoryCodeField(required=False)
    level = CommaListField(choices=[1, 2, 3, 4], child=int)
    source = CommaListField(choices=Source.values)
    unit = serializers.CharField(required=False, max_length=32)
    street = serializers.CharField(required=False, max_length=15)
    community = serializers.CharField(required=False, max_length=15)
    grid = serializers.CharField(required=False, max_length=15)
    received_from = serializers.DateField(required=False, validators=[sensible_date])
    received_to = serializers.DateField(required=False, validators=[sensible_date])
    in_bbox = BBoxField(required=False)
    duplicate = serializers.BooleanField(required=False, allow_null=True, default=None)
    page, page_size = paging_fields(
        default_size=100,
        max_size=CASE_PAGE_SIZE,
        size_help=_("每页案件数，默认 100，最多 1000。Cases per page (default 100, at most 1000)."),
    )

    def validate(self, attrs):
        start, end = attrs.get("received_from"), attrs.get("received_to")
        if start and end and end < start:
            raise serializers.ValidationError({"received_to": [_("结束日期不能早于开始日期")]})
        return attrs


class CaseEventSerializer(times.ModelSerializer):
    actor = serializers.SerializerMethodField()
    unit = UnitRefSerializer(allow_null=True)
    action_label = serializers.SerializerMethodField()

    class Meta:
        model = CaseEvent
        fields = [
            "id",
            "action",
            "action_label",
            "actor",
            "unit",
            "from_state",
            "to_state",
            "note",
            "attachments",
            "data",
            "created_at",
        ]

    def get_actor(self, event: CaseEvent) -> str | None:
        return event.actor.get_username() if event.actor_id else None

    def get_action_label(self, event: CaseEvent) -> str:
        return _(action_label(event.action))


class CaseRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()


class CoHandlingTaskSerializer(serializers.Serializer):
    """A co-handling unit's task on the case, its light (while the unit owes its feedback) and what you may do."""

    id = serializers.IntegerField()
    unit = UnitRefSerializer()
    state = serializers.CharField()
    state_label = serializers.CharField(source="get_state_display")
    assigned_at = times.DateTimeField()
    limit_hours = serializers.FloatField()
    due_at = times.DateTimeField()
    light = serializers.SerializerMethodField()
    feedback_note = serializers.CharField()
    feedback_photos = serializers.ListField(child=serializers.CharField())
    submitted_at = times.DateTimeField(allow_null=True)
    decided_at = times.DateTimeField(allow_null=True)
    decision_note = serializers.CharField()
    allowed_actions = serializers.SerializerMethodField()

    def get_light(self, task) -> str | None:
        from cases.selectors import task_light

        return task_light(task)

    def get_allowed_actions(self, task) -> list[str]:
        from cases.services import task_actions

        actor = self.context.get("actor")
        return task_actions(task, task.case, actor) if actor is not None else []


class CaseDetailSerializer(times.ModelSerializer):
    location = serializers.SerializerMethodField()
    category = CategoryRefSerializer()
    responsible_unit = UnitRefSerializer()
    co_units = UnitRefSerializer(many=True)
    assigned_by_unit = UnitRefSerializer(allow_null=True)
    street = RegionRefSerializer(allow_null=True)
    community = RegionRefSerializer(allow_null=True)
    grid = RegionRefSerializer(allow_null=True)
    reporter = serializers.SerializerMethodField()
    extra_reporters = serializers.SerializerMethodField()
    duplicate_of = CaseRefSerializer(allow_null=True)
    state_label = serializers.CharField(source="get_state_display")
    light = serializers.CharField(allow_null=True)
    allowed_actions = serializers.SerializerMethodField()
    cohandling_tasks = CoHandlingTaskSerializer(many=True)
    events = CaseEventSerializer(many=True)

    class Meta:
        model = Case
        fields = [
            "id",
            "number",
            "state",
            "state_label",
            "version",
            "level",
            "category",
            "description",
            "address",
            "location",
            "source",
            "reporter",
            "extra_reporters",
            "external_ref",
            "client_uuid",
            "captured_at",
            "received_at",
            "responsible_unit",
            "co_units",
            "assigned_by_unit",
            "street",
            "community",
            "grid",
            "routing_reason",
            "step",
            "step_started_at",
            "step_limit_hours",
            "step_yellow_at",
            "step_deadline_at",
            "deadline_at",
            "light",
            "suspended_at",
            "suspended_hours",
            "resume_state",
            "extension_requested_hours",
            "extended_hours",
            "closed_as",
            "closed_at",
            "evaluation",
            "duplicate_of",
            "allowed_actions",
            "cohandling_tasks",
            "events",
            "created_at",
            "updated_at",
        ]

    def get_location(self, case: Case) -> dict:
        return {"type": "Point", "coordinates": [round(case.point.x, 7), round(case.point.y, 7)]}

    def get_reporter(self, case: Case) -> str | None:
        return case.reporter.get_username() if case.reporter_id else None

    def get_extra_reporters(self, case: Case) -> list[str]:
        return sorted(user.get_username() for user in case.extra_reporters.all())

    def get_allowed_actions(self, case: Case) -> list[str]:
        actor = self.context.get("actor")
        return allowed_actions(case, actor) if actor is not None else []


# --- Statistics -----------------------------------------------------------------------------


class StatsQuerySerializer(serializers.Serializer):
    """A region (by code, or by level and id; default the district) and a period of dates, both ends included."""

    region = serializers.CharField(required=False, max_length=15, help_text=_("区划或网格编码，例如 510403001"))
    level = serializers.ChoiceField(choices=["district", "street", "community", "grid"], required=False)
    id = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # `from` and `to` are the public names (Python keywords, so not class attributes).
        self.fields["from"] = serializers.DateField(
            required=False, source="date_from", help_text=_("起始日期（含），默认本月1日；趋势默认12个月")
        )
        self.fields["to"] = serializers.DateField(
            required=False, source="date_to", help_text=_("截止日期（含），默认今天")
        )

    def validate(self, attrs):
        if "id" in attrs and "level" not in attrs:
            raise serializers.ValidationError({"level": [_("按编号指定区域时需给出层级 level")]})
        if "id" in attrs and "region" in attrs:
            raise serializers.ValidationError({"region": [_("region 与 id 只能给一种")]})
        start, end = attrs.get("date_from"), attrs.get("date_to")
        for name, value in (("from", start), ("to", end)):
            if value is not None and not 2000 <= value.year <= 2100:
                raise serializers.ValidationError({name: [_("日期应在2000年至2100年之间")]})
        if start and end and end < start:
            raise serializers.ValidationError({"to": [_("结束日期不能早于开始日期")]})
        window_start(start, end, field="from")
        return attrs
