from django.urls import path

from gridmgmt import converters  # noqa: F401  (registers anycase_uuid)
from mobileapi import views

urlpatterns = [
    path("auth/token", views.TokenView.as_view(), name="mobile-token"),
    path("me", views.MeView.as_view(), name="mobile-me"),
    path("patrols", views.PatrolView.as_view(), name="mobile-patrols"),
    path("reports", views.ReportsView.as_view(), name="mobile-reports"),
    path("reports/<anycase_uuid:client_uuid>/photos", views.ReportPhotosView.as_view(), name="mobile-report-photos"),
    path("photos", views.PhotosView.as_view(), name="mobile-photos"),
    path("grids/<int:pk>/package", views.GridPackageView.as_view(), name="mobile-grid-package"),
    path("tasks", views.TasksView.as_view(), name="mobile-tasks"),
    path("tasks/<int:pk>/complete", views.TaskCompleteView.as_view(), name="mobile-task-complete"),
    path("registry-changes", views.RegistryChangesView.as_view(), name="mobile-registry-changes"),
    path(
        "registry-changes/<anycase_uuid:client_uuid>", views.RegistryChangeView.as_view(), name="mobile-registry-change"
    ),
]
