"""Open311 GeoReport v2: what clients send (checked here, field by field) and the shapes we answer with.

Privacy of what we answer (reads are public, as the spec intends, like 政务公开):
- positions are rounded to 3 decimals (≈ 100 m) for every case;
- description, address and media_url appear only for cases that came in through Open311 (their client posted
  them to be public); for cases from handhelds, desks and the hotline they are null, as they may name people;
- which cases are listed at all is decided in `selectors.visible_requests` (社会治理 cases are withheld).
Names, e-mail addresses, phone numbers, device and account ids that clients send are never stored.
"""

import math
import re
from datetime import datetime, time, timedelta

from django.core.validators import URLValidator
from django.utils import timezone
from django.utils.dateparse import parse_date
from rest_framework import serializers

from cases.models import Case, Category, Source, State
from cases.serializers import CategoryCodeField
from cases.workflow import TERMINAL
from gridmgmt import times

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-03T00:00:00.000+08:00"  # when this endpoint's behaviour last changed
FORMATS = ["application/json", "text/xml"]
STATUSES = ("open", "closed")
WINDOW = timedelta(days=90)
COARSE_DECIMALS = 3  # ≈ 111 m of latitude, ≈ 100 m of longitude here


def iso(moment: datetime | None) -> str | None:
    """W3C/ISO 8601 with the offset, in local time, as everywhere (gridmgmt.times): 2026-11-27T15:44:24.417+08:00."""
    return times.rfc3339(moment)


# --- Input ----------------------------------------------------------------------------------


class ServiceCodeField(CategoryCodeField):
    default_error_messages = {
        "required": "缺少服务编码。service_code is required.",
        "invalid": "应为服务编码，例如 SJ0102。service_code must be a code such as SJ0102.",
        "unknown": "未知的服务编码 {code}（见 services.json）。Unknown service_code {code}; see services.json.",
        "group": "{code} 是大类，请选择其下的小类。{code} is a group; choose one of its services.",
    }


class CoordinateField(serializers.FloatField):
    """A finite decimal number; NaN, infinity and booleans are refused."""

    default_error_messages = {
        "invalid": "应为十进制数（WGS84 度）。Must be a decimal number of WGS84 degrees.",
        "max_value": "不能大于 {max_value}。Must not be greater than {max_value}.",
        "min_value": "不能小于 {min_value}。Must not be less than {min_value}.",
        "max_string_length": "数字过长。Number too long.",
    }

    def to_internal_value(self, data):
        if isinstance(data, bool) or (isinstance(data, str) and not data.strip()):
            self.fail("invalid")
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            self.fail("invalid")
        return value


class ServiceRequestSerializer(serializers.Serializer):
    """POST requests: service_code, lat/long (WGS84), description, address_string, media_url, and media (a
    photo sent as a multipart file, as the `three` library sends it).

    Also accepted and deliberately dropped: jurisdiction_id, address_id, email, first_name, last_name, phone,
    device_id, account_id and attribute[…] (no service has metadata)."""

    service_code = ServiceCodeField()
    lat = CoordinateField(required=False, min_value=-90, max_value=90)
    long = CoordinateField(required=False, min_value=-180, max_value=180)
    address_string = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=255,
        error_messages={"max_length": "不能超过 {max_length} 个字符。At most {max_length} characters."},
    )
    description = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=4000,
        error_messages={"max_length": "不能超过 {max_length} 个字符。At most {max_length} characters."},
    )
    media_url = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=1024,
        validators=[
            URLValidator(schemes=["http", "https"], message="应为 http(s) 网址。media_url must be an http(s) URL.")
        ],
        error_messages={"max_length": "不能超过 {max_length} 个字符。At most {max_length} characters."},
    )

    media = serializers.FileField(
        required=False,
        allow_empty_file=True,  # the photo pipeline says why an empty file is refused
        error_messages={
            "invalid": "应为照片文件（multipart）；网址请用 media_url。Send media as a file; send a link as media_url."
        },
    )

    def validate(self, attrs):
        has_lat, has_long = "lat" in attrs, "long" in attrs
        if not has_lat and not has_long:
            message = (
                "需要经纬度 lat 与 long（WGS84）；本系统不能仅凭 address_string 或 address_id 定位。"
                "lat and long (WGS84) are required: this endpoint cannot locate a request by address alone."
            )
            raise serializers.ValidationError({"lat/long": [message]})
        if has_lat != has_long:
            missing = "long" if has_lat else "lat"
            raise serializers.ValidationError({missing: ["lat 与 long 须同时给出。Give both lat and long."]})
        return attrs


