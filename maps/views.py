"""Pages (login, command/community map, dashboard, public page) and the small APIs behind them."""

import csv
import functools
import io
import json
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, HttpResponse, HttpResponseRedirect
from django.middleware.gzip import re_accepts_gzip as ACCEPTS_GZIP
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from openpyxl import Workbook
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied, Throttled
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.models import State
from gridmgmt import counters, dblimits, limits
from gridmgmt.conditional import conditional_response
from gridmgmt.login_guard import client_address
from gridmgmt.middleware import JsonCompressionMiddleware, busy_response
from gridmgmt.openapi import errors
from grids.coords import wgs84_to_gcj02
from grids.models import CareTag, Role, Street, UnitType
from grids.serializers import BBoxField, sensible_date
from maps import roles, selectors, stats
from maps.basemaps import basemap_config
from maps.strings import js_strings


def _validated(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _json(body: str, *, cache: str = "private, no-cache") -> HttpResponse:
    response = HttpResponse(body, content_type="application/json")
    response["Cache-Control"] = cache
    return response


# --- Pages ---------------------------------------------------------------------------------------------------


def home(request):
    if not request.user.is_authenticated:
        return redirect_to_login("/", settings.LOGIN_URL)
    return redirect(roles.home_for(request.user))


@require_POST
def logout_view(request):
    logout(request)
    return HttpResponseRedirect(settings.LOGIN_URL)


def _role_label(user) -> str:
    role = roles.role_of(user)
    return str(Role(role).label) if role else ""


def _page(request, page_key: str, template: str, config: dict):
    if page_key != "public":
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        if not roles.may_open(request.user, page_key):
            return render(
                request,
                "maps/forbidden.html",
                {"role_label": _role_label(request.user), "home": roles.home_for(request.user)},
                status=403,
            )
    config = {
        "role": roles.role_of(request.user),
        "basemap": basemap_config(),
        "strings": js_strings(),
        "language": request.LANGUAGE_CODE,
        "center": settings.LEAFLET_CONFIG["DEFAULT_CENTER"],
        "zoom": settings.LEAFLET_CONFIG["DEFAULT_ZOOM"],
        **config,
    }
    return render(request, template, {"config": config, "role_label": _role_label(request.user)})


def _categories() -> list[dict]:
    from cases.models import Category

    return [
        {"id": c.id, "code": c.code, "name": c.name_zh, "name_en": c.name_en, "parent": c.parent_id}
        for c in Category.objects.filter(active=True).order_by("code")
    ]


def _states() -> list[dict]:
    return [{"value": s.value, "label": str(s.label)} for s in State]


def _open_states() -> list[str]:
    return [state.value for state in State if state.value not in selectors.FINISHED_STATES]


def _action_labels() -> dict[str, str]:
    from cases.workflow import TRANSITIONS

    return {name: str(_(transition.label)) for name, transition in TRANSITIONS.items()}


def map_page(request):
    role = roles.role_of(request.user)
    return _page(
        request,
        "map",
        "maps/map.html",
        {
            "layers": roles.LAYERS.get(role, []),
            "sees_residents": role in roles.SEES_RESIDENTS,
            "streets": list(Street.objects.order_by("code").values("id", "code", "name")),
            "care_tags": [{"value": t.value, "label": str(t.label)} for t in CareTag],
            "categories": _categories() if request.user.is_authenticated else [],
            "states": _states(),
            "open_states": _open_states(),
            "actions": _action_labels(),
            "poll_seconds": 8,
            "tile_min_zoom": 16,
        },
    )


def _root_region(request) -> str:
    own = manager_region(request.user) if request.user.is_authenticated else {}
    return own.get("community") or own.get("street") or ""


def dashboard_page(request):
    return _page(
        request,
        "dashboard",
        "maps/dashboard.html",
        {
            "categories": _categories() if request.user.is_authenticated else [],
            "root_region": _root_region(request),
        },
    )


def assessment_page(request):
    """综合评价: the assessment indicators (cases.stats) per region, unit and month, with export."""
    return _page(request, "dashboard", "maps/assessment.html", {"root_region": _root_region(request)})


def public_page(request):
    return _page(request, "public", "maps/public.html", {"labels_url": "/api/v1/public/labels"})


# --- APIs: units, grid figures, tiles, search ---------------------------------------------------------------


class UnitsQuery(serializers.Serializer):
    type = serializers.ChoiceField(choices=UnitType.choices, required=False)
    in_bbox = BBoxField(required=False)


class UnitsView(APIView):
    """Unit jurisdictions (e.g. police precincts: `type=police_station`) as a GeoJSON FeatureCollection."""

    @extend_schema(parameters=[UnitsQuery], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        query = _validated(UnitsQuery, request.query_params)
        features = selectors.units_geojson(unit_type=query.get("type"), bbox=query.get("in_bbox"))
        return _json('{"type": "FeatureCollection", "features": ' + features + "}", cache="private, max-age=300")


def region_field() -> serializers.RegexField:
    return serializers.RegexField(
        r"^[0-9]{6}([0-9]{3}){0,2}$|^[0-9]{14,15}$",
        max_length=15,
        required=False,
        allow_blank=True,
        help_text="区/街道/社区/网格的代码（6、9、12、14–15 位）。The code of a district, street, community or grid.",
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class CaseFilterQuery(serializers.Serializer):
    date_from = serializers.DateField(required=False, validators=[sensible_date])
    date_to = serializers.DateField(required=False, validators=[sensible_date])
    category = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False)
    state = serializers.ListField(child=serializers.ChoiceField(choices=State.choices), required=False)
    level = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=4), required=False)
    street = serializers.CharField(max_length=15, required=False)
    region = region_field()

    def validate(self, attrs):
        if attrs.get("date_from") and attrs.get("date_to") and attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError({"date_to": _("结束日期不能早于开始日期")})
        limits.window_start(attrs.get("date_from"), attrs.get("date_to"))
        return attrs


