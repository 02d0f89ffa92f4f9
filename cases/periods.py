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


def partial_month(month: str, *, today: date, start: date | None = None, end: date | None = None) -> bool:
    """Whether the figures of `month` ("YYYY-MM") cover only part of it: the month is not over yet (本月至今), or the
    period starts or ends inside it. A partial month's counts are not comparable with a whole month's."""
    year, number = (int(part) for part in month.split("-"))
    first = date(year, number, 1)
    last = month_start(first, months_back=-1).toordinal() - 1
    covered_to = min(end or today, today)
    return covered_to.toordinal() < last or (start is not None and start > first)
