from django.db import InterfaceError, OperationalError
from django.http import JsonResponse


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
