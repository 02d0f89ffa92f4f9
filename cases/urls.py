from django.urls import path

from cases import stats, views

urlpatterns = [
    path("route", views.RouteView.as_view(), name="route-preview"),
    path("cases", views.CaseListView.as_view(), name="case-list"),
    path("cases/<int:pk>", views.CaseDetailView.as_view(), name="case-detail"),
    path("cases/<int:pk>/caller/reveal", views.CaseCallerRevealView.as_view(), name="case-caller-reveal"),
    path("cases/<int:pk>/transitions", views.CaseTransitionView.as_view(), name="case-transitions"),
    path("cases/<int:pk>/photos", views.CasePhotosView.as_view(), name="case-photos"),
    path("stats", views.StatsView.as_view(), name="stats"),
    *[
        path(f"stats/{section}", views.StatsView.as_view(section=section), name=f"stats-{section}")
        for section in stats.SECTIONS
    ],
]
