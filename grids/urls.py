from django.urls import include, path

from grids import views
from mobileapi.views import TokenView

urlpatterns = [
    path("auth/token", TokenView.as_view(), name="api-token"),
    path("locate", views.LocateView.as_view(), name="locate"),
    path("buildings/<int:pk>/households", views.BuildingHouseholdsView.as_view(), name="building-households"),
    path("people/<int:pk>/reveal", views.PersonRevealView.as_view(), name="person-reveal"),
]
for layer in ("streets", "communities", "grids", "buildings"):
    urlpatterns.append(path(layer, views.LayerView.as_view(layer=layer), name=f"{layer}-layer"))
for level, plural in (
    ("district", "districts"),
    ("street", "streets"),
    ("community", "communities"),
    ("grid", "grids"),
):
    urlpatterns.append(
        path(f"{plural}/<int:pk>/stats", views.RegionStatsView.as_view(level=level), name=f"{level}-stats")
    )
urlpatterns.append(path("", include("grids.io_urls")))  # /api/v1/export/<layer>.<fmt>
