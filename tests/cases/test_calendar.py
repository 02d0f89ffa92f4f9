"""Working time on the 2026 calendar. Working hours 08:30–12:00 and 14:00–17:30 (7 h a day), Asia/Shanghai."""

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cases import calendar
from cases.models import CalendarDay

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


@pytest.fixture(autouse=True)
def fresh_calendar():
    calendar.clear_cache()
    yield
    calendar.clear_cache()


def test_2026_holidays_and_make_up_days_are_loaded():
    cal = calendar.get_calendar()
    for holiday in ["2026-01-01", "2026-02-16", "2026-02-23", "2026-04-06", "2026-05-05", "2026-06-19"]:
        assert not cal.is_workday(at(holiday + "T00:00").date()), holiday
    for day in ["2026-09-25", "2026-10-01", "2026-10-07"]:
        assert not cal.is_workday(at(day + "T00:00").date()), day
    for make_up in ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"]:
        assert cal.is_workday(at(make_up + "T00:00").date()), make_up
    assert CalendarDay.objects.filter(is_workday=True).count() == 6
    assert not cal.is_workday(at("2026-10-11T00:00").date())  # an ordinary Sunday
    assert cal.is_workday(at("2026-10-12T00:00").date())


@pytest.mark.parametrize(
    ("start", "hours", "deadline"),
    [
        # Wed 09-30 16:00: 1.5 h that day; 10-01..10-07 National Day; Thu 10-08 08:30–12:00 3.5 h, then 3 h from 14:00.
        ("2026-09-30T16:00", 8, "2026-10-08T17:00"),
        # 1.5 (09-30) + 7 (10-08) + 7 (10-09) = 15.5; the last 0.5 h on Sat 10-10, a make-up working day.
        ("2026-09-30T16:00", 16, "2026-10-10T09:00"),
        # Fri 10-09 16:00: 1.5 + 7 on make-up Sat 10-10 = 8.5; Sun 10-11 off; 1.5 h on Mon 10-12 from 08:30.
        ("2026-10-09T16:00", 10, "2026-10-12T10:00"),
        # An ordinary weekend: Fri 03-13 17:00, 0.5 h left that day, the rest on Mon 03-16.
        ("2026-03-13T17:00", 1, "2026-03-16T09:00"),
        # Fri 09-18 17:00: Sat 09-19 off, Sun 09-20 is a make-up working day.
        ("2026-09-18T17:00", 1, "2026-09-20T09:00"),
        # Make-up Sat 02-14 17:00: Spring Festival 02-15..02-23 off; Tue 02-24.
        ("2026-02-14T17:00", 1, "2026-02-24T09:00"),
        # Lunch break does not count; a deadline ends at noon rather than at 14:00.
        ("2026-03-16T11:00", 2, "2026-03-16T15:00"),
        ("2026-03-16T11:00", 1, "2026-03-16T12:00"),
        # Starting outside working hours counts from the next period.
        ("2026-03-16T07:00", 1, "2026-03-16T09:30"),
        ("2026-03-16T12:30", 0.5, "2026-03-16T14:30"),
        ("2026-03-16T19:00", 7, "2026-03-17T17:30"),
        ("2026-03-16T10:00", 0, "2026-03-16T10:00"),
    ],
)
def test_deadlines_land_on_the_right_working_hour(start, hours, deadline):
    assert calendar.add_working_hours(at(start), hours) == at(deadline)


def test_working_hours_between_counts_only_working_time():
    assert calendar.working_hours_between(at("2026-09-30T16:00"), at("2026-10-08T17:00")) == 8
    assert calendar.working_hours_between(at("2026-10-08T17:00"), at("2026-09-30T16:00")) == -8
    assert calendar.working_hours_between(at("2026-03-16T11:00"), at("2026-03-16T15:00")) == 2
    assert calendar.working_hours_between(at("2026-03-14T08:00"), at("2026-03-15T20:00")) == 0  # a weekend
    assert calendar.working_hours_between(at("2026-03-16T00:00"), at("2026-03-23T00:00")) == 35


def test_adding_then_measuring_gives_back_the_hours():
    rng = random.Random(2026)
    for _ in range(300):
        start = at("2026-01-01T00:00") + timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
        hours = rng.choice([0.5, 1, 2, 3.5, 7, 8, 16, 40, 80, rng.uniform(0.1, 100)])
        end = calendar.add_working_hours(start, hours)
        assert abs(calendar.working_hours_between(start, end) - hours) < 1e-6, (start, hours)


def test_a_new_calendar_day_takes_effect_at_once():
    assert calendar.add_working_hours(at("2026-03-13T17:00"), 1) == at("2026-03-16T09:00")
    CalendarDay.objects.create(date=at("2026-03-16T00:00").date(), is_workday=False, name="测试停工")
    assert calendar.add_working_hours(at("2026-03-13T17:00"), 1) == at("2026-03-17T09:00")


def test_working_hours_come_from_settings(settings):
    settings.WORKING_HOURS = (("09:00", "12:00"), ("13:00", "18:00"))
    calendar.clear_cache()
    assert calendar.get_calendar().hours_per_day() == 8
    assert calendar.add_working_hours(at("2026-03-16T11:00"), 2) == at("2026-03-16T14:00")


def test_loading_the_calendar_again_is_idempotent():
    assert calendar.load_calendar()["created"] == 0
    assert CalendarDay.objects.count() == 39


def test_negative_hours_are_refused():
    with pytest.raises(ValueError):
        calendar.add_working_hours(at("2026-03-16T10:00"), -1)
