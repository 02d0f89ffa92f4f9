"""Last-resort error answers: a database outage anywhere in a request is a 503, never a 500 page; under /api/ a path
that names nothing and an unexpected failure are problem details (gridmgmt/problems.py) like every other error
there; Open311 answers in its specification's format."""

import sys

from django.db import InterfaceError, OperationalError
from django.utils.translation import gettext
from django.views.defaults import page_not_found
from django.views.defaults import server_error as html_server_error

from gridmgmt import problems
from gridmgmt.middleware import OPEN311_PREFIX, api_not_found, database_unavailable_response, refusal


def server_error(request, *args, **kwargs):
    error = sys.exc_info()[1]
    if isinstance(error, (OperationalError, InterfaceError)):
        return database_unavailable_response(error, request=request)
    if problems.under_api(request) or request.path_info.startswith(OPEN311_PREFIX):
        return refusal(request, 500, gettext("服务器内部错误。"), code="server_error")
    return html_server_error(request, *args, **kwargs)


def not_found(request, exception=None, *args, **kwargs):
    if problems.under_api(request):
        return api_not_found()
    return page_not_found(request, exception, *args, **kwargs)