def manager_region(user) -> dict:
    """A manager with a region (Staff.street / Staff.community) sees the figures of that region only."""
    staff = getattr(user, "staff", None)
    if user.is_superuser or staff is None or staff.role != Role.MANAGER:
        return {}
    if staff.community_id:
        return {"community": staff.community.code}
    if staff.street_id:
        return {"street": staff.street.code}
    return {}


def drill_region(user, code: str | None) -> selectors.Region:
    """The dashboard's region (区 → 街道 → 社区 → 网格) from its code: a 400 naming `region` for a code that is no
    region, a 403 for a region outside the manager's own; no code means the manager's region (or everything)."""
    own = manager_region(user)
    own_code = own.get("community") or own.get("street")
    region = selectors.find_region(code or own_code)
    if region is None:
        raise serializers.ValidationError({"region": [_("没有这个区域。No such region.")]})
    if own_code and not region.contains(own_code):
        raise PermissionDenied(_("该区域不在您的管辖范围内。This region is outside yours."))
    return region


def case_filter(query: dict, *, default_days: int | None = None) -> selectors.CaseFilter:
    date_from = query.get("date_from")
    if date_from is None and default_days and not query.get("date_to"):
        date_from = timezone.localdate() - timedelta(days=default_days)
    date_from = limits.window_start(date_from, query.get("date_to"))
    return selectors.CaseFilter(
        date_from=date_from,
        date_to=query.get("date_to"),
        categories=tuple(query.get("category") or ()),
        states=tuple(query.get("state") or ()),
        levels=tuple(query.get("level") or ()),
        street=query.get("street"),
        community=query.get("community"),
        district=query.get("district"),
        grid=query.get("grid"),
    )


class GridFiguresQuery(CaseFilterQuery):
    in_bbox = BBoxField(required=False)
    community = serializers.CharField(max_length=15, required=False)
    grid = serializers.CharField(max_length=15, required=False)
    care_tag = serializers.ChoiceField(choices=CareTag.choices, required=False)


class GridFiguresView(APIView):
    """Per grid in view: buildings, households, people, care-tagged people, cases, open cases, cases per 1,000.
    A manager with a region gets the grids of that region only."""

    @extend_schema(parameters=[GridFiguresQuery], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        query = {**_validated(GridFiguresQuery, request.query_params), **manager_region(request.user)}
        body = selectors.grid_figures(
            bbox=query.get("in_bbox"),
            street=query.get("street"),
            community=query.get("community"),
            grid=query.get("grid"),
            care_tag=query.get("care_tag"),
            cases=case_filter({**query, "street": None}, default_days=365),
        )
        return _json(body)


def tile_shift(z: int, x: int, y: int, crs: str) -> tuple[float, float]:
    """Degrees to move footprints by so that they sit on a GCJ-02 base map (constant over one tile at z ≥ 14)."""
    if crs != "gcj02":
        return 0.0, 0.0
    import math

    n = 2**z
    lon = (x + 0.5) / n * 360.0 - 180.0
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + 0.5) / n))))
    glon, glat = wgs84_to_gcj02(lon, lat)
    return glon - lon, glat - lat


