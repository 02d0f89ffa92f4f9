from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from gridmgmt.health import healthz
from gridmgmt.login_guard import LockoutAwareAuthenticationForm
from jobs import urls as jobs_urls
from notices import urls as notice_urls

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(authentication_form=LockoutAwareAuthenticationForm),
        name="login",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("grids.urls")),
    path("api/v1/", include("cases.urls")),
    path("api/v1/", include(jobs_urls.api_urlpatterns)),
    path("", include(jobs_urls.page_urlpatterns)),
    path("api/v1/", include("notices.urls")),
    path("api/mobile/v1/", include("mobileapi.urls")),
    path("api/mobile/v1/", include(notice_urls.mobile_urlpatterns)),
    path("open311/v2/", include("mobileapi.open311.urls")),
    path("desk/", include("cases.desk_urls")),
    path("notices/", include("notices.page_urls")),
    path("ogc/", include("ogc.urls")),
    path("m/", include("handheld.urls")),
    path("", include("maps.urls")),
    path("api/schema", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file (?script) and api_docs.html links its style: nothing
    # inline under the Content-Security-Policy.
    path(
        "api/docs",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api_docs.html"),
        name="api-docs",
    ),
]

handler404 = "gridmgmt.errors.not_found"
handler500 = "gridmgmt.errors.server_error"
