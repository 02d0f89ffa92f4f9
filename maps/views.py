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
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from openpyxl import Workbook
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from gridmgmt import dblimits, limits
from gridmgmt.conditional import conditional_response
from gridmgmt.middleware import busy_response
from cases.models import State
from grids.coords import wgs84_to_gcj02
from grids.models import CareTag, Role, Street, UnitType
from grids.serializers import BBoxField, sensible_date
from maps import roles, selectors, stats
from maps.strings import js_strings


def _validated(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _json(body: str, *, cache: str = "private, no-cache") -> HttpResponse:
    response = HttpResponse(body, content_type="application/json")
    response["Cache-Control"] = cache
    return response


# --- Base maps -----------------------------------------------------------------------------------------------

BASEMAPS = {
    "osm": {
        "label": "OpenStreetMap",
        "gcj02": False,
        "layers": [
            {
                "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                "options": {"maxZoom": 19, "attribution": "© OpenStreetMap contributors"},
            }
        ],
    },
    "tianditu": {
        "label": "天地图",
        "gcj02": False,
        "layers": [
            {
                "url": "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}"
                "&tk={key}",
                "options": {"subdomains": "01234567", "maxZoom": 18, "attribution": "© 天地图"},
                "layer": layer,
            }
            for layer in ("vec", "cva")
        ],
    },
    "amap": {
        "label": "高德地图",
        "gcj02": True,
        "layers": [
            {
                "url": "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
                "options": {"subdomains": "1234", "maxZoom": 18, "attribution": "© 高德地图 (GCJ-02)"},
            }
        ],
    },
}


def basemap_config() -> dict:
    """The configured base map (settings.BASEMAP); `none`, unknown names or 天地图 without a key draw no base map."""
    name = settings.BASEMAP
    spec = BASEMAPS.get(name)
    if spec is None or (name == "tianditu" and not settings.TIANDITU_KEY):
        return {"name": "none", "gcj02": False, "layers": []}
    layers = []
    for layer in spec["layers"]:
        url = layer["url"].replace("{key}", settings.TIANDITU_KEY).replace("{layer}", layer.get("layer", ""))
        layers.append({"url": url, "options": layer["options"]})
    return {"name": name, "label": spec["label"], "gcj02": spec["gcj02"], "layers": layers}


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


def dashboard_page(request):
    return _page(
        request,
        "dashboard",
        "maps/dashboard.html",
        {"categories": _categories() if request.user.is_authenticated else []},
    )


def public_page(request):
    return _page(request, "public", "maps/public.html", {})


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


class CaseFilterQuery(serializers.Serializer):
    date_from = serializers.DateField(required=False, validators=[sensible_date])
    date_to = serializers.DateField(required=False, validators=[sensible_date])
    category = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False)
    state = serializers.ListField(child=serializers.ChoiceField(choices=State.choices), required=False)
    level = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=4), required=False)
    street = serializers.CharField(max_length=15, required=False)

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
        return conditional_response(
            request,
            etag=selectors.building_tile_etag(z=z, x=x, y=y, shift=shift, version=version),
            body=lambda: selectors.building_tile(z=z, x=x, y=y, shift=shift, version=version),
            content_type="application/vnd.mapbox-vector-tile",
            headers={"Cache-Control": "private, max-age=600", "Vary": "Cookie, Authorization"},
        )


class SearchQuery(serializers.Serializer):
    q = serializers.CharField(min_length=1, max_length=64)


class SearchView(APIView):
    """Find a person (by name), household (by room), or building (by code, name or address) → its building."""

    @extend_schema(parameters=[SearchQuery], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        query = _validated(SearchQuery, request.query_params)
        return Response({"results": selectors.search(user=request.user, text=query["q"])})


class CasePhotoView(APIView):
    """A photo on a case (cases.selectors.photos_on_case), by its content hash, for those who may see that case;
    `?thumb=1`."""

    @extend_schema(responses={(200, "image/*"): bytes})
    def get(self, request, sha256: str):
        from cases.selectors import visible_photo

        photo = visible_photo(sha256, request.user)
        if photo is None:
            raise NotFound(_("照片不存在或您无权查看"))
        stored = photo.thumbnail if request.query_params.get("thumb") else photo.image
        content_type = "image/jpeg" if request.query_params.get("thumb") else photo.content_type
        response = FileResponse(stored.open("rb"), content_type=content_type)
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
    @heavy
    def get(self, request):
        query = _validated(HexBinsQuery, request.query_params)
        features = selectors.hex_bins(
            bbox=query["in_bbox"],
            zoom=query["zoom"],
            cases=case_filter({**query, **manager_region(request.user)}),
            per_1000=query["measure"] == "per_1000",
        )
        head = json.dumps({"type": "FeatureCollection", "hex_size_m": selectors.hex_size_for_zoom(query["zoom"])})
        return _json(head[:-1] + ', "features": ' + features + "}")


class DashboardSummaryView(APIView):
    """Trend by month, light totals, streets and units ranked by on-time rate."""

    permission_classes = [SeesDashboard]

    @extend_schema(parameters=[CaseFilterQuery], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        query = _validated(CaseFilterQuery, request.query_params)
        return Response(stats.dashboard_summary(cases=case_filter({**query, **manager_region(request.user)})))


EXPORT_COLUMNS = ["section", "key", "name", "count", "closed", "closed_on_time", "on_time_rate", "per_1000"]


def export_rows(query: dict) -> list[list]:
    filters = case_filter(query)
    summary = stats.dashboard_summary(cases=filters)
    hexes = json.loads(
        selectors.hex_bins(
            bbox=query["in_bbox"], zoom=query["zoom"], cases=filters, per_1000=query["measure"] == "per_1000"
        )
    )
    rows: list[list] = []
    for feature in hexes:
        ring = feature["geometry"]["coordinates"][0][:-1]
        lon = round(sum(p[0] for p in ring) / len(ring), 5)
        lat = round(sum(p[1] for p in ring) / len(ring), 5)
        props = feature["properties"]
        rows.append(["hexagon", f"{lon},{lat}", "", props["count"], None, None, None, props["per_1000"]])
    for month in summary["months"]:
        rows.append(
            ["month", month["month"], "", month["received"], month["closed"], month["closed_on_time"], None, None]
        )
    for light, n in sorted(summary["lights"].items()):
        rows.append(["light", light, "", n, None, None, None, None])
    for section in ("streets", "units"):
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
    return rows


class DashboardExportView(APIView):
    """The current view of the dashboard (hexagons, months, lights, streets, units) as CSV or xlsx."""

    permission_classes = [SeesDashboard]

    @extend_schema(parameters=[HexBinsQuery], responses={(200, "text/csv"): bytes})
    @heavy
    def get(self, request, fmt: str):
        query = _validated(HexBinsQuery, request.query_params)
        rows = export_rows({**query, **manager_region(request.user)})
        stamp = date.today().strftime("%Y%m%d")
        if fmt == "csv":
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(EXPORT_COLUMNS)
            writer.writerows(rows)
            response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="dashboard-{stamp}.csv"'
        else:
            book = Workbook()
            sheet = book.active
            sheet.title = "dashboard"
            sheet.append(EXPORT_COLUMNS)
            for row in rows:
                sheet.append(row)
            out = io.BytesIO()
            book.save(out)
            response = HttpResponse(
                out.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            )
            response["Content-Disposition"] = f'attachment; filename="dashboard-{stamp}.xlsx"'
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
