"""Last-resort error pages: a database outage anywhere in a request is a 503 JSON, never a 500 page; a path under
/api/ that names nothing is a JSON 404, as the API's other 404s."""

import sys

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.views.defaults import page_not_found
from django.views.defaults import server_error as html_server_error

from gridmgmt.middleware import database_unavailable_response


def server_error(request, *args, **kwargs):
    error = sys.exc_info()[1]
    if isinstance(error, (OperationalError, InterfaceError)):
        return database_unavailable_response(error)
    if request.path.startswith(("/api/", "/open311/")):
        return JsonResponse({"detail": "服务器内部错误。Internal server error.", "code": "server_error"}, status=500)
    return html_server_error(request, *args, **kwargs)


def not_found(request, exception=None, *args, **kwargs):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "未找到。Not found.", "code": "not_found"}, status=404)
    return page_not_found(request, exception, *args, **kwargs)