def error_descriptions(errors: dict) -> list[str]:
    """DRF or create_case errors as one `field: message` line each, as the spec's error descriptions."""
    lines = []
    for field_name, messages in errors.items():
        name = "lat/long" if field_name == "location" else field_name
        for message in messages if isinstance(messages, list | tuple) else [messages]:
            lines.append(f"{name}: {message}" if name != "non_field_errors" else str(message))
    return lines


_OFFSET_LOST = re.compile(r"^(\d{4}-\d\d-\d\dT[\d:.,]+) (\d\d(:?\d\d)?)$")


def parse_when(name: str, value: str, *, end: bool) -> datetime:
    """ISO 8601 date-time with its offset, or a date alone: the start (or end) of that local day. A date-time
    without an offset is refused (a 400 naming the field), never taken as local time.

    A '+' of an offset sent unencoded in a query string arrives as a space; it is put back."""
    text = _OFFSET_LOST.sub(r"\1+\2", value.strip())
    try:
        moment = times.parse(text)
    except ValueError:
        raise serializers.ValidationError(
            {name: [f"日期时间须带时区偏移，例如 2026-11-01T00:00:00+08:00。Give the offset (got {value!r})."]}
        ) from None
    if moment is None:
        try:
            day = parse_date(text)
        except ValueError:
            day = None
        if day is None:
            raise serializers.ValidationError(
                {name: [f"应为 ISO 8601 日期时间，例如 2026-11-01T00:00:00+08:00。Must be ISO 8601 (got {value!r})."]}
            )
        moment = timezone.make_aware(datetime.combine(day, time.max if end else time.min))
    return moment


def shifted(name: str, moment: datetime, delta: timedelta) -> datetime:
    """`moment + delta`, or a 400 naming the field when that leaves the calendar (0001-01-01 … 9999-12-31)."""
    try:
        return moment + delta
    except OverflowError:
        raise serializers.ValidationError(
            {name: ["日期超出可查询范围。The date is too far in the past or future to query."]}
        ) from None


def split_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


class RequestQuerySerializer(serializers.Serializer):
    """GET requests: service_request_id (comma-separated; overrides everything else), service_code
    (comma-separated), start_date, end_date (ISO 8601; at most 90 days apart; default the last 90 days), status
    (open, closed or both)."""

    service_request_id = serializers.CharField(required=False, allow_blank=True, max_length=4000)
    service_code = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    start_date = serializers.CharField(required=False, allow_blank=True, max_length=64)
    end_date = serializers.CharField(required=False, allow_blank=True, max_length=64)
    status = serializers.CharField(required=False, allow_blank=True, max_length=64)

    def validate(self, attrs):
        query: dict = {"numbers": split_list(attrs.get("service_request_id", ""))}
        if query["numbers"]:
            return query  # the spec: service_request_id overrides all other arguments
        codes = split_list(attrs.get("service_code", ""))
        if codes:
            known = set(Category.objects.filter(code__in=codes).values_list("code", flat=True))
            unknown = [code for code in codes if code not in known]
            if unknown:
                raise serializers.ValidationError(
                    {
                        "service_code": [
                            f"未知的服务编码 {', '.join(unknown)}。Unknown service_code {', '.join(unknown)}."
                        ]
                    }
                )
        statuses = [status.lower() for status in split_list(attrs.get("status", ""))]
        wrong = [status for status in statuses if status not in STATUSES]
        if wrong:
            raise serializers.ValidationError({"status": ["应为 open 或 closed。status must be open or closed."]})
        start = parse_when("start_date", attrs["start_date"], end=False) if attrs.get("start_date") else None
        end = parse_when("end_date", attrs["end_date"], end=True) if attrs.get("end_date") else None
        if start is None and end is None:
            end = timezone.now()
        if start is None:
            start = shifted("end_date", end, -WINDOW)
        if end is None:
            end = shifted("start_date", start, WINDOW)
        if end < start:
            raise serializers.ValidationError({"end_date": ["不能早于 start_date。end_date is before start_date."]})
        if end - start > WINDOW + timedelta(seconds=1):
            raise serializers.ValidationError(
                {
                    "end_date": [
                        "start_date 与 end_date 最多相隔 90 天。At most 90 days between start_date and end_date."
                    ]
                }
            )
        return {"numbers": [], "codes": codes, "statuses": sorted(set(statuses)), "start": start, "end": end}


