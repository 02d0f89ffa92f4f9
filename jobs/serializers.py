from django.urls import reverse
from rest_framework import serializers

from grids.gisio.exporters import FORMATS
from grids.io_views import FILTERS
from jobs.models import ExportJob


class ExportJobRequest(serializers.Serializer):
    layer = serializers.CharField(max_length=32)
    format = serializers.ChoiceField(choices=FORMATS)
    filters = serializers.DictField(child=serializers.CharField(max_length=64), required=False, default=dict)

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
