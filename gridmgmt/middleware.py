from urllib.parse import unquote

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.middleware.gzip import GZipMiddleware
from django.middleware.locale import LocaleMiddleware
from django.urls import Resolver404, resolve
from django.utils import translation

from gridmgmt.dblimits import stopped_by_limit
from gridmgmt.parsers import too_large_message

API_PREFIX = "/api/"


def database_unavailable_response(error: BaseException | None = None) -> JsonResponse:
    """503 JSON for a database error: a statement stopped by a per-request limit (gridmgmt/dblimits.py) says so,
    anything else says the database is unavailable."""
    if error is not None and stopped_by_limit(error):
        timeout = settings.DB_WEB_LIMITS["statement_timeout"]
        response = JsonResponse(
            {
                "detail": f"查询超出单次请求的数据库上限（用时 {timeout} 或临时空间），已停止；请缩小范围后重试。"
                f"The query went past a request's database limit ({timeout} or temporary space) and was stopped; "
                "narrow the request and retry.",
                "code": "query_limit",
            },
            status=503,
        )
        response["Retry-After"] = "5"
        return response
    response = JsonResponse(
        {
            "detail": "数据库暂时不可用，请稍后重试。The database is unavailable; retry shortly.",
            "code": "database_unavailable",
        },
        status=503,
    )
    response["Retry-After"] = "5"
    return response


def busy_response() -> JsonResponse:
    """503 JSON for a heavy request refused because as many as allowed are running (gridmgmt/dblimits.py)."""
    at_once = settings.HEAVY_REQUESTS_AT_ONCE
    response = JsonResponse(
        {
            "detail": f"同时进行的大查询已达上限（{at_once} 个），请稍后重试。"
            f"As many heavy requests as allowed ({at_once}) are running; retry in a moment.",
            "code": "busy",
        },
        status=503,
    )
    response["Retry-After"] = "2"
    return response


class DatabaseUnavailableMiddleware:
    """Answer 503 JSON, not a 500 page, while PostgreSQL cannot be reached."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, (OperationalError, InterfaceError)):
            return database_unavailable_response(exception)
        return None


class BodySizeLimitMiddleware:
    """A body declared larger than DATA_UPLOAD_MAX_MEMORY_SIZE is a 413 in the endpoint's format, before it is read.

    Django would refuse it later with a 400 HTML page. Multipart uploads are left to their views, which know their
    own limits (photos, the admin import)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if limit is None or declared <= limit or request.content_type == "multipart/form-data":
            return self.get_response(request)
        message = too_large_message(limit)
        if request.path.startswith("/open311/"):
            from mobileapi.open311.renderers import Open311Error, error_response

            fmt = "xml" if request.path.endswith(".xml") else "json"
            return error_response(Open311Error(413, message), fmt=fmt)
        return JsonResponse({"detail": message, "code": "too_large"}, status=413)


class RejectNulMiddleware:
    """PostgreSQL text cannot hold NUL: a request carrying one in its query or its JSON/form body is a clear 400.

    A NUL is looked for as each format writes it: percent-encoded in a query or form body, as a `\\u0000` escape
    in JSON (where `%00` is plain text, e.g. in a description or a URL)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if carries_nul(request):
            return JsonResponse(
                {
                    "detail": "请求中含有空字符（NUL），请删除后重试。The request contains a NUL character.",
                    "code": "nul",
                },
                status=400,
            )
        return self.get_response(request)


def carries_nul(request) -> bool:
    if "\x00" in unquote(request.META.get("QUERY_STRING", "")):
        return True
    if request.content_type == "application/json":
        return b"\x00" in request.body or b"\\u0000" in request.body
    if request.content_type == "application/x-www-form-urlencoded":
        return "\x00" in unquote(request.body.decode("latin-1"))
    return False


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
    a view's bare 404) becomes the JSON one. Django's CommonMiddleware, after this one, never adds a slash under
    /api/: it does so only when the slashed path exists, and none there does (tests/test_api_contract.py).
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
