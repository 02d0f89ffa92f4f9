"""Default date windows on every day of the year: the trend is always the twelve calendar months up to the
current one, a summary the current month so far, and Open311's list the past 90 days. The clock is moved."""

import calendar
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from cases.periods import default_window, month_start
from cases.selectors import stats_scope
from tests.cases.helpers import client_of, dispatcher

SHANGHAI = ZoneInfo("Asia/Shanghai")


def first_and_last_days(year: int) -> list[date]:
    return [
        day
        for month in range(1, 13)
        for day in (date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))
    ]


def months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month + 1


@pytest.mark.parametrize("day", first_and_last_days(2026) + first_and_last_days(2028))
def test_the_default_trend_is_twelve_calendar_months_and_a_summary_the_month_so_far(day):
    start = default_window(day, trend=True)
    assert start.day == 1 and months_between(start, day) == 12
    assert default_window(day, trend=False) == day.replace(day=1)


def test_month_start_crosses_years():
    assert month_start(date(2026, 12, 1), months_back=11) == date(2026, 1, 1)
    assert month_start(date(2026, 1, 31), months_back=11) == date(2025, 2, 1)
    assert month_start(date(2026, 3, 15), months_back=14) == date(2025, 1, 1)


@pytest.mark.django_db
def test_stats_windows_follow_the_clock_on_every_first_and_last_day_of_the_month(geo):
    user = dispatcher(geo.centre, username="centre-clock")
    for day in first_and_last_days(2026):
        with time_machine.travel(datetime(day.year, day.month, day.day, 23, 30, tzinfo=SHANGHAI), tick=False):
            trend, _ = stats_scope(user=user, query={}, trend=True)
            summary, _ = stats_scope(user=user, query={})
        assert (trend.end, summary.end) == (day, day)
        assert trend.start == month_start(day, months_back=11), day
        assert months_between(trend.start, trend.end) == 12, day
        assert summary.start == day.replace(day=1), day


@pytest.mark.django_db
@pytest.mark.parametrize("day", [date(2026, 12, 1), date(2026, 12, 31), date(2027, 1, 1), date(2026, 2, 28)])
def test_the_trend_endpoint_has_twelve_months_ending_this_month(geo, day):
    user = dispatcher(geo.centre, username="centre-trend")
    with time_machine.travel(datetime(day.year, day.month, day.day, 0, 5, tzinfo=SHANGHAI), tick=False):
        body = client_of(user).get("/api/v1/stats/trend").json()
        assert timezone.localdate() == day
    months = [row["month"] for row in body["rows"]]
    assert len(months) == 12 and months[-1] == day.strftime("%Y-%m")
    assert months[0] == month_start(day, months_back=11).strftime("%Y-%m")


@pytest.mark.django_db
@pytest.mark.parametrize("day", [date(2026, 3, 1), date(2026, 12, 31)])
def test_open311_lists_the_past_90_days_by_default(day):
    from mobileapi.open311.serializers import WINDOW, RequestQuerySerializer

    moment = datetime(day.year, day.month, day.day, 12, 0, tzinfo=SHANGHAI)
    with time_machine.travel(moment, tick=False):
        query = RequestQuerySerializer(data={})
        assert query.is_valid(), query.errors
    assert query.validated_data["end"] == moment
    assert query.validated_data["start"] == moment - WINDOW == moment - timedelta(days=90)
