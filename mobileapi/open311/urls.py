"""Open311 GeoReport v2 paths (mounted at /open311/v2/); the format is the extension, .json or .xml.
`media/…` serves the photos clients posted as `media` (the `media_url` of their requests)."""

from django.urls import path, re_path

from mobileapi.open311 import views

FMT = r"\.(?P<fmt>json|xml)$"

urlpatterns = [
    path("", views.not_found, name="open311-root"),
    re_path(r"^discovery" + FMT, views.discovery, name="open311-discovery"),
    re_path(r"^services" + FMT, views.service_list, name="open311-services"),
    re_path(r"^services/(?P<code>[^/]+)" + FMT, views.service_definition, name="open311-service"),
    re_path(r"^requests" + FMT, views.request_list, name="open311-requests"),
    re_path(r"^requests/(?P<number>[^/]+)" + FMT, views.request_detail, name="open311-request"),
    re_path(r"^tokens/(?P<token>[^/]+)" + FMT, views.token, name="open311-token"),
    re_path(r"^media/(?P<sha256>[0-9a-f]{64})\.(?P<ext>jpg|png|webp)$", views.media, name="open311-media"),
    re_path(r"^(?P<path>.+)$", views.not_found),
]
