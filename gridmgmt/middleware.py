from urllib.parse import unquote

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

from gridmgmt.parsers import too_large_message


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
