"""DRF's exception handler, answering every API error as problem details (gridmgmt/problems.py)."""

from django.db import InterfaceError, OperationalError
from rest_framework.exceptions import ValidationError
from rest_framework.views import exception_handler

from gridmgmt import problems
from gridmgmt.middleware import KEPT_HEADERS, database_unavailable_response


def api_exception_handler(exc, context):
    if isinstance(exc, (OperationalError, InterfaceError)):
        return database_unavailable_response(exc, request=context.get("request"))
    response = exception_handler(exc, context)  # DRF's statuses and headers (WWW-Authenticate, Retry-After)
    if response is None:
        return None
    headers = {name: response[name] for name in KEPT_HEADERS if response.has_header(name)}
    if isinstance(exc, ValidationError):
        return problems.validation_problem(response.data, status=response.status_code, headers=headers)
    data = response.data
    if isinstance(data, dict) and "detail" in data and "code" not in data:
        code = exc.get_codes() if hasattr(exc, "get_codes") else None
        if isinstance(code, str):
            data = {**data, "code": code}
    return problems.from_data(response.status_code, data, headers=headers)
