from django.urls import path, re_path

from maps import views

app_name = "maps"

urlpatterns = [
    path("", views.home, name="home"),
    path("logout/", views.logout_view, name="logout"),
    path("map/", views.map_page, name="map"),
    path("dashboard/", views.dashboard_page, name="dashboard"),
    path("public/", views.public_page, name="public"),
    path("api/v1/units", views.UnitsView.as_view(), name="units"),
    path("api/v1/grid-figures", views.GridFiguresView.as_view(), name="grid-figures"),
    path("api/v1/tiles/buildings/<int:z>/<int:x>/<int:y>.pbf", views.BuildingTileView.as_view(), name="building-tile"),
    path("api/v1/labels", views.LabelsView.as_view(), name="labels"),
    path("api/v1/search", views.SearchView.as_view(), name="search"),
    re_path(r"^api/v1/case-photos/(?P<sha256>[0-9a-f]{64})$", views.CasePhotoView.as_view(), name="case-photo"),
    path("api/v1/dashboard/hexbins", views.HexBinsView.as_view(), name="hexbins"),
    path("api/v1/dashboard/summary", views.DashboardSummaryView.as_view(), name="dashboard-summary"),
    re_path(
        r"^api/v1/dashboard/export\.(?P<fmt>csv|xlsx)$", views.DashboardExportView.as_view(), name="dashboard-export"
    ),
    path("api/v1/public/stats", views.PublicStatsView.as_view(), name="public-stats"),
    path("api/v1/public/grids", views.PublicGridsView.as_view(), name="public-grids"),
    path("api/v1/public/labels", views.PublicLabelsView.as_view(), name="public-labels"),
    path("api/v1/public/cases/<str:number>", views.PublicCaseView.as_view(), name="public-case"),
]
