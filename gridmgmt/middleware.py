from urllib.parse import unquote

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.middleware.common import CommonMiddleware
from django.middleware.gzip import GZipMiddleware
from django.middleware.locale import LocaleMiddleware
from django.urls import Resolver404, resolve
from django.utils import translation

API_PREFIX = "/api/"


def database_unavailable_response() -> JsonResponse:
    response = JsonResponse(
        {
            "detail": "数据库暂时不可用，请稍后重试。The database is unavailable; retry shortly.",
            "code": "database_unavailable",
        },
        status=503,
    )
    response["Retry-After"] = "5"
    return response


class DatabaseUnavailableMiddleware:
    """Answer 503 JSON, not a 500 page, while PostgreSQL cannot be reached."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, (OperationalError, InterfaceError)):
            return database_unavailable_response()
        return None


class RejectNulMiddleware:
    """PostgreSQL text cannot hold NUL: a request carrying one in its query or its JSON/form body is a clear 400."""

    CHECKED_BODIES = ("application/json", "application/x-www-form-urlencoded")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        query = request.META.get("QUERY_STRING", "")
        carries_nul = "%00" in query or "\x00" in unquote(query)
        if not carries_nul and request.content_type in self.CHECKED_BODIES:
            body = request.body
            carries_nul = b"\x00" in body or b"\\u0000" in body or b"%00" in body
        if carries_nul:
            return JsonResponse(
                {
                    "detail": "请求中含有空字符（NUL），请删除后重试。The request contains a NUL character.",
                    "code": "nul",
                },
                status=400,
            )
        return self.get_response(request)


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    """Pages are Chinese unless the user picked another language with the switch (its cookie).

    For pages the browser's Accept-Language is not consulted: a district office's machines often run English
    systems, and the interface must still open in Chinese. API clients may still ask with Accept-Language.
    """

    def process_request(self, request):
        if request.path.startswith(("/api/", "/open311/")):
            return super().process_request(request)
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


def api_not_found(detail: str = "没有这个接口。No such API path.") -> JsonResponse:
    return JsonResponse({"detail": detail, "code": "not_found"}, status=404)


def _resolves(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


class ApiPathMiddleware:
    """One spelling per path under /api/, without a trailing slash, and no HTML from /api/.

    The slashed spelling never changes a method: a GET or HEAD is sent on with 308 (which keeps the method),
    anything else is a JSON 404 naming the right path; a 301 would make clients repeat a POST as a GET and
    take the list they then get for a success. Any other 404 under /api/ that is not JSON (an unknown path,
    a view's bare 404) becomes the JSON one.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if not path.startswith(API_PREFIX):
            return self.get_response(request)
        if path.endswith("/"):
            canonical = path.rstrip("/")
            if not _resolves(canonical):
                return api_not_found()
            full_path, _, query = request.get_full_path().partition("?")
            location = full_path.rstrip("/") + (f"?{query}" if query else "")
            if request.method in ("GET", "HEAD"):
                return HttpResponsePermanentRedirect(location, preserve_request=True)
            return api_not_found(f"接口地址不以斜杠结尾，请用 {location}。API paths have no trailing slash: {location}")
        response = self.get_response(request)
        if response.status_code == 404 and "json" not in response.get("Content-Type", ""):
            return api_not_found()
        return response


class SlashlessApiCommonMiddleware(CommonMiddleware):
    """Django's CommonMiddleware, except that APPEND_SLASH never redirects under /api/ (see ApiPathMiddleware)."""

    def should_redirect_with_slash(self, request):
        return not request.path_info.startswith(API_PREFIX) and super().should_redirect_with_slash(request)


class JsonCompressionMiddleware(GZipMiddleware):
    """gzip for JSON, GeoJSON and vector tiles of 1 KB or more when the client accepts it; nothing else.

    BREACH: a compressed response that carries a secret next to text the requester chose lets an observer of
    its length guess the secret. Pages (which carry the CSRF token) are not compressed at all, and neither are
    the responses that hand out secrets: tokens and revealed ID numbers and phones (UNCOMPRESSED_VIEWS).
    GZipMiddleware also pads each response by a random length.
    """

    MIN_BYTES = 1024
    COMPRESSED_TYPES = ("application/json", "application/geo+json", "application/vnd.mapbox-vector-tile")
    UNCOMPRESSED_VIEWS = frozenset({"api-token", "mobile-token", "person-reveal"})

    def process_response(self, request, response):
        content_type = response.get("Content-Type", "").partition(";")[0].strip().lower()
        if content_type not in self.COMPRESSED_TYPES and not content_type.endswith("+json"):
            return response
        if not response.streaming and len(response.content) < self.MIN_BYTES:
            return response
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name in self.UNCOMPRESSED_VIEWS:
            return response
        return super().process_response(request, response)
