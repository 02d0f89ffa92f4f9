"""Cases API: thin views over cases.services (writes) and cases.selectors (reads).

Refusals of the workflow (action not allowed from the state, by this actor or unit, stale version) are 409
with a `reason` and the actions this actor may take now; malformed input is 400 with field messages. A case the
user may not see is 404 on every path, exactly as for one that does not exist.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers as drf_serializers
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import selectors, services, stats
from cases.models import Source
from cases.routing import RoutingError
from cases.serializers import (
    CaseCreateSerializer,
    CaseDetailSerializer,
    CaseListQuerySerializer,
    RoutePreviewSerializer,
    RouteQuerySerializer,
    StatsQuerySerializer,
    TransitionSerializer,
    route_preview_body,
)
from gridmgmt import problems
from gridmgmt.api import JSON_PARSERS, PAGED_FEATURE_COLLECTION, paged_collection_head, validated
from gridmgmt.login_guard import client_address
from gridmgmt.openapi import ERROR_MEDIA_TYPE, errors
from grids.coords import to_wgs84_point
from grids.models import Role
from mobileapi import photos
from mobileapi.serializers import PhotoUploadSerializer
from mobileapi.views import PhotoParser

OUTSIDE_DISTRICT = _("该位置不在任何区县辖区内。The point lies outside every district.")

REFUSAL = inline_serializer(
    "TransitionRefused",
    {
        "type": drf_serializers.CharField(),
        "title": drf_serializers.CharField(),
        "status": drf_serializers.IntegerField(),
        "detail": drf_serializers.CharField(),
        "code": drf_serializers.CharField(),
        "reason": drf_serializers.CharField(),
        "state": drf_serializers.CharField(),
        "version": drf_serializers.IntegerField(),
        "allowed_actions": drf_serializers.ListField(child=drf_serializers.CharField()),
    },
)

DESK_PHOTO = inline_serializer(
    "DeskPhoto",
    {
        "sha256": drf_serializers.CharField(),
        "kind": drf_serializers.CharField(),
        "flagged": drf_serializers.BooleanField(),
        "distance_m": drf_serializers.FloatField(allow_null=True),
        "time_gap_hours": drf_serializers.FloatField(allow_null=True),
    },
)


def refusal_response(refusal: services.TransitionRefused):
    extensions = {"reason": refusal.reason, "allowed_actions": refusal.allowed}
    if refusal.case is not None:
        extensions.update(state=refusal.case.state, version=refusal.case.version)
    return problems.problem(409, detail=refusal.message, kind="transition_refused", **extensions)


def detail_response(case_id: int, request, *, status_code: int = 200) -> Response:
    case = selectors.case_detail(case_id, request.user)
    if case is None:  # acted on but no longer visible (e.g. dispatched to another unit)
        return Response({"id": case_id}, status=status_code)
    actor = services.actor_for(request.user)
    return Response(CaseDetailSerializer(case, context={"actor": actor}).data, status=status_code)


class RouteView(APIView):
    """Preview where a report of a category at a point would go, and why. Writes nothing."""

    @extend_schema(parameters=[RouteQuerySerializer], responses={200: RoutePreviewSerializer})
    def get(self, request):
        query = validated(RouteQuerySerializer, request.query_params)
        point = to_wgs84_point(query["lon"], query["lat"], query["crs"])
        category = query["category"]
        regions = selectors.regions_at(point=point)
        if regions.district_id is None:
            raise drf_serializers.ValidationError({"location": [OUTSIDE_DISTRICT]})
        try:
            route = selectors.resolve_route(point=point, category=category)
        except RoutingError as error:
            raise drf_serializers.ValidationError({"location": [str(error)]}) from None
        preview = {
            "category": category,
            "lon": point.x,
            "lat": point.y,
            "level": category.default_level,
            "regions": regions,
            "responsible_unit": route.responsible,
            "co_units": route.co_units,
            "routing_reason": route.reason,
        }
        return Response(route_preview_body(preview))


class CaseListView(APIView):
    """GET: the cases you may see as a GeoJSON FeatureCollection, page by page, newest first (by receipt time, then
    id): `count` is the total, `next` and `previous` the URLs of the neighbouring pages (null at either end).
    The properties' times (`received_at`, `step_deadline_at`, `deadline_at`) are RFC 3339 at +08:00 with
    milliseconds, as everywhere.
    POST: take a case at a desk or from the hotline (一窗受理), routed like a handheld report."""

    parser_classes = JSON_PARSERS

    @extend_schema(
        operation_id="cases_list", parameters=[CaseListQuerySerializer], responses={200: PAGED_FEATURE_COLLECTION}
    )
    def get(self, request):
        query = validated(CaseListQuerySerializer, request.query_params)
        page, size = query["page"], query["page_size"]
        cases = selectors.filter_cases(selectors.visible_cases(request.user), query)
        total, features = selectors.case_features_page(cases, limit=size, offset=(page - 1) * size)

        head = paged_collection_head(request, page=page, size=size, total=total)
        return Response({**head, "features": features})

    @extend_schema(
        request=CaseCreateSerializer,
        responses={
            201: CaseDetailSerializer,
            200: OpenApiResponse(CaseDetailSerializer, description="a retry with the same client_uuid and content"),
            **errors(
                409, descriptions={409: "`client_uuid_reused`: the client_uuid was used for a different case (`case`)."}
            ),
        },
    )
    def post(self, request):
        actor = services.actor_for(request.user)
        if actor.role not in (Role.DISPATCHER, Role.ADMIN, Role.WORKER):
            raise PermissionDenied(_("只有办理端口、网格员和管理员可以受理案件"))
        data = validated(CaseCreateSerializer, request.data)
        lon, lat = data["location"]
        try:
            case, created = services.create_case(
                category=data["category"],
                point=to_wgs84_point(lon, lat, data["crs"]),
                description=data["description"],
                address=data["address"],
                captured_at=data.get("captured_at"),
                source=data["source"],
                level=data.get("level"),
                client_uuid=data.get("client_uuid"),
                external_ref=data["external_ref"],
                attachments=data["attachments"],
                actor=request.user,
                reporter=request.user if data["source"] == Source.DESK else None,
                caller_name=data["caller_name"],
                caller_phone=data["caller_phone"],
            )
        except services.InvalidInput as error:
            raise drf_serializers.ValidationError(error.errors) from None
        except services.IntakeConflict as conflict:
            return problems.problem(
                409,
                detail=_("该 client_uuid 已用于内容不同的案件"),
                kind="client_uuid_conflict",
                reason="client_uuid_reused",
                case={"id": conflict.existing.pk, "number": conflict.existing.number},
            )
        return detail_response(case.pk, request, status_code=201 if created else 200)


class CaseDetailView(APIView):
    """A case with its routing reason, time limits, light, the actions you may take, and its whole history."""

    @extend_schema(responses={200: CaseDetailSerializer})
    def get(self, request, pk: int):
        case = selectors.case_detail(pk, request.user)
        if case is None:
            raise Http404
        actor = services.actor_for(request.user)
        return Response(CaseDetailSerializer(case, context={"actor": actor}).data)


class CaseTransitionView(APIView):
    """Apply one action of the workflow (see cases/workflow.py) to a case, with the version you last saw."""

    parser_classes = JSON_PARSERS

    @extend_schema(
        request=TransitionSerializer, responses={200: CaseDetailSerializer, (409, ERROR_MEDIA_TYPE): REFUSAL}
    )
    def post(self, request, pk: int):
        if not selectors.case_visible(pk, request.user):  # as GET answers: nothing about a case you may not see
            raise Http404
        data = validated(TransitionSerializer, request.data)
        try:
            case = services.apply_transition(case_id=pk, actor=request.user, **data)
        except services.InvalidInput as error:
            raise drf_serializers.ValidationError(error.errors) from None
        except services.TransitionRefused as refusal:
            return refusal_response(refusal)
        return detail_response(case.pk, request)


class CallerRevealRequestSerializer(drf_serializers.Serializer):
    reason = drf_serializers.CharField(min_length=4, max_length=500, help_text=_("查看理由，将记入审计日志"))


class CaseCallerRevealView(APIView):
    """The full phone of a case's caller (一窗受理): for those who may see the case and hold the reveal permission
    (as for residents' phones), with a reason; every reveal is written to the audit log."""

    parser_classes = JSON_PARSERS

    @extend_schema(
        request=CallerRevealRequestSerializer,
        responses={
            200: inline_serializer("CallerRevealed", {"phone": drf_serializers.CharField(required=False)}),
            **errors(403, 404),
        },
    )
    def post(self, request, pk: int):
        case = selectors.case_detail(pk, request.user)
        if case is None:
            raise Http404
        query = validated(CallerRevealRequestSerializer, request.data)
        try:
            revealed = services.reveal_caller(
                case=case, actor=request.user, reason=query["reason"], address=client_address(request)
            )
        except DjangoPermissionDenied as refusal:
            raise PermissionDenied(str(refusal)) from None
        response = Response(revealed)
        response["Cache-Control"] = "no-store"
        return response


# --- Statistics and assessment ----------------------------------------------------------------

STATS_RESPONSE = inline_serializer(
    "StatsSection",
    {
        "section": drf_serializers.CharField(),
        "region": drf_serializers.DictField(),
        "period": drf_serializers.DictField(),
        "scope": drf_serializers.DictField(),
        "indicators": drf_serializers.ListField(child=drf_serializers.DictField(), required=False),
        "columns": drf_serializers.ListField(child=drf_serializers.DictField(), required=False),
        "rows": drf_serializers.ListField(child=drf_serializers.DictField(), required=False),
    },
)


class StatsView(APIView):
    """Statistics and assessment (GB/T 30428) for a region and period: `summary` (区域概况), `reporters` (信息采集),
    `units` (处置单位), `dispatchers` (派遣), `steps` (环节用时), `trend` (by month, default the past 12 months);
    without a section, all but the trend. Formulas: cases/README.md. Each figure counts only the cases the asker
    may see; managers get reporters by grid and source, never by person; a grid worker only their own row."""

    section: str | None = None

    @extend_schema(parameters=[StatsQuerySerializer], responses={200: STATS_RESPONSE, **errors(403, 404)})
    def get(self, request):
        section = self.section
        query = validated(StatsQuerySerializer, request.query_params)
        scope, region = selectors.stats_scope(user=request.user, query=query, trend=section == "trend")
        body = {
            "section": section or "all",
            "region": region,
            "period": {"from": scope.start.isoformat(), "to": scope.end.isoformat()},
            "scope": {
                "cases": "all" if scope.visible is None else "visible",
                "reporters_by": scope.reporters_by,
            },
        }
        if section == "summary":
            body["indicators"] = stats.summary(scope)
        elif section:
            body.update(stats.SECTIONS[section](scope))
        else:
            body["summary"] = stats.summary(scope)
            for name in ("reporters", "units", "dispatchers", "steps"):
                body[name] = stats.SECTIONS[name](scope)
        return Response(body)


# --- Photos from the desk -----------------------------------------------------------------------


class CasePhotosView(APIView):
    """Add a photo to a case from the desk (multipart `photo`, `kind` before/after): the handling unit's 处置后 photo
    for 处置反馈, or a co-handling unit's photo for its feedback. Answers the content hash to cite as an attachment,
    and whether the photo's camera position or time lies far from the report (`flagged`)."""

    parser_classes = [PhotoParser]

    @extend_schema(
        request={"multipart/form-data": PhotoUploadSerializer},
        responses={
            200: DESK_PHOTO,
            201: DESK_PHOTO,
            (409, ERROR_MEDIA_TYPE): REFUSAL,
            **errors(403, 413, descriptions={403: "not a desk of the case's handling or co-handling units"}),
        },
    )
    def post(self, request, pk: int):
        case = selectors.visible_cases(request.user).select_related("responsible_unit").filter(pk=pk).first()
        if case is None:
            raise Http404
        if not services.may_attach_photo(case, services.actor_for(request.user)):
            raise PermissionDenied(_("只有案件主办、协办单位或指挥中心的办理端口可以添加照片"))
        data = validated(PhotoUploadSerializer, request.data)
        try:
            attached, created = services.attach_desk_photo(
                case=case, actor=request.user, data=data["photo"].read(), kind=data["kind"]
            )
        except photos.PhotoRejected as rejected:
            raise drf_serializers.ValidationError({"photo": [str(rejected)]}) from None
        except services.TransitionRefused as refusal:
            return refusal_response(refusal)
        body = {
            "sha256": attached.photo.sha256,
            "kind": attached.kind,
            "flagged": attached.flagged,
            "distance_m": attached.distance_m,
            "time_gap_hours": attached.time_gap_hours,
        }
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
