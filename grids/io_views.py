"""GET /api/v1/export/{layer}.{fmt}: a layer (or cases) as a downloaded file.

Who may export which layer and fields: grids.gisio.policy. CSV and GeoJSON are streamed from a server-side cursor
as they are read (memory stays bounded, the first bytes leave at once); GeoPackage and xlsx need the whole file
before its first byte, so they are written to a temporary file that is gone before the download starts. ID numbers
and phones are exported masked in every case (grids.gisio.exporters).
"""

import tempfile
from pathlib import Path

from django.http import FileResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from gridmgmt.openapi import errors
from grids.gisio import policy
from grids.gisio.exporters import (
    CONTENT_TYPES,
    FORMATS,
    STREAMED,
    ExportError,
    available_layers,
    export_layer,
    stream_layer,
)
from grids.models import Role

FILTERS = ("district", "street", "community", "grid", "type", "state", "category", "level", "since", "until")


def export_role(user) -> str | None:
    if user.is_superuser:
        return Role.ADMIN
    staff = getattr(user, "staff", None)
    return staff.role if staff is not None else None


def export_request(user, layer: str, fmt: str, query) -> dict:
    """The export `user` asks for (a layer, a format, filters from `query`) as arguments of export_layer, once the
    role may have it; a street or community manager's region is put in the filters whatever the query asks."""
    role = export_role(user)
    if role not in policy.EXPORTS:
        raise PermissionDenied(policy.refusal(role, layer))
    if layer not in available_layers():
        raise NotFound(f"没有图层 {layer}。No layer {layer!r}; layers: {', '.join(available_layers())}.")
    if fmt not in FORMATS:
        raise NotFound(f"没有格式 {fmt}。No format {fmt!r}; formats: {', '.join(FORMATS)}.")
    if not policy.may_export(role, layer):
        raise PermissionDenied(policy.refusal(role, layer))
    filters = {name: str(query[name]) for name in FILTERS if query.get(name)}
    staff = getattr(user, "staff", None)
    if role == Role.MANAGER and staff is not None:
        if staff.community_id:
            filters["community"] = staff.community.code
        elif staff.street_id:
            filters["street"] = staff.street.code
    return {"layer": layer, "fmt": fmt, "filters": filters, "actor": user.get_username(), "role": role}


class ExportView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Export a layer as GeoPackage, GeoJSON, CSV or xlsx",
        parameters=[
            OpenApiParameter(name, str, description=f"filter by {name} (codes; cases: state, category, level, dates)")
            for name in FILTERS
        ],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **errors(403)},
    )
    def get(self, request, layer: str, fmt: str):
        job = export_request(request.user, layer, fmt, request.query_params)
        try:
            if fmt in STREAMED:
                response = StreamingHttpResponse(stream_layer(**job), content_type=CONTENT_TYPES[fmt])
                response["Content-Disposition"] = f'attachment; filename="{layer}.{fmt}"'
                return response
            with tempfile.TemporaryDirectory(prefix="gridmgmt-export-") as folder:
                path = Path(folder) / f"{layer}.{fmt}"
                export_layer(path=path, **job)
                handle = path.open("rb")  # stays readable after the folder is removed
        except ExportError as error:
            raise ValidationError({"detail": str(error)}) from error
        return FileResponse(handle, as_attachment=True, filename=f"{layer}.{fmt}", content_type=CONTENT_TYPES[fmt])
