import hashlib
from urllib.parse import urlencode

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotAuthenticated, NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.models import Case
from cases.selectors import visible_cases
from cases.services import IntakeConflict, TransitionRefused
from gridmgmt import problems
from gridmgmt.api import JSON_PARSERS
from gridmgmt.conditional import conditional_response
from gridmgmt.openapi import errors
from gridmgmt.parsers import LimitedMultiPartParser
from grids import selectors as registry_selectors
from grids.models import Grid, Role
from mobileapi import idempotency, photos, selectors, services
from mobileapi.models import AccessToken
from mobileapi.serializers import (
    CasePhotoSerializer,
    PackageQuerySerializer,
    PatrolRequestSerializer,
    PatrolSerializer,
    PhotoFileSerializer,
    PhotoSerializer,
    PhotoUploadSerializer,
    RegistryChangeRequestSerializer,
    RegistryChangeSerializer,
    ReportCursorField,
    ReportListItemSerializer,
    ReportListQuerySerializer,
    ReportRequestSerializer,
    ReportSerializer,
    TaskCompleteSerializer,
    TaskCompletionSerializer,
    TaskSerializer,
    TokenRequestSerializer,
    TokenResponseSerializer,
    WorkerSerializer,
    report_body,
)


class TokenView(APIView):
    """POST issues a device token for a username and password; DELETE revokes the token presented."""

    parser_classes = JSON_PARSERS

    def _logging_in(self) -> bool:
        return getattr(self.request, "method", None) == "POST"

    def get_permissions(self):
        return [AllowAny()] if self._logging_in() else super().get_permissions()

    def get_authenticators(self):
        # Logging in must work even while the device still sends its old, expired token.
        return [] if self._logging_in() else super().get_authenticators()

    def get_authenticate_header(self, request):
        return "Token"  # a wrong password is a 401, as for any credential

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: TokenResponseSerializer, **errors(401, 429, descriptions={401: "Wrong username or password."})},
        auth=[],
    )
    def post(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, key = services.issue_token(request=request, **data.validated_data)
        body = {"token": key, "expires_at": token.expires_at, "worker": selectors.worker_profile(user=token.user)}
        return Response(TokenResponseSerializer(body).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request):
        if not isinstance(request.auth, AccessToken):
            raise NotAuthenticated(_("请用要注销的令牌调用。Call with the token to revoke."))
        services.revoke_token(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    """The signed-in worker, their units and their grids."""

    @extend_schema(responses={200: WorkerSerializer})
    def get(self, request):
        return Response(WorkerSerializer(selectors.worker_profile(user=request.user)).data)


CLIENT_UUID_REUSED = "`client_uuid_conflict`: the client_uuid was used before for different content (`existing`)."


def conflict_response(existing, message: str, **about):
    """409 naming the record the client UUID was first used for (its id, and what `about` adds)."""
    return problems.problem(409, detail=message, kind="client_uuid_conflict", existing={"id": existing.pk, **about})


class WorkersOnly(BasePermission):
    message = "只有网格员可以使用此接口。Only grid workers may use this."

    def has_permission(self, request, view):
        staff = getattr(request.user, "staff", None)
        return bool(staff and staff.role == Role.WORKER)


class PatrolView(APIView):
    """Record a patrol track; answers the share of the grid's area walked within 25 m. Grid workers only."""

    permission_classes = [IsAuthenticated, WorkersOnly]
    parser_classes = JSON_PARSERS

    @extend_schema(
        request=PatrolRequestSerializer,
        responses={200: PatrolSerializer, 201: PatrolSerializer, **errors(409, descriptions={409: CLIENT_UUID_REUSED})},
    )
    def post(self, request):
        data = PatrolRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            patrol, created = services.record_patrol(worker=request.user, **data.validated_data)
        except idempotency.ReplayConflict as conflict:
            return conflict_response(
                conflict.existing, "该 client_uuid 已用于另一条巡查记录。client_uuid reused for other content."
            )
        return Response(
            PatrolSerializer(patrol).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class ReportsView(APIView):
    """POST a report (idempotent by client_uuid); GET the worker's reports changed since a time, oldest change first
    (by `updated_at`, then id), at most `limit` of them: a full answer means there may be more."""

    permission_classes = [IsAuthenticated, WorkersOnly]
    parser_classes = JSON_PARSERS

    @extend_schema(
        request=ReportRequestSerializer,
        responses={200: ReportSerializer, 201: ReportSerializer, **errors(409, descriptions={409: CLIENT_UUID_REUSED})},
    )
    def post(self, request):
        data = ReportRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            case, created = services.submit_report(worker=request.user, **data.validated_data)
        except IntakeConflict as conflict:
            return conflict_response(
                conflict.existing,
                "该 client_uuid 已用于内容不同的另一份上报。client_uuid was used for a different report.",
                case_no=conflict.existing.number,
            )
        # A new case is answered from what was just written; a retry reads the case as it is now.
        report = selectors.written_report(case=case) if created else selectors.report(case_id=case.pk)
        return Response(report_body(report), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        description=(
            "The worker's own reports with their current state, one page at a time, oldest change first "
            "(`updated_at`, then `id`). Start with `since` (or nothing, for every report); while more reports "
            'follow, the response carries `Link: <…?cursor=…&limit=…>; rel="next"` (RFC 8288) with the next '
            "page's address; the last page has no such header. A report that changes while you page comes again "
            "on a later page; none is skipped."
        ),
        parameters=[
            ReportListQuerySerializer,
            OpenApiParameter(
                "Link",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                response=[200],
                description='`<url>; rel="next"` while more reports follow; absent on the last page',
            ),
        ],
        responses={200: ReportListItemSerializer(many=True)},
    )
    def get(self, request):
        query = ReportListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        reports, more = selectors.reports_of(user=request.user, **query.validated_data)
        response = Response(ReportListItemSerializer(reports, many=True).data)
        if more:
            last = reports[-1]
            cursor = ReportCursorField().to_representation((last.updated_at, last.pk))
            params = urlencode({"cursor": cursor, "limit": query.validated_data["limit"]})
            response["Link"] = f'<{request.build_absolute_uri(request.path)}?{params}>; rel="next"'
        return response


class PhotoParser(LimitedMultiPartParser):
    """A photo upload is refused by its declared length (413) before its body is read."""

    max_body = photos.MAX_BYTES + 1024 * 1024  # the photo and the form around it
    field = "photo"
    message = photos.TOO_LARGE


class ReportPhotosView(APIView):
    """Upload a before/after photo for one of the worker's reports (idempotent by content and kind)."""

    permission_classes = [IsAuthenticated, WorkersOnly]
    parser_classes = [PhotoParser]

    @extend_schema(
        request={"multipart/form-data": PhotoUploadSerializer},
        responses={200: CasePhotoSerializer, 201: CasePhotoSerializer, **errors(413)},
    )
    def post(self, request, client_uuid):
        case = Case.objects.filter(client_uuid=client_uuid, reporter=request.user).first()
        if case is None:
            raise NotFound("没有这份上报（或不是您上报的）。No such report of yours.")
        data = PhotoUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["photo"]
        try:
            attached, created = services.attach_photo(
                case=case, data=upload.read(), kind=data.validated_data["kind"], uploader=request.user
            )
        except photos.PhotoRejected as rejected:
            raise ValidationError({"photo": [str(rejected)]}) from None
        attached.case.refresh_from_db()
        return Response(
            CasePhotoSerializer(attached).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class GridPackageView(APIView):
    """Everything a worker needs offline for one of their grids, with an ETag (304 when unchanged) and `?since=`.
    Times in it (`open_cases[].received_at`, `step_deadline`) are RFC 3339 at +08:00 with milliseconds."""

    permission_classes = [IsAuthenticated, WorkersOnly]

    @extend_schema(parameters=[PackageQuerySerializer], responses={200: OpenApiTypes.OBJECT, 304: None})
    def get(self, request, pk: int):
        grid = get_object_or_404(Grid, pk=pk)
        if not request.user.staff.grids.filter(pk=grid.pk).exists():
            raise PermissionDenied("这不是您负责的网格。This grid is not one of yours.")
        query = PackageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        body = selectors.grid_package(grid_id=grid.pk, since=query.validated_data.get("since"))
        return conditional_response(
            request,
            etag='"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"',
            body=lambda: body,
            content_type="application/json",
            headers={"Cache-Control": "private, no-cache"},
        )


class TasksView(APIView):
    """核实 and 核查 tasks waiting for this worker, the nearest step deadline first; all of them, unpaged."""

    permission_classes = [IsAuthenticated, WorkersOnly]

    @extend_schema(responses={200: TaskSerializer(many=True)})
    def get(self, request):
        return Response(TaskSerializer(selectors.open_tasks(user=request.user), many=True).data)


class TaskCompleteView(APIView):
    """Answer a task (idempotent by client_uuid); the case moves on: verify, rework or a 核实 record."""

    permission_classes = [IsAuthenticated, WorkersOnly]
    parser_classes = JSON_PARSERS

    @extend_schema(
        request=TaskCompleteSerializer,
        responses={
            200: TaskCompletionSerializer,
            201: TaskCompletionSerializer,
            **errors(
                409,
                descriptions={
                    409: CLIENT_UUID_REUSED + " Or the task is no longer open (`task_closed`), or the workflow refused."
                },
            ),
        },
    )
    def post(self, request, pk: int):
        case = visible_cases(request.user).filter(pk=pk).first()
        if case is None:
            raise NotFound("没有这项任务。No such task.")
        data = TaskCompleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            completion, created = services.complete_task(worker=request.user, case=case, **data.validated_data)
        except idempotency.ReplayConflict as conflict:
            return conflict_response(conflict.existing, "该 client_uuid 已用于另一次任务提交。client_uuid reused.")
        except services.TaskClosed:
            return problems.problem(
                409, detail="该任务已不再等待办理（案件状态已变化）。The task is no longer open.", kind="task_closed"
            )
        except TransitionRefused as refusal:
            return problems.problem(409, detail=refusal.message, kind="transition_refused", code=refusal.reason)
        completion.case.refresh_from_db()
        body = TaskCompletionSerializer(completion).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class PhotosView(APIView):
    """Upload a photo on its own (for a task), once per content; answers its content hash to cite."""

    permission_classes = [IsAuthenticated, WorkersOnly]
    parser_classes = [PhotoParser]

    @extend_schema(
        request={"multipart/form-data": PhotoFileSerializer}, responses={200: PhotoSerializer, 201: PhotoSerializer}
    )
    def post(self, request):
        data = PhotoFileSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["photo"]
        try:
            photo, created = services.store_photo(data=upload.read(), uploader=request.user)
        except photos.PhotoRejected as rejected:
            raise ValidationError({"photo": [str(rejected)]}) from None
        return Response(PhotoSerializer(photo).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class RegistryChangesView(APIView):
    """POST a registry change request (信息采集; idempotent by client_uuid); GET the worker's requests, newest first."""

    permission_classes = [IsAuthenticated, WorkersOnly]
    parser_classes = JSON_PARSERS

    @extend_schema(
        request=RegistryChangeRequestSerializer,
        responses={
            200: RegistryChangeSerializer,
            201: RegistryChangeSerializer,
            **errors(409, descriptions={409: CLIENT_UUID_REUSED}),
        },
    )
    def post(self, request):
        data = RegistryChangeRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            change, created = services.submit_registry_change(worker=request.user, **data.validated_data)
        except idempotency.ReplayConflict as conflict:
            existing = conflict.existing
            return conflict_response(
                existing,
                "该 client_uuid 已用于内容不同的另一项采集申请。client_uuid used for another request.",
                client_uuid=str(existing.client_uuid),
                kind=existing.kind,
                state=existing.state,
            )
        change = registry_selectors.registry_changes().get(pk=change.pk)
        body = RegistryChangeSerializer(change).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(responses={200: RegistryChangeSerializer(many=True)})
    def get(self, request):
        changes = registry_selectors.changes_of_worker(worker=request.user)
        return Response(RegistryChangeSerializer(changes, many=True).data)


class RegistryChangeView(APIView):
    """One of the worker's change requests by its client_uuid, with its state and the decision note."""

    permission_classes = [IsAuthenticated, WorkersOnly]

    @extend_schema(responses={200: RegistryChangeSerializer})
    def get(self, request, client_uuid):
        change = registry_selectors.registry_changes().filter(worker=request.user, client_uuid=client_uuid).first()
        if change is None:
            raise NotFound("没有您的这项采集申请。No such request of yours.")
        return Response(RegistryChangeSerializer(change).data)
