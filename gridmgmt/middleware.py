from urllib.parse import unquote

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

from gridmgmt.dblimits import stopped_by_limit
from gridmgmt.parsers import too_large_message


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