class BuildingTileView(APIView):
    """Building footprints as a Mapbox vector tile (layer `buildings`), from PostGIS ST_AsMVT; empty below z14.
    With an ETag naming the map's stamp (grids migration 0008): 304 while the client's copy is current; each process
    keeps the tiles it made under that stamp, so a tile asked again costs no tile query."""

    @extend_schema(responses={(200, "application/vnd.mapbox-vector-tile"): bytes, 304: None})
    def get(self, request, z: int, x: int, y: int):
        if not (0 <= z <= 22 and 0 <= x < 2**z and 0 <= y < 2**z):
            raise NotFound(_("没有这个瓦片。No such tile."))
        crs = "gcj02" if request.query_params.get("crs") == "gcj02" else "wgs84"
        shift = tile_shift(z, x, y, crs)
        version = selectors.map_version() if z >= selectors.TILE_MIN_ZOOM else 0
        encoded = []

        def body() -> bytes:
            # A tile of a kilobyte or more goes gzipped to a client that takes it, from the process's cache.
            tile = selectors.building_tile(z=z, x=x, y=y, shift=shift, version=version)
            if len(tile) < JsonCompressionMiddleware.MIN_BYTES or not ACCEPTS_GZIP.search(
                request.headers.get("Accept-Encoding", "")
            ):
                return tile
            encoded.append("gzip")
            return selectors.building_tile_gzip(z=z, x=x, y=y, shift=shift, version=version)

        response = conditional_response(
            request,
            etag=selectors.building_tile_etag(z=z, x=x, y=y, shift=shift, version=version),
            body=body,
            content_type="application/vnd.mapbox-vector-tile",
            headers={"Cache-Control": "private, max-age=600", "Vary": "Cookie, Authorization, Accept-Encoding"},
        )
        if encoded:
            response["Content-Encoding"] = "gzip"
        return response


class SearchQuery(serializers.Serializer):
    q = serializers.CharField(min_length=1, max_length=64)


