import base64
from datetime import date, datetime, timedelta

from django.contrib.gis.geos import LineString
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cases.serializers import CategoryCodeField
from gridmgmt import times
from grids import pii
from grids.coords import CRS_CHOICES, to_wgs84_point
from grids.models import CareTag, ChangeKind, ChangeState, Grid, HouseholdType, Residency, Sex, UnitType
from grids.serializers import GeoJSONGeometryField
from mobileapi.models import PhotoKind
from mobileapi.photos import MAX_BYTES


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})
    device_id = serializers.CharField(max_length=128, required=False, default="api")


class GridRefSerializer(times.ModelSerializer):
    community = serializers.CharField(source="community.name")

    class Meta:
        model = Grid
        fields = ["id", "code", "name", "community"]


class UnitBriefSerializer(serializers.Serializer):
    """A unit in brief. Declared field by field as a ModelSerializer would derive them from Unit: every report
    answered builds it twice, and deriving the fields from the model each time costs more than the answer."""

    id = serializers.IntegerField(read_only=True)
    code = serializers.CharField(max_length=32)
    name = serializers.CharField(max_length=128)
    type = serializers.ChoiceField(choices=UnitType.choices)


class WorkerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()
    role = serializers.CharField(allow_null=True)
    units = UnitBriefSerializer(many=True)
    grids = GridRefSerializer(many=True)


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()
    expires_at = times.DateTimeField()
    worker = WorkerSerializer()


def positions_to_wgs84(positions: list[tuple[float, float]], crs: str) -> list[tuple[float, float]]:
    return [to_wgs84_point(lon, lat, crs).coords for lon, lat in positions]


class PatrolRequestSerializer(serializers.Serializer):
    client_uuid = serializers.UUIDField()
    track = GeoJSONGeometryField(geom_type="LineString")
    crs = serializers.ChoiceField(choices=CRS_CHOICES, default="wgs84")
    started_at = times.DateTimeField()
    ended_at = times.DateTimeField()

    def validate(self, data):
        if data["ended_at"] < data["started_at"]:
            raise serializers.ValidationError({"ended_at": "结束时间早于开始时间。ended_at is before started_at."})
        if data["started_at"] > timezone.now() + timedelta(minutes=10):
            raise serializers.ValidationError({"started_at": "开始时间在将来。started_at is in the future."})
        line = LineString(positions_to_wgs84(data.pop("track"), data.pop("crs")), srid=4326)
        if line.length == 0:
            raise serializers.ValidationError({"track": "轨迹长度为零。The track has no length."})
        data["track"] = line
        return data


class PatrolSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    client_uuid = serializers.UUIDField()
    grid = GridRefSerializer()
    started_at = times.DateTimeField()
    ended_at = times.DateTimeField()
    length_m = serializers.FloatField()
    coverage = serializers.FloatField(help_text="share of the grid's area within 25 m of the track, 0–1")


# --- Reports ---------------------------------------------------------------------------------

REPORT_MAX_AGE = timedelta(days=30)
CLOCK_SKEW = timedelta(minutes=10)


class ReportRequestSerializer(serializers.Serializer):
    client_uuid = serializers.UUIDField()
    category = CategoryCodeField()
    level = serializers.IntegerField(required=False, min_value=1, max_value=4)
    description = serializers.CharField(max_length=2000)
    location = GeoJSONGeometryField(geom_type="Point")
    crs = serializers.ChoiceField(choices=CRS_CHOICES, default="wgs84")
    address = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)
    captured_at = times.DateTimeField()
    resolved_on_site = serializers.BooleanField(default=False)

    def validate_captured_at(self, value):
        now = timezone.now()
        if value > now + CLOCK_SKEW:
            raise serializers.ValidationError("采集时间在将来，请校准终端时钟。captured_at is in the future.")
        if value < now - REPORT_MAX_AGE:
            raise serializers.ValidationError("采集时间早于30天前。captured_at is more than 30 days ago.")
        return value

    def validate(self, data):
        (lon, lat), crs = data.pop("location"), data.pop("crs")
        data["point"] = to_wgs84_point(lon, lat, crs)
        level = data.get("level") or data["category"].default_level
        if data["resolved_on_site"] and level != 1:
            raise serializers.ValidationError(
                {"resolved_on_site": "只有一级（就地解决）案件可现场办结。Only level-1 cases are solved on the spot."}
            )
        return data


class ReportSerializer(serializers.Serializer):
    """What a handheld learns about its report: where it went, its deadline and its light."""

    id = serializers.IntegerField()
    client_uuid = serializers.UUIDField(allow_null=True)  # null on tasks for cases taken at a desk
    case_no = serializers.CharField(source="number")
    state = serializers.CharField()
    category = serializers.CharField(source="category.code")
    level = serializers.IntegerField()
    unit = UnitBriefSerializer(source="responsible_unit")
    co_units = UnitBriefSerializer(many=True)
    deadline = times.DateTimeField(source="deadline_at", allow_null=True)
    step_deadline = times.DateTimeField(source="step_deadline_at", allow_null=True)
    light = serializers.CharField(allow_null=True)
    duplicate_of = serializers.SerializerMethodField()
    received_at = times.DateTimeField()
    captured_at = times.DateTimeField()
    updated_at = times.DateTimeField()

    def get_duplicate_of(self, case) -> dict | None:
        original = case.duplicate_of
        return {"id": original.pk, "case_no": original.number} if original else None


