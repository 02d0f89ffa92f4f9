"""Export of layers as files: include under /api/v1/."""

from django.urls import path

from grids import io_views

urlpatterns = [
    path("export/<slug:layer>.<slug:fmt>", io_views.ExportView.as_view(), name="export-layer"),
]
