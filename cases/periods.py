"""Default date windows of the statistics, in calendar months (never counted in days, which drift by month)."""

from datetime import date


def month_start(day: date, *, months_back: int = 0) -> date:
    """The first day of the month `months_back` calendar months before `day`'s month."""
    index = day.year * 12 + (day.month - 1) - months_back
    return date(index // 12, index % 12 + 1, 1)


def default_window(end: date, *, trend: bool) -> date:
    """The start of a statistics window ending on `end` when the request names none: the twelve calendar
    months up to and including `end`'s month for a trend, otherwise `end`'s month so far."""
    return month_start(end, months_back=11 if trend else 0)
