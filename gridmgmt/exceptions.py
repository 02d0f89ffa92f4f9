from django.db import InterfaceError, OperationalError
from rest_framework.views import exception_handler

from gridmgmt.middleware import database_unavailable_response


def api_exception_handler(exc, context):
    if isinstance(exc, (OperationalError, InterfaceError)):
        return database_unavailable_response(exc)
    return exception_handler(exc, context)
