from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from grids.gisio.exporters import FORMATS
from grids.io_views import FILTERS
from jobs.models import ExportJob


@extend_schema_field(
    {
        "type": "object",
        "properties": {name: {"type": "string", "minLength": 1, "maxLength": 64} for name in FILTERS},
        "additionalProperties": False,
        "description": "codes of the region (district, street, community, grid); cases also by state, category, "
        "level and dates (since, until)",
    }
)
class FiltersField(serializers.DictField):
    child = serializers.CharField(max_length=64)


class ExportJobRequest(serializers.Serializer):
    layer = serializers.CharField(max_length=32)
    format = serializers.ChoiceField(choices=FORMATS)
    filters = FiltersField(required=False, default=dict)

    def validate_filters(self, value: dict) -> dict:
        unknown = sorted(set(value) - set(FILTERS))
        if unknown:
            raise serializers.ValidationError(f"unknown filters {', '.join(unknown)}; filters: {', '.join(FILTERS)}")
        return value


class ExportJobSerializer(serializers.ModelSerializer):
    format = serializers.CharField(source="fmt")
    state_label = serializers.CharField(source="get_state_display")
    percent = serializers.SerializerMethodField()
    download = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = [
            "id",
            "layer",
            "format",
            "filters",
            "state",
            "state_label",
            "rows_done",
            "rows_total",
            "percent",
            "attempts",
            "error",
            "file_size",
            "created_at",
            "finished_at",
            "download",
        ]

    def get_percent(self, job: ExportJob) -> int | None:
        if job.state == "done":
            return 100
        if not job.rows_total:
            return None
        return min(99, job.rows_done * 100 // job.rows_total)

    def get_download(self, job: ExportJob) -> str | None:
        return reverse("export-job-file", args=[job.pk]) if job.state == "done" else None