class ReportStepSerializer(serializers.Serializer):
    """One step of a report's case as its reporter sees it: when, what, and which unit acted."""

    at = times.DateTimeField()
    action = serializers.CharField(help_text="the workflow's action, e.g. `report`, `register`, `dispatch`")
    label = serializers.CharField(help_text="the action in Chinese, e.g. 上报, 立案, 派遣")
    unit = serializers.CharField(source="unit_name", allow_null=True, help_text="the acting unit's name")


class ReportListItemSerializer(ReportSerializer):
    """A report in the worker's list: its current state and the steps of its case so far."""

    steps = ReportStepSerializer(
        many=True,
        help_text="the case's state changes, oldest first (the last 12): time, action and acting unit; no names "
        "of people and no notes",
    )


# One ReportSerializer answers every report POST of the process: building its fields costs more than using them,
# and representing a report only reads them (no state is kept between calls).
_REPORT_SERIALIZER = ReportSerializer()


def report_body(report) -> dict:
    """ReportSerializer(report).data, without building the serializer's fields again."""
    return _REPORT_SERIALIZER.to_representation(report)


@extend_schema_field(OpenApiTypes.STR)
class ReportCursorField(serializers.Field):
    """Where a page of the reports list ended: the last report's (updated_at, id), opaque to clients."""

    default_error_messages = {
        "invalid": "无效的游标，请使用上一页 Link 头中的地址。Invalid cursor: follow the Link header."
    }

    def to_representation(self, value: tuple[datetime, int]) -> str:
        changed, pk = value
        return base64.urlsafe_b64encode(f"{changed.isoformat()}|{pk}".encode()).decode().rstrip("=")

    def to_internal_value(self, data) -> tuple[datetime, int]:
        try:
            text = base64.urlsafe_b64decode(str(data) + "=" * (-len(str(data)) % 4)).decode()
            changed, pk = text.split("|")
            value = (datetime.fromisoformat(changed), int(pk))
        except (ValueError, UnicodeDecodeError):
            self.fail("invalid")
        if value[0].tzinfo is None:
            self.fail("invalid")
        return value


class ReportListQuerySerializer(serializers.Serializer):
    since = times.DateTimeField(
        required=False, help_text="only reports changed after this moment (exclusive); for the first page"
    )
    cursor = ReportCursorField(
        required=False, help_text="the page after the one that gave this cursor (from its `Link: rel=next` header)"
    )
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=500, default=200, help_text="reports per page, 1–500 (default 200)"
    )

    def validate(self, attrs):
        if "since" in attrs and "cursor" in attrs:
            raise serializers.ValidationError(
                {"cursor": ["cursor 已包含位置，不能与 since 同用。A cursor already holds the position: drop since."]}
            )
        return attrs


class PhotoFileSerializer(serializers.Serializer):
    photo = serializers.FileField(help_text="JPEG, PNG or WebP, 10 MB at most")

    def validate_photo(self, upload):
        if upload.size > MAX_BYTES:
            raise serializers.ValidationError("照片超过 10 MB。The photo is larger than 10 MB.")
        return upload


class PhotoUploadSerializer(PhotoFileSerializer):
    kind = serializers.ChoiceField(choices=PhotoKind.choices)


class CasePhotoSerializer(serializers.Serializer):
    sha256 = serializers.CharField(source="photo.sha256")
    kind = serializers.CharField()
    content_type = serializers.CharField(source="photo.content_type")
    width = serializers.IntegerField(source="photo.width")
    height = serializers.IntegerField(source="photo.height")
    taken_at = times.DateTimeField(source="photo.taken_at", allow_null=True)
    camera_position = serializers.SerializerMethodField()
    distance_m = serializers.FloatField(allow_null=True)
    time_gap_hours = serializers.FloatField(allow_null=True)
    flagged = serializers.BooleanField()
    case_state = serializers.CharField(source="case.state")

    def get_camera_position(self, attached) -> dict | None:
        gps = attached.photo.gps
        return {"type": "Point", "coordinates": [gps.x, gps.y]} if gps else None


class PackageQuerySerializer(serializers.Serializer):
    since = times.DateTimeField(required=False, help_text="only what changed after this time")


class TaskSerializer(ReportSerializer):
    kind = serializers.SerializerMethodField()
    description = serializers.CharField()
    address = serializers.CharField()
    version = serializers.IntegerField()
    location = serializers.SerializerMethodField()

    def get_kind(self, case) -> str:
        return "confirm" if case.state == "reported" else "check"

    def get_location(self, case) -> dict:
        return {"type": "Point", "coordinates": [case.point.x, case.point.y]}


