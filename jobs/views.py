"""Export jobs over the API (/api/v1/export-jobs) and the exports page (/exports/)."""

from django.core.files.storage import default_storage
from django.http import FileResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from gridmgmt import problems
from gridmgmt.api import JSON_PARSERS, validated
from gridmgmt.openapi import errors
from grids.gisio import policy
from grids.gisio.exporters import CONTENT_TYPES, FORMATS, ExportError, available_layers, tables_for
from grids.io_views import export_request, export_role
from jobs import selectors, services
from jobs.serializers import ExportJobRequest, ExportJobSerializer
from maps.views import _page


class ExportJobsView(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = JSON_PARSERS

    @extend_schema(summary="Your recent export jobs", responses={200: ExportJobSerializer(many=True)})
    def get(self, request):
        return Response(ExportJobSerializer(selectors.jobs_of(request.user), many=True).data)

    @extend_schema(
        summary="Queue an export of a layer; the worker writes the file, poll the job for progress",
        request=ExportJobRequest,
        responses={202: ExportJobSerializer, **errors(403, 404)},
    )
    def post(self, request):
        query = validated(ExportJobRequest, request.data)
        export = export_request(request.user, query["layer"], query["format"], query["filters"])
        try:
            tables_for(export["layer"], export["filters"])  # a filter the layer does not have is refused now
        except ExportError as error:
            raise ValidationError({"filters": [str(error)]}) from error
        job = services.start_export(user=request.user, export=export)
        body = ExportJobSerializer(job).data
        return Response(
            body, status=status.HTTP_202_ACCEPTED, headers={"Location": reverse("export-job", args=[job.pk])}
        )


class ExportJobView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="An export job's state and progress", responses={200: ExportJobSerializer, **errors(404)})
    def get(self, request, pk):
        return Response(ExportJobSerializer(_job(request.user, pk)).data)


class ExportJobFileView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="The file of a finished export job",
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **errors(404, 409)},
    )
    def get(self, request, pk):
        job = _job(request.user, pk)
        if job.state != "done" or not job.file_name or not default_storage.exists(job.file_name):
            return problems.problem(
                409, detail=_("导出尚未完成（%(state)s）。") % {"state": job.get_state_display()}, state=job.state
            )
        return FileResponse(
            default_storage.open(job.file_name, "rb"),
            as_attachment=True,
            filename=f"{job.layer}.{job.fmt}",
            content_type=CONTENT_TYPES[job.fmt],
        )


def _job(user, pk):
    job = selectors.job_for(user, pk)
    if job is None:
        raise NotFound(_("没有这个导出任务。"))
    return job


LAYER_LABELS = {
    "districts": gettext_lazy("区"),
    "streets": gettext_lazy("街道"),
    "communities": gettext_lazy("社区"),
    "grids": gettext_lazy("网格"),
    "buildings": gettext_lazy("楼栋"),
    "households": gettext_lazy("住户"),
    "persons": gettext_lazy("人员"),
    "units": gettext_lazy("单位"),
    "cases": gettext_lazy("案件"),
}
PAGE_STRINGS = {
    "queued": gettext_lazy("排队中"),
    "running": gettext_lazy("进行中"),
    "done": gettext_lazy("已完成"),
    "failed": gettext_lazy("失败"),
    "download": gettext_lazy("下载"),
    "rows": gettext_lazy("行"),
    "none": gettext_lazy("暂无导出任务"),
}


def exports_page(request):
    """Pick a layer and a format; the worker writes the file while the page shows its progress."""
    return _page(
        request,
        "exports",
        "jobs/exports.html",
        {
            "layers": [
                {"key": layer, "label": str(LAYER_LABELS.get(layer, layer))}
                for layer in available_layers()
                if policy.may_export(export_role(request.user), layer)
            ],
            "formats": list(FORMATS),
            "strings": {key: str(value) for key, value in PAGE_STRINGS.items()},
        },
    )
