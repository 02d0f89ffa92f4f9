"""How much work one web request may ask for. Past a bound the request is refused with a 400 naming the limit.

The database bounds every web request as well (statement time, temporary files, idle transactions): see
gridmgmt/dblimits.py. Both are listed in docs/security.md ("Limits per request").
"""

from datetime import date, timedelta

from django.utils import timezone
from rest_framework import serializers

# Heat bins: hexagons one request may ask PostgreSQL to generate (a 4K screen of the dashboard needs about 10,000).
HEX_BINS_PER_REQUEST = 12_000
# Date windows of the dashboard, the grid figures and the statistics, ends included; without a start the window is
# the longest allowed one up to its end.
DATE_WINDOW_DAYS = 3 * 366
# Rows per page.
LAYER_PAGE_SIZE = 5_000  # /api/v1/{streets,communities,grids,buildings}
CASE_PAGE_SIZE = 1_000  # /api/v1/cases
PAGE_NUMBER = 1_000_000


def window_start(date_from: date | None, date_to: date | None, *, field: str = "date_from") -> date:
    """The first day of a date window (the given one, else the longest allowed); a 400 naming the limit when the
    window asked for is longer."""
    end = date_to or timezone.localdate()
    if date_from is None:
        return end - timedelta(days=DATE_WINDOW_DAYS - 1)
    if (end - date_from).days + 1 > DATE_WINDOW_DAYS:
        raise serializers.ValidationError(
            {
                field: [
                    f"日期范围最长 {DATE_WINDOW_DAYS} 天（三年）。"
                    f"The date window is at most {DATE_WINDOW_DAYS} days (three years)."
                ]
            }
        )
    return date_from
