"""Working time: a calendar of working days and the working hours of each day.

A day is a working day Monday to Friday unless a `CalendarDay` row says otherwise (public holidays,
make-up working days 调休). Working hours are the periods in settings.WORKING_HOURS (default
08:30–12:00 and 14:00–17:30) in settings.WORKING_TIME_ZONE (default the project's TIME_ZONE,
Asia/Shanghai). Time limits count only working time.

The calendar rows are read once and cached; saving or deleting a `CalendarDay` clears the cache in this
process, and the cache expires after CALENDAR_CACHE_SECONDS (default 300) for other processes.
"""

import json
import time as monotonic_time
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

DEFAULT_WORKING_HOURS = (("08:30", "12:00"), ("14:00", "17:30"))
DATA_DIR = Path(__file__).resolve().parent / "data"
MAX_DAYS = 3660  # how far a deadline may be searched for: ten years


def _parse_periods(periods) -> tuple[tuple[time, time], ...]:
    parsed = []
    for start, end in periods:
        begin, finish = time.fromisoformat(start), time.fromisoformat(end)
        if finish <= begin or (parsed and begin < parsed[-1][1]):
            raise ValueError(f"WORKING_HOURS must be increasing, non-overlapping periods: {periods!r}")
        parsed.append((begin, finish))
    if not parsed:
        raise ValueError("WORKING_HOURS needs at least one period")
    return tuple(parsed)


class WorkCalendar:
    def __init__(self, overrides: dict[date, bool], periods=DEFAULT_WORKING_HOURS, tz: str = "Asia/Shanghai"):
        self.overrides = dict(overrides)
        self.periods = _parse_periods(periods)
        self.tz = ZoneInfo(tz)

    def is_workday(self, day: date) -> bool:
        return self.overrides.get(day, day.weekday() < 5)

    def periods_on(self, day: date) -> list[tuple[datetime, datetime]]:
        if not self.is_workday(day):
            return []
        return [
            (datetime.combine(day, begin, tzinfo=self.tz), datetime.combine(day, end, tzinfo=self.tz))
            for begin, end in self.periods
        ]

    def hours_per_day(self) -> float:
        return sum((end.hour * 60 + end.minute - begin.hour * 60 - begin.minute) / 60 for begin, end in self.periods)

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The moment `hours` of working time after `start` (an aware datetime). Ends exactly at a period's end
        rather than at the next period's start."""
        if hours < 0:
            raise ValueError("hours must not be negative")
        start = start.astimezone(self.tz)
        remaining = timedelta(hours=hours)
        if remaining == timedelta(0):
            return start
        day = start.date()
        for _ in range(MAX_DAYS):
            for begin, end in self.periods_on(day):
                begin = max(begin, start)
                if begin >= end:
                    continue
                available = end - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
            day += timedelta(days=1)
        raise ValueError(f"no deadline within {MAX_DAYS} days of {start.isoformat()}")

    def working_hours_between(self, a: datetime, b: datetime) -> float:
        """Working hours from `a` to `b` (negative when `b` is earlier)."""
        if b < a:
            return -self.working_hours_between(b, a)
        a, b = a.astimezone(self.tz), b.astimezone(self.tz)
        total = timedelta(0)
        day = a.date()
        while day <= b.date():
            for begin, end in self.periods_on(day):
                overlap = min(end, b) - max(begin, a)
                if overlap > timedelta(0):
                    total += overlap
            day += timedelta(days=1)
        return total.total_seconds() / 3600


_cache: dict = {"calendar": None, "loaded": 0.0}


def clear_cache(**_kwargs) -> None:
    _cache["calendar"] = None


def get_calendar() -> WorkCalendar:
    ttl = getattr(settings, "CALENDAR_CACHE_SECONDS", 300)
    if _cache["calendar"] is None or monotonic_time.monotonic() - _cache["loaded"] > ttl:
        from cases.models import CalendarDay

        overrides = dict(CalendarDay.objects.values_list("date", "is_workday"))
        _cache["calendar"] = WorkCalendar(
            overrides,
            periods=getattr(settings, "WORKING_HOURS", DEFAULT_WORKING_HOURS),
            tz=getattr(settings, "WORKING_TIME_ZONE", settings.TIME_ZONE),
        )
        _cache["loaded"] = monotonic_time.monotonic()
    return _cache["calendar"]


def add_working_hours(start: datetime, hours: float) -> datetime:
    return get_calendar().add_working_hours(start, hours)


def working_hours_between(a: datetime, b: datetime) -> float:
    return get_calendar().working_hours_between(a, b)


def working_hours_since(moment: datetime) -> float:
    return working_hours_between(moment, timezone.now())


# --- Loading the public holidays ------------------------------------------------------


def calendar_files() -> list[Path]:
    return sorted(DATA_DIR.glob("calendar_*.json"))


def upsert_calendar(*, day_model, paths: list[Path] | None = None) -> dict:
    """Upsert CalendarDay rows (by date) from cases/data/calendar_*.json. Idempotent."""
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for path in paths or calendar_files():
        with open(path, encoding="utf-8") as fh:
            rows = json.load(fh)["days"]
        existing = {row.date: row for row in day_model.objects.filter(date__in=[r["date"] for r in rows])}
        for row in rows:
            day = date.fromisoformat(row["date"])
            current = existing.get(day)
            if current is None:
                day_model.objects.create(date=day, is_workday=row["is_workday"], name=row.get("name", ""))
                counts["created"] += 1
            elif (current.is_workday, current.name) != (row["is_workday"], row.get("name", "")):
                current.is_workday, current.name = row["is_workday"], row.get("name", "")
                current.save(update_fields=["is_workday", "name"])
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
    clear_cache()
    return counts


def load_calendar(paths: list[Path] | None = None) -> dict:
    from cases.models import CalendarDay

    return upsert_calendar(day_model=CalendarDay, paths=paths)