# --- Output ---------------------------------------------------------------------------------


def discovery(*, url: str, contact: str) -> dict:
    return {
        "changeset": CHANGESET,
        "contact": contact,
        "key_service": (
            "API 密钥（api_key）由本系统管理员在后台签发，提交服务请求时必填；查询无需密钥。"
            "API keys are issued by the administrators of this system; required to post, not to read."
        ),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": url,
                "changeset": CHANGESET,
                "type": "production",
                "formats": FORMATS,
            }
        ],
    }


def _name(category: Category | None, english: bool) -> str:
    if category is None:
        return ""
    return (category.name_en or category.name_zh) if english else category.name_zh


def service(category: Category, *, english: bool) -> dict:
    group = category.parent
    root = group.parent if group is not None else None
    keywords = [_name(node, english) for node in (root, group, category) if node is not None]
    return {
        "service_code": category.code,
        "service_name": _name(category, english),
        "description": _name(category, True) if english else (category.register_conditions or category.name_zh),
        "metadata": False,
        "type": "realtime",
        "keywords": ", ".join(keywords),
        "group": _name(group, english),
    }


def service_definition(category: Category) -> dict:
    return {"service_code": category.code, "attributes": []}


def status_of(case: Case) -> str:
    return "closed" if case.state in TERMINAL else "open"


def service_notice(case: Case, *, english: bool) -> str:
    unit = case.responsible_unit.name
    if case.state in TERMINAL or case.deadline_at is None:
        return ("Closed." if english else "已办结。") if case.state in TERMINAL else unit
    if english:
        return f"Handled by {unit}; expected by {iso(case.deadline_at)}."
    return f"由{unit}办理，预计 {timezone.localtime(case.deadline_at):%Y-%m-%d %H:%M} 前办结。"


PUBLIC_NOTICE = {
    False: "描述、地址和照片链接将公开显示，位置精确到约 100 米；请勿填写个人信息。",
    True: "The description, address and media_url are public and the position is shown to about 100 m; "
    "do not include personal details.",
}


def created(case: Case, *, english: bool) -> dict:
    """The answer to a POST: one element, as the spec's array."""
    return {
        "service_request_id": case.number,
        "service_notice": f"{service_notice(case, english=english)} {PUBLIC_NOTICE[english]}",
        "account_id": None,
    }


def media_url(case: Case, photo_urls: dict[str, str]) -> str | None:
    """The photo posted as `media` (by its public URL), else the `media_url` the client gave."""
    attachments = [str(item) for item in getattr(case, "report_attachments", None) or []]
    posted = [photo_urls[item] for item in attachments if item in photo_urls]
    given = [item for item in attachments if item.startswith(("http://", "https://"))]
    return next(iter(posted + given), None)


def service_request(case: Case, *, english: bool, photo_urls: dict[str, str] | None = None) -> dict:
    full = case.source == Source.OPEN311
    return {
        "service_request_id": case.number,
        "status": status_of(case),
        "status_notes": State(case.state).name.capitalize() if english else str(State(case.state).label),
        "service_name": _name(case.category, english),
        "service_code": case.category.code,
        "description": case.description if full else None,
        "agency_responsible": case.responsible_unit.name,
        "service_notice": service_notice(case, english=english),
        "requested_datetime": iso(case.received_at),
        "updated_datetime": iso(case.updated_at),
        "expected_datetime": iso(case.deadline_at),
        "address": case.address if full else None,
        "address_id": None,
        "zipcode": None,
        "lat": round(case.point.y, COARSE_DECIMALS),
        "long": round(case.point.x, COARSE_DECIMALS),
        "media_url": media_url(case, photo_urls or {}) if full else None,
    }


def token(case: Case) -> dict:
    return {"service_request_id": case.number, "token": case.number}