class TaskCompleteSerializer(serializers.Serializer):
    client_uuid = serializers.UUIDField()
    result = serializers.ChoiceField(choices=["confirmed", "not_found", "pass", "fail"])
    note = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)
    photos = serializers.ListField(
        child=serializers.RegexField(r"^[0-9a-f]{64}$"), required=False, default=list, max_length=20
    )


class TaskCompletionSerializer(serializers.Serializer):
    client_uuid = serializers.UUIDField()
    case_id = serializers.IntegerField()
    kind = serializers.CharField()
    result = serializers.CharField()
    case_state = serializers.CharField(source="case.state")
    created_at = times.DateTimeField()


class PhotoSerializer(serializers.Serializer):
    sha256 = serializers.CharField()
    content_type = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    taken_at = times.DateTimeField(allow_null=True)


# --- 信息采集: registry change requests ---------------------------------------------------


class ProposedFieldsSerializer(serializers.Serializer):
    """The new values of a change request: household fields for household kinds, person fields for person kinds.
    Omitted fields are not changed; `phone: ""` removes a phone."""

    unit_no = serializers.CharField(max_length=8, required=False, allow_blank=True)
    floor = serializers.IntegerField(required=False, min_value=-5, max_value=200)
    room = serializers.CharField(max_length=16, required=False)
    type = serializers.ChoiceField(choices=HouseholdType.choices, required=False)
    name = serializers.CharField(max_length=64, required=False)
    sex = serializers.ChoiceField(choices=Sex.choices, required=False)
    birth_date = serializers.DateField(required=False)
    id_number = serializers.CharField(max_length=32, required=False, help_text="GB 11643, 18 characters")
    phone = serializers.CharField(max_length=24, required=False, allow_blank=True)
    relation = serializers.CharField(max_length=16, required=False, allow_blank=True)
    residency = serializers.ChoiceField(choices=Residency.choices, required=False)
    care_tags = serializers.ListField(
        child=serializers.ChoiceField(choices=CareTag.choices), required=False, max_length=len(CareTag)
    )

    def validate_id_number(self, value):
        try:
            return pii.normalize_id_number(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None

    def validate_phone(self, value):
        try:
            return pii.normalize_phone(value) if value else ""
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None

    def validate_birth_date(self, value):
        if not date(1900, 1, 1) <= value <= timezone.localdate():
            raise serializers.ValidationError("出生日期应在 1900-01-01 至今天之间。The birth date is out of range.")
        return value

    def validate_care_tags(self, value):
        return sorted(set(value))


class RegistryChangeRequestSerializer(serializers.Serializer):
    client_uuid = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=ChangeKind.choices)
    building = serializers.IntegerField(min_value=1, help_text="a building of one of the worker's grids")
    household = serializers.IntegerField(
        min_value=1,
        required=False,
        allow_null=True,
        help_text="correct_household: the household corrected; add_person: the household joined",
    )
    household_change = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="add_person into a household still proposed: the client_uuid of your add_household request",
    )
    person = serializers.IntegerField(
        min_value=1,
        required=False,
        allow_null=True,
        help_text="correct_person, person_moved_out, person_deceased: the person concerned",
    )
    proposed = ProposedFieldsSerializer(required=False, default=dict)
    note = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)
    captured_at = times.DateTimeField(help_text="when the worker took it down on the device")

    validate_captured_at = ReportRequestSerializer.validate_captured_at


class BuildingBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    address = serializers.CharField()


class HouseholdBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    unit_no = serializers.CharField()
    floor = serializers.IntegerField()
    room = serializers.CharField()


class PersonBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    id_number = serializers.CharField(source="id_number_masked", help_text="masked")


class RegistryChangeSerializer(serializers.Serializer):
    """A change request as its worker sees it; ID numbers and phones only masked."""

    id = serializers.IntegerField()
    client_uuid = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=ChangeKind.choices)
    kind_label = serializers.CharField(source="get_kind_display")
    state = serializers.ChoiceField(choices=ChangeState.choices)
    state_label = serializers.CharField(source="get_state_display")
    building = BuildingBriefSerializer()
    household = HouseholdBriefSerializer(allow_null=True)
    person = PersonBriefSerializer(allow_null=True)
    household_change = serializers.UUIDField(source="household_change.client_uuid", allow_null=True, default=None)
    proposed = serializers.DictField(help_text="the proposed values; id_number and phone masked")
    previous = serializers.DictField(help_text="the values replaced, kept at approval; masked")
    note = serializers.CharField()
    captured_at = times.DateTimeField()
    received_at = times.DateTimeField()
    decided_at = times.DateTimeField(allow_null=True)
    decided_by = serializers.SerializerMethodField()
    decided_unit = serializers.CharField(source="decided_unit.name", allow_null=True, default=None)
    decision_note = serializers.CharField()

    def get_decided_by(self, change) -> str | None:
        user = change.decided_by
        return (user.get_full_name() or user.get_username()) if user else None