class SearchView(APIView):
    """Find a person (by name), household (by room), or building (by code, name or address) → its building."""

    @extend_schema(parameters=[SearchQuery], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        query = _validated(SearchQuery, request.query_params)
        return Response({"results": selectors.search(user=request.user, text=query["q"])})


class LabelsQuery(serializers.Serializer):
    in_bbox = BBoxField()
    zoom = serializers.IntegerField(min_value=0, max_value=22)


def label_kinds_for(user) -> tuple[str, ...]:
    """Names a role sees on its maps: streets, communities, grids and units for all; buildings where the role has
    the building layer (managers see figures, not buildings)."""
    kinds = ("street", "community", "grid", "unit")
    if "buildings" in roles.LAYERS.get(roles.role_of(user), []):
        kinds += ("building",)
    return kinds


class LabelsView(APIView):
    """The registry's names in the view that fit the zoom (streets, communities, grids, units; buildings from z17
    for roles with the building layer), each at a point on its surface: a GeoJSON FeatureCollection of points."""

    @extend_schema(parameters=[LabelsQuery], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        query = _validated(LabelsQuery, request.query_params)
        features = selectors.labels_geojson(
            bbox=query["in_bbox"], zoom=query["zoom"], kinds=label_kinds_for(request.user)
        )
        return _json('{"type": "FeatureCollection", "features": ' + features + "}", cache="private, max-age=300")


class CasePhotoView(APIView):
    """A photo on a case (cases.selectors.photos_on_case), by its content hash, for those who may see that case;
    `?thumb=1` (the photo itself while the worker has not made the thumbnail yet, kept by the browser for a minute
    only)."""

    @extend_schema(responses={(200, "image/*"): bytes})
    def get(self, request, sha256: str):
        from cases.selectors import visible_photo

        photo = visible_photo(sha256, request.user)
        if photo is None:
            raise NotFound(_("照片不存在或您无权查看"))
        if request.query_params.get("thumb") and photo.thumbnail:
            stored, content_type = photo.thumbnail, "image/jpeg"
        else:  # the photo itself, also in place of a thumbnail the worker has not made yet
            stored, content_type = photo.image, photo.content_type
        response = FileResponse(stored.open("rb"), content_type=content_type)
        if request.query_params.get("thumb") and not photo.thumbnail:
            response["Cache-Control"] = "private, max-age=60"  # asked again soon: the thumbnail will be there
        else:
            response["Cache-Control"] = "private, max-age=86400, immutable"
        return response


# --- APIs: dashboard ------------------------------------------------------------------------------------------


class SeesDashboard(BasePermission):
    def has_permission(self, request, view):
        return roles.may_open(request.user, "dashboard")


def heavy(method):
    """Run a view method in one of the few heavy-request slots (gridmgmt/dblimits.py); 503 when none is free."""

    @functools.wraps(method)
    def wrapped(*args, **kwargs):
        try:
            with dblimits.heavy_request():
                return method(*args, **kwargs)
        except dblimits.Busy:
            return busy_response()

    return wrapped


class HexBinsQuery(CaseFilterQuery):
    in_bbox = BBoxField()
    zoom = serializers.IntegerField(min_value=3, max_value=20)
    measure = serializers.ChoiceField(choices=["count", "per_1000"], required=False, default="count")

    def validate(self, attrs):
        attrs = super().validate(attrs)
        bbox, zoom, limit = attrs["in_bbox"], attrs["zoom"], limits.HEX_BINS_PER_REQUEST
        if max(abs(bbox[1]), abs(bbox[3])) > selectors.WEB_MERCATOR_MAX_LAT:
            raise serializers.ValidationError(
                {"in_bbox": ["纬度须在 ±85.05° 之内（Web 墨卡托）。Latitudes must lie within ±85.05° (Web Mercator)."]}
            )
        needed = selectors.hex_bins_needed(bbox=bbox, zoom=zoom)
        if needed > limit:
            area = round(selectors.hex_bins_area_km2(bbox=bbox, zoom=zoom, bins=limit))
            raise serializers.ValidationError(
                {
                    "in_bbox": [
                        f"每次最多 {limit} 个六边形（第 {zoom} 级约 {area} 平方公里）；此范围约需 {needed} 个，"
                        f"请降低缩放级别或缩小范围。At most {limit} hexagon bins per request (about {area} km² at "
                        f"zoom {zoom}); this bbox needs about {needed}: use a lower zoom or a smaller bbox."
                    ]
                }
            )
        return attrs


class HexBinsView(APIView):
    """Cases in the view binned into hexagons (ST_HexagonGrid in EPSG:3857, sized from the zoom)."""

    permission_classes = [SeesDashboard]

    @extend_schema(parameters=[HexBinsQuery], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        query = _validated(HexBinsQuery, request.query_params)
        region = drill_region(request.user, query.get("region"))
        try:  # a heavy-request slot only when the bins are not in the cache
            features = selectors.hex_bins(
                bbox=query["in_bbox"],
                zoom=query["zoom"],
                cases=case_filter({**query, **manager_region(request.user), **region.filters()}),
                per_1000=query["measure"] == "per_1000",
            )
        except dblimits.Busy:
            return busy_response()
        head = json.dumps({"type": "FeatureCollection", "hex_size_m": selectors.hex_size_for_zoom(query["zoom"])})
        return _json(head[:-1] + ', "features": ' + features + "}")


class DashboardSummaryView(APIView):
    """For the region (`region=` a code; default the manager's region or everything): trend by month (the current
    month `partial`), light totals, streets, communities, grids and units ranked by on-time rate, grid workers by
    reports and verifications, and the region with its path for breadcrumbs."""

    permission_classes = [SeesDashboard]

    @extend_schema(parameters=[CaseFilterQuery], responses={200: OpenApiTypes.OBJECT, **errors(400, 403)})
    def get(self, request):
        query = _validated(CaseFilterQuery, request.query_params)
        region = drill_region(request.user, query.get("region"))
        filters = case_filter({**query, **manager_region(request.user), **region.filters()})
        return Response(stats.dashboard_summary(cases=filters, region=region))


EXPORT_COLUMNS = ["section", "key", "name", "count", "closed", "closed_on_time", "on_time_rate", "per_1000"]


def export_rows(query: dict, region: selectors.Region) -> list[list]:
    filters = case_filter({**query, **region.filters()})
    summary = stats.dashboard_summary(cases=filters, region=region)
    hexes = json.loads(
        selectors.hex_bins(
            bbox=query["in_bbox"],
            zoom=query["zoom"],
            cases=filters,
            per_1000=query["measure"] == "per_1000",
            heavy=False,  # the export's view holds a heavy-request slot already
        )
    )
    rows: list[list] = []
    for feature in hexes:
        ring = feature["geometry"]["coordinates"][0][:-1]
        lon = round(sum(p[0] for p in ring) / len(ring), 5)
        lat = round(sum(p[1] for p in ring) / len(ring), 5)
        props = feature["properties"]
        rows.append(["hexagon", f"{lon},{lat}", "", props["count"], None, None, None, props["per_1000"]])
    rows.append(["region", region.code, region.name, summary["total"], None, None, None, None])
    for month in summary["months"]:
        name = _("本月至今") if month["partial"] else ""
        rows.append(
            ["month", month["month"], name, month["received"], month["closed"], month["closed_on_time"], None, None]
        )
    for light, n in sorted(summary["lights"].items()):
        rows.append(["light", light, "", n, None, None, None, None])
    child = region.child_level
    sections = [s for s, level in RANKINGS if child and LEVEL_DEPTH[level] >= LEVEL_DEPTH[child]] + ["units"]
    for section in sections:
        for item in summary[section]:
            rows.append(
                [
                    section[:-1],
                    item["code"],
                    item["name"],
                    item["received"],
                    item["closed"],
                    item["closed_on_time"],
                    item["on_time_rate"],
                    None,
                ]
            )
    for item in summary["workers"]:
        rows.append(
            ["worker", item["code"], item["name"], item["reports"], item["valid_reports"], item["verified_on_time"],
             item["on_time_verify_rate"], None]
        )  # fmt: skip
    return rows


# Rankings of regions below the drilled one (a street's page ranks its communities and grids).
RANKINGS = [("streets", "street"), ("communities", "community"), ("grids", "grid")]
LEVEL_DEPTH = {"street": 1, "community": 2, "grid": 3}


class DashboardExportView(APIView):
    """The current view of the dashboard (hexagons, months, lights, streets, units) as CSV or xlsx."""

    permission_classes = [SeesDashboard]

    @extend_schema(parameters=[HexBinsQuery], responses={(200, "text/csv"): bytes, (200, XLSX): bytes})
    @heavy
    def get(self, request, fmt: str):
        query = _validated(HexBinsQuery, request.query_params)
        region = drill_region(request.user, query.get("region"))
        rows = export_rows({**query, **manager_region(request.user)}, region)
        stamp = date.today().strftime("%Y%m%d")
        if fmt == "csv":
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(EXPORT_COLUMNS)
            writer.writerows(rows)
            response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="dashboard-{region.code or "all"}-{stamp}.csv"'
        else:
            book = Workbook()
            sheet = book.active
            sheet.title = "dashboard"
            sheet.append(EXPORT_COLUMNS)
            for row in rows:
                sheet.append(row)
            out = io.BytesIO()
            book.save(out)
            response = HttpResponse(out.getvalue(), content_type=XLSX)
            response["Content-Disposition"] = f'attachment; filename="dashboard-{region.code or "all"}-{stamp}.xlsx"'
        response["Cache-Control"] = "no-store"
        return response


# --- APIs: assessment (综合评价) --------------------------------------------------------------------------------


class AssessmentQuery(serializers.Serializer):
    region = region_field()
    date_from = serializers.DateField(required=False, validators=[sensible_date])
    date_to = serializers.DateField(required=False, validators=[sensible_date])

    def validate(self, attrs):
        if attrs.get("date_from") and attrs.get("date_to") and attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError({"date_to": _("结束日期不能早于开始日期")})
        limits.window_start(attrs.get("date_from"), attrs.get("date_to"))
        return attrs


ASSESSMENT_CACHE_SECONDS = 300


def assessment_tables(user, query: dict) -> dict:
    """The assessment of the region (default the manager's own), of each region one level down, of each unit, and of
    each month of the period (default the twelve months to today; months not covered whole marked partial).

    Kept for ASSESSMENT_CACHE_SECONDS per account, region, period and language: the district's takes tens of seconds
    on a district's year of cases, and the page and its exports ask for the same tables."""
    from django.core.cache import cache
    from django.utils.translation import get_language

    from cases.periods import default_window

    region = drill_region(user, query.get("region"))
    end = query.get("date_to") or timezone.localdate()
    start = query.get("date_from") or default_window(end, trend=True)
    key = f"assessment:{user.pk}:{region.code or 'all'}:{start}:{end}:{get_language()}"
    data = cache.get(key)
    if data is None:
        data = _assessment_tables(user, region, start, end)
        cache.set(key, data, ASSESSMENT_CACHE_SECONDS)
    return data


def _assessment_tables(user, region: selectors.Region, start: date, end: date) -> dict:
    from cases import stats as case_stats
    from cases.selectors import stats_scope

    dates = {"date_from": start, "date_to": end}
    scope, _described = stats_scope(user=user, query={"region": region.code or None, **dates})
    children = []
    for child in selectors.child_regions(region):
        child_scope, _described = stats_scope(user=user, query={"level": child["level"], "id": child["id"], **dates})
        values = {item["code"]: item["value"] for item in case_stats.assessment(child_scope)}
        children.append({"code": child["code"], "name": child["name"], "level": child["level"], **values})
    unit_rows = case_stats.units(scope)["rows"]
    units = []
    for row in unit_rows:
        units.append(
            {
                "code": row["unit"]["code"],
                "name": row["unit"]["name"],
                **{key: value for key, value in row.items() if key != "unit"},
                "rework_rate": case_stats.rate(row["rework"], row["resolved"]),
            }
        )
    unit_codes = [*case_stats.UNIT_CODES, "rework_rate"]
    return {
        "region": region.as_dict(),
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "columns": case_stats.columns(case_stats.ASSESSMENT_CODES),
        "overall": case_stats.assessment(scope, unit_rows=unit_rows),
        "regions": children,
        "unit_columns": case_stats.columns(unit_codes),
        "units": units,
        "month_columns": case_stats.columns(case_stats.TREND_CODES),
        "months": case_stats.trend(scope)["rows"],
    }


class AssessmentView(APIView):
    """综合评价 (GB/T 30428): for the region (`region=` a code, default the manager's own) and period (default the
    twelve months to today): its indicators, those of each region one level down, of each unit, and by month
    (`partial`: the month is not covered whole, e.g. 本月至今)."""

    permission_classes = [SeesDashboard]

    @extend_schema(parameters=[AssessmentQuery], responses={200: OpenApiTypes.OBJECT, **errors(400, 403)})
    @heavy
    def get(self, request):
        query = _validated(AssessmentQuery, request.query_params)
        return Response(assessment_tables(request.user, query))


def assessment_sheets(data: dict) -> list[tuple[str, list, list[list]]]:
    """The assessment as tables (name, header, rows) for CSV and xlsx; headers in Chinese with the codes."""
    codes = [column["code"] for column in data["columns"]]
    labels = [column["label"] for column in data["columns"]]
    region = data["region"]
    regions = [[region["code"] or "all", region["name"] or _("全区"), *(i["value"] for i in data["overall"])]]
    regions += [[row["code"], row["name"], *(row[code] for code in codes)] for row in data["regions"]]
    unit_codes = [column["code"] for column in data["unit_columns"]]
    units = [[row["code"], row["name"], *(row[code] for code in unit_codes)] for row in data["units"]]
    month_codes = [column["code"] for column in data["month_columns"]]
    months = [
        [row["month"], _("本月至今") if row["partial"] else "", *(row[code] for code in month_codes)]
        for row in data["months"]
    ]
    return [
        ("regions", [_("代码"), _("区域"), *labels], regions),
        ("units", [_("代码"), _("单位"), *(c["label"] for c in data["unit_columns"])], units),
        ("months", [_("月份"), _("说明"), *(c["label"] for c in data["month_columns"])], months),
    ]


class AssessmentExportView(APIView):
    """综合评价 as CSV (the three tables one after another) or xlsx (one sheet each): regions, units, months."""

    permission_classes = [SeesDashboard]

    @extend_schema(
        parameters=[AssessmentQuery], responses={(200, "text/csv"): bytes, (200, XLSX): bytes, **errors(400, 403)}
    )
    @heavy
    def get(self, request, fmt: str):
        query = _validated(AssessmentQuery, request.query_params)
        data = assessment_tables(request.user, query)
        sheets = assessment_sheets(data)
        name = f"assessment-{data['region']['code'] or 'all'}-{data['period']['from']}-{data['period']['to']}"
        if fmt == "csv":
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            for index, (title, header, rows) in enumerate(sheets):
                if index:
                    writer.writerow([])
                writer.writerow([f"# {title}"])
                writer.writerow(header)
                writer.writerows(rows)
            response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        else:
            book = Workbook()
            book.remove(book.active)
            for title, header, rows in sheets:
                sheet = book.create_sheet(title)
                sheet.append(header)
                for row in rows:
                    sheet.append(row)
            out = io.BytesIO()
            book.save(out)
            response = HttpResponse(out.getvalue(), content_type=XLSX)
            response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
        response["Cache-Control"] = "no-store"
        return response


# --- APIs: public (no login) ----------------------------------------------------------------------------------


class PublicStatsView(APIView):
    """政务公开: per street and month, received, closed and closed on time by category group. No personal data."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        return Response(stats.public_stats(), headers={"Cache-Control": "public, max-age=300"})


class PublicGridsView(APIView):
    """Grid outlines shaded by case counts; never a case, a person or an exact location."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        body = '{"type": "FeatureCollection", "features": ' + stats.public_grid_figures() + "}"
        return _json(body, cache="public, max-age=300")


class PublicLabelsView(APIView):
    """Street, community and grid names for the public map (what /api/v1/public/grids already shows)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(parameters=[LabelsQuery], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        query = _validated(LabelsQuery, request.query_params)
        features = selectors.labels_geojson(
            bbox=query["in_bbox"], zoom=query["zoom"], kinds=selectors.PUBLIC_LABEL_KINDS
        )
        return _json('{"type": "FeatureCollection", "features": ' + features + "}", cache="public, max-age=300")


PUBLIC_CASE_NUMBER = r"^[A-Za-z0-9-]{4,24}$"


class PublicCaseNumber(serializers.Serializer):
    number = serializers.RegexField(PUBLIC_CASE_NUMBER, max_length=24)


class PublicCaseSerializer(serializers.Serializer):
    number = serializers.CharField()
    state = serializers.ChoiceField(choices=State.choices)
    state_label = serializers.CharField()
    received_on = serializers.DateField()
    deadline_on = serializers.DateField(allow_null=True)
    closed_on = serializers.DateField(allow_null=True)
    closed_on_time = serializers.BooleanField(allow_null=True)


class PublicCaseView(APIView):
    """政务公开: where a case stands, by its number — its state and dates only (no description, place, photo,
    person or unit). 社会治理 cases are answered as unknown, as Open311 does. Each client address may look up
    settings.PUBLIC_LOOKUP_LIMIT[0] numbers per PUBLIC_LOOKUP_LIMIT[1] seconds (429 with Retry-After beyond)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "number", OpenApiTypes.STR, OpenApiParameter.PATH, pattern=PUBLIC_CASE_NUMBER, description=_("案件编号")
            )
        ],
        responses={
            200: PublicCaseSerializer,
            **errors(
                400, 429, descriptions={429: "Too many look-ups from this address: retry after `Retry-After` seconds."}
            ),
        },
    )
    def get(self, request, number: str):
        number = _validated(PublicCaseNumber, {"number": number})["number"]
        attempts, seconds = settings.PUBLIC_LOOKUP_LIMIT
        address = client_address(request) or "unknown"
        wait = counters.book([counters.Limit(f"public-case:{address}", attempts)], window=timedelta(seconds=seconds))
        if wait:
            raise Throttled(wait=wait, detail=_("查询过于频繁，请稍后再试。"))
        found = selectors.public_case(number)
        if found is None:
            raise NotFound(_("没有这个案件编号，或该案件不公开。"))
        return Response(PublicCaseSerializer(found).data, headers={"Cache-Control": "no-store"})
