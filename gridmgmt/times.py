"""The one way time stamps leave and enter the system: RFC 3339 at +08:00 with milliseconds.

Every interface — the web and handheld APIs, payloads built in SQL (case lists, grid packages, GeoJSON), OGC API
– Features, CSV/xlsx/GeoPackage exports, Open311 and the JSON embedded in pages — writes an instant as
`2026-12-03T15:04:05.123+08:00`: China Standard Time (TIME_ZONE Asia/Shanghai has had no daylight saving since
1991, so the offset is fixed), exactly three fractional digits, truncated (never rounded up into the next second).
Python writes it with `rfc3339()` (and the DRF field `DateTimeField`), SQL with `sql()` (and the ORM expression
`Rfc3339`): the two give the same text for the same instant. Dates without a time stay `YYYY-MM-DD`.

Input: an instant must carry its offset (`Z`, `+08:00`, `-05:00` …) and is converted; one without is a 400
naming the field, never silently taken as local time.
"""

import re
from datetime import datetime, timedelta, timezone

from django.db.models import CharField, Func
from django.utils.dateparse import parse_datetime
from rest_framework import serializers

ZONE = timezone(timedelta(hours=8), "CST")
_DATE_ONLY = re.compile(r"^\d{4}-?\d\d-?\d\d$")

# The SQL twin of rfc3339(): `AT TIME ZONE INTERVAL` takes the ISO sign (east positive), unlike the POSIX text
# form ('+08:00' there means UTC−8). to_char's MS truncates as Python's timespec="milliseconds" does.
_SQL = "to_char(({}) AT TIME ZONE INTERVAL '+08:00', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"+08:00\"')"

# Both languages in one message, as the handheld API's other field messages.
NEEDS_OFFSET = (
    "时间须带时区偏移，例如 2026-12-03T15:04:05.123+08:00 或 2026-12-03T07:04:05Z。"
    "A time must carry its offset, e.g. 2026-12-03T15:04:05.123+08:00 or 2026-12-03T07:04:05Z."
)


def rfc3339(moment: datetime | None) -> str | None:
    """`moment` as 2026-12-03T15:04:05.123+08:00; None stays None. A naive datetime is a programming error."""
    if moment is None:
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: give it a time zone")
    return moment.astimezone(ZONE).isoformat(timespec="milliseconds")


def sql(expression: str) -> str:
    """SQL text writing the timestamptz `expression` as rfc3339() does (NULL stays NULL)."""
    return _SQL.format(expression)


class Rfc3339(Func):
    """The ORM form of sql(): a timestamptz column as RFC 3339 text at +08:00 with milliseconds."""

    template = _SQL.format("%(expressions)s")
    output_field = CharField()


def parse(text: str) -> datetime | None:
    """An RFC 3339 / ISO 8601 date-time with its offset, as an aware datetime. None when `text` is not a
    date-time (a date alone is not); ValueError when it is one without an offset."""
    text = text.strip()
    if _DATE_ONLY.match(text):
        return None
    try:
        moment = parse_datetime(text)
    except ValueError:
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError(text)
    return moment


class DateTimeField(serializers.DateTimeField):
    """DRF's DateTimeField writing rfc3339() and refusing input without an offset (a 400 naming the field).
    In the OpenAPI document it stays `format: date-time`; the API's description states the convention."""

    default_error_messages = {"offset": NEEDS_OFFSET}

    def to_representation(self, value):
        if not value:
            return None
        if isinstance(value, str):
            return value
        return rfc3339(value)

    def enforce_timezone(self, value):
        if value.tzinfo is None or value.utcoffset() is None:
            self.fail("offset")
        return super().enforce_timezone(value)


class ModelSerializer(serializers.ModelSerializer):
    """ModelSerializer whose model DateTimeFields become the DateTimeField above."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        **{
            model_field: DateTimeField
            for model_field, field in serializers.ModelSerializer.serializer_field_mapping.items()
            if field is serializers.DateTimeField
        },
    }
