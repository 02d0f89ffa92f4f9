from django.urls import path

from gridmgmt import converters  # noqa: F401  (registers anycase_uuid)
from jobs import views

api_urlpatterns = [
    path("export-jobs", views.ExportJobsView.as_view(), name="export-jobs"),
    path("export-jobs/<anycase_uuid:pk>", views.ExportJobView.as_view(), name="export-job"),
    path("export-jobs/<anycase_uuid:pk>/file", views.ExportJobFileView.as_view(), name="export-job-file"),
]
page_urlpatterns = [path("exports/", views.exports_page, name="exports")]
