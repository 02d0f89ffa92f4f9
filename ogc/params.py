"""Query parameters of /ogc/: what each resource accepts, checked strictly (an unknown or bad one is a 400 that
names it, as OGC API – Features Part 1 asks)."""

import math
from datetime import datetime

from ogc import crs as crs_module
from ogc.selectors import BBox, ItemsQuery

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10000  # a larger `limit` is served as this many (not an error), then `next` links carry on

BIGGEST_ID = 2**63 - 1  # a cursor beyond the primary key's range is a 400, not a database error
FORMATS = {"json", "geojson", "application/json", "application/geo+json"}  # all mean the one JSON answer
COMMON = {"f"}
ITEM = COMMON | {"crs"}
ITEMS = ITEM | {"limit", "bbox", "bbox-crs", "datetime", "after", "before"}


class BadParameter(Exception):
    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name = name
        self.message = message


def check_known(params, allowed: set[str]) -> None:
    for name in params:
        if name not in allowed:
            raise BadParameter(
                name, f"不支持的查询参数。Unknown query parameter (allowed: {', '.join(sorted(allowed))})."
            )
        if len(params.getlist(name)) > 1:
            raise BadParameter(name, "参数只能给一次。Give this parameter once.")
    fmt = params.get("f")
    if fmt is not None and fmt not in FORMATS:
        raise BadParameter("f", "只提供 JSON（f=json）。Only JSON is served (f=json).")


def crs_of(params, name: str = "crs") -> crs_module.Crs:
    value = params.get(name)
    if value is None:
        return crs_module.CRS84
    if value not in crs_module.SUPPORTED:
        raise BadParameter(name, f"不支持的坐标参照系。Unsupported CRS; use one of: {', '.join(crs_module.SUPPORTED)}.")
    return crs_module.SUPPORTED[value]


def whole_number(text: str) -> int | None:
    """Decimal digits as a number (anything beyond an id's range as BIGGEST_ID + 1); None for anything else."""
    if not text.isascii() or not text.isdigit():
        return None
    return int(text) if len(text) <= 19 else BIGGEST_ID + 1


def _positive_int(params, name: str, *, most: float = BIGGEST_ID) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    number = whole_number(value)
    if number is None or not 1 <= number <= most:
        raise BadParameter(name, "应为正整数。Must be a positive integer.")
    return number


def bbox_of(params) -> BBox | None:
    """The bbox as CRS84 (lon, lat) whatever `bbox-crs` it came in; 4 numbers, or 6 with heights (ignored)."""
    in_crs = crs_of(params, "bbox-crs")  # checked even without a bbox, which it then does not change
    value = params.get("bbox")
    if value is None:
        return None
    try:
        numbers = [float(part) for part in value.split(",")]
    except ValueError:
        numbers = []
    if len(numbers) not in (4, 6) or not all(math.isfinite(n) for n in numbers):
        raise BadParameter(
            "bbox", "应为 4 个（或含高程的 6 个）逗号分隔的数。Must be 4 (or 6) comma-separated numbers."
        )
    half = len(numbers) // 2
    lower, upper = numbers[:2], numbers[half : half + 2]
    if in_crs.lat_first:
        lower, upper = lower[::-1], upper[::-1]
    (min_lon, min_lat), (max_lon, max_lat) = lower, upper
    if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise BadParameter(
            "bbox",
            "超出范围：经度 −180…180，纬度 −90…90，且下边不大于上边。"
            "Out of range: longitude −180…180, latitude −90…90, lower corner below the upper one "
            + ("(this bbox-crs puts latitude first)." if in_crs.lat_first else "(longitude first)."),
        )
    return (min_lon, min_lat, max_lon, max_lat)


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    if moment.tzinfo is None or "T" not in text.upper():
        raise ValueError(text)
    return moment


def time_range_of(params) -> tuple[datetime | None, datetime | None] | None:
    """`datetime`: an RFC 3339 instant or an interval `start/end` with `..` (or nothing) for an open end."""
    value = params.get("datetime")
    if not value:  # absent or empty: no filter
        return None
    ends = value.split("/")
    try:
        if len(ends) == 1:
            moment = _instant(ends[0])
            return moment, moment
        if len(ends) == 2:
            start, end = (None if end in ("", "..") else _instant(end) for end in ends)
            if (start is None and end is None) or (start and end and start > end):
                raise ValueError(value)
            return start, end
    except ValueError:
        pass
    raise BadParameter(
        "datetime",
        "应为带时区的 RFC 3339 时刻或区间，例如 2026-12-01T00:00:00+08:00/.. 。"
        "Must be an RFC 3339 date-time with offset, or an interval such as 2026-12-01T00:00:00+08:00/..",
    )


def items_query(params) -> ItemsQuery:
    limit = _positive_int(params, "limit", most=math.inf)
    return ItemsQuery(
        limit=min(limit or DEFAULT_LIMIT, MAX_LIMIT),
        bbox=bbox_of(params),
        time_range=time_range_of(params),
        after=_positive_int(params, "after"),
        before=_positive_int(params, "before"),
    )
