"""GET /api/v1/export/{layer}.{fmt}: a layer (or cases) as a file, streamed as an attachment.

For now only administrators and managers may export, and managers never the persons layer; ID numbers
and phones are exported masked in every case (grids.gisio.exporters).
"""

import tempfile
from pathlib import Path

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from gridmgmt.openapi import errors
from grids.gisio.exporters import CONTENT_TYPES, FORMATS, PERSONAL_LAYERS, ExportError, available_layers, export_layer
from grids.models import Role

FILTERS = ("district", "street", "community", "grid", "type", "state", "category", "level", "since", "until")
EXPORT_ROLES = (Role.ADMIN, Role.MANAGER)


def export_role(user) -> str | None:
    """The role under which `user` exports: admin, manager, or None (may not export)."""
    if user.is_superuser:
        return Role.ADMIN
    staff = getattr(user, "staff", None)
    return staff.role if staff is not None and staff.role in EXPORT_ROLES else None


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
        role = export_role(request.user)
        if role is None:
            raise PermissionDenied("Only administrators and managers may export.")
        if layer not in available_layers():
            raise NotFound(f"No layer {layer!r}; layers: {', '.join(available_layers())}.")
        if fmt not in FORMATS:
            raise NotFound(f"No format {fmt!r}; formats: {', '.join(FORMATS)}.")
        if layer in PERSONAL_LAYERS and role != Role.ADMIN:
            raise PermissionDenied("Managers see figures, not residents: the persons layer is not theirs to export.")
        filters = {name: request.query_params[name] for name in FILTERS if request.query_params.get(name)}
        staff = getattr(request.user, "staff", None)
        if role == Role.MANAGER and staff is not None:
            # A street or community manager exports only their own region, whatever the query asks.
            if staff.community_id:
                filters["community"] = staff.community.code
            elif staff.street_id:
                filters["street"] = staff.street.code
        with tempfile.TemporaryDirectory(prefix="gridmgmt-export-") as folder:
            path = Path(folder) / f"{layer}.{fmt}"
            try:
                export_layer(layer=layer, fmt=fmt, path=path, filters=filters, actor=request.user.get_username())
            except ExportError as error:
                raise ValidationError({"detail": str(error)}) from error
            handle = path.open("rb")  # stays readable after the folder is removed
        return FileResponse(handle, as_attachment=True, filename=f"{layer}.{fmt}", content_type=CONTENT_TYPES[fmt])
