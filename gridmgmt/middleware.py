import json
from urllib.parse import unquote

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponsePermanentRedirect
from django.middleware.gzip import GZipMiddleware
from django.middleware.locale import LocaleMiddleware
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.translation import gettext

from gridmgmt import problems
from gridmgmt.dblimits import stopped_by_limit
from gridmgmt.parsers import too_large_message

API_PREFIX = problems.API_PREFIX
OPEN311_PREFIX = "/open311/"


def refusal(request, status: int, detail: str, *, code: str, headers: dict | None = None) -> HttpResponse:
    """An error noticed outside a view, in the format of the path asked for: Open311's own under /open311/ (its
    specification's), problem details (gridmgmt/problems.py) everywhere else."""
    if request is not None and request.path_info.startswith(OPEN311_PREFIX):
        from mobileapi.open311.renderers import error_for_path

        return error_for_path(request.path_info, status, detail, headers=headers)
    return problems.problem(status, detail=detail, kind=code, code=code, headers=headers)


def database_unavailable_response(error: BaseException | None = None, *, request=None) -> HttpResponse:
    """503 for a database error: a statement stopped by a per-request limit (gridmgmt/dblimits.py) says so,
    anything else says the database is unavailable."""
    if error is not None and stopped_by_limit(error):
        timeout = settings.DB_WEB_LIMITS["statement_timeout"]
        return refusal(
            request,
            503,
            f"查询超出单次请求的数据库上限（用时 {timeout} 或临时空间），已停止；请缩小范围后重试。"
            f"The query went past a request's database limit ({timeout} or temporary space) and was stopped; "
            "narrow the request and retry.",
            code="query_limit",
            headers={"Retry-After": "5"},
        )
    return refusal(
        request,
        503,
        "数据库暂时不可用，请稍后重试。The database is unavailable; retry shortly.",
        code="database_unavailable",
        headers={"Retry-After": "5"},
    )


def busy_response(request=None) -> HttpResponse:
    """503 for a heavy request refused because as many as allowed are running (gridmgmt/dblimits.py)."""
    at_once = settings.HEAVY_REQUESTS_AT_ONCE
    return refusal(
        request,
        503,
        f"同时进行的大查询已达上限（{at_once} 个），请稍后重试。"
        f"As many heavy requests as allowed ({at_once}) are running; retry in a moment.",
        code="busy",
        headers={"Retry-After": "2"},
    )


class DatabaseUnavailableMiddleware:
    """Answer 503 JSON, not a 500 page, while PostgreSQL cannot be reached."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, (OperationalError, InterfaceError)):
            return database_unavailable_response(exception, request=request)
        return None


class BodySizeLimitMiddleware:
    """A body declared larger than DATA_UPLOAD_MAX_MEMORY_SIZE is a 413 in the path's format (see `refusal`), before
    it is read.

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
        return refusal(request, 413, too_large_message(limit), code="too_large")


class RejectNulMiddleware:
    """PostgreSQL text cannot hold NUL: a request carrying one in its query or its JSON/form body is a clear 400.

    A NUL is looked for as each format writes it: percent-encoded in a query or form body, as a `\\u0000` escape
    in JSON (where `%00` is plain text, e.g. in a description or a URL)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if carries_nul(request):
            return refusal(
                request, 400, "请求中含有空字符（NUL），请删除后重试。The request contains a NUL character.", code="nul"
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


def api_not_found(detail: str | None = None) -> HttpResponse:
    """The one 404 for a path under /api/ that names nothing (the 404 handler answers it too)."""
    return problems.problem(404, detail=detail or gettext("没有这个接口。"), code="not_found")


def _resolves(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


# Headers an error answer keeps when its body is remade as problem details.
KEPT_HEADERS = ("Allow", "WWW-Authenticate", "Retry-After", "Vary", "Content-Language")


class ApiPathMiddleware:
    """One spelling per path under /api/, without a trailing slash, and every error from /api/ as problem details.

    The slashed spelling never changes a method: a GET or HEAD is sent on with 308 (which keeps the method),
    anything else is a 404 naming the right path; a 301 would make clients repeat a POST as a GET and take the
    list they then get for a success. Django's CommonMiddleware, after this one, never adds a slash under /api/:
    it does so only when the slashed path exists, and none there does (tests/test_api_contract.py).

    Errors are made as problem details where they are noticed (gridmgmt/problems.py); an error answer that reaches
    this point in another shape (a bare 405 or CSRF page from Django, an older JSON body) is remade as one here, so
    no HTML and no second error shape leaves /api/.
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
            return api_not_found(gettext("接口地址不以斜杠结尾，请用 %(location)s。") % {"location": location})
        response = self.get_response(request)
        if response.status_code < 400 or problems.is_problem(response):
            return response
        return as_problem(response)


def as_problem(response) -> HttpResponse:
    """An error answer in another shape remade as problem details, keeping its status, its JSON members and the
    headers a client acts on."""
    headers = {name: response[name] for name in KEPT_HEADERS if response.has_header(name)}
    data = None
    if not response.streaming and "json" in response.get("Content-Type", ""):
        try:
            data = json.loads(response.content)
        except ValueError:
            data = None
    if response.status_code == 404 and not isinstance(data, dict):
        remade = api_not_found()
        for name, value in headers.items():
            remade[name] = value
        return remade
    return problems.from_data(response.status_code, data, headers=headers)


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
