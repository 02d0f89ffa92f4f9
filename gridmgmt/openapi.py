"""How the OpenAPI document (/api/schema) describes errors: one `Problem` component (RFC 9457 problem details,
gridmgmt/problems.py), and the error responses each operation can give, added here from what the view is rather
than repeated on every view.

The error body's media type and schema live only in ERROR_MEDIA_TYPE and ERROR_SCHEMA below.
"""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework.permissions import AllowAny, IsAuthenticated

from gridmgmt.problems import MEDIA_TYPE

ERROR_MEDIA_TYPE = MEDIA_TYPE
ERROR_SCHEMA = {
    "type": "object",
    "description": (
        "An error, as RFC 9457 problem details (`application/problem+json`). `type` names the kind of problem: "
        "`about:blank` when the HTTP status says it all, else a `tag:gridmgmt,2026:problems/…` URI; `title` names "
        "it and `detail` says what went wrong this time, both in the request's language (Chinese, or English with "
        "`Accept-Language: en`). A 400 for bad input has `errors`: each field, nested fields and list items as "
        "dotted paths (`location.lon`, `attachments.0.url`), maps to its messages. Other members are extensions "
        "that name the problem for programs: `code`, and on a conflict `reason`, `existing`, `allowed_actions`."
    ),
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri", "examples": ["about:blank"]},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "examples": [{"description": ["该字段是必填项。"]}],
        },
        "code": {"type": "string"},
    },
    "additionalProperties": True,
}
ERROR_REF = {"$ref": "#/components/schemas/Problem"}

WHY = {
    400: "Bad input: the fields and their messages; nothing was changed.",
    401: "No valid credentials: log in, or send `Authorization: Token <key>` (an expired or revoked token too).",
    403: "Signed in, but not allowed to do this (role, scope, or a missing CSRF token with a session).",
    404: "No such object, or one you may not see (the two are answered alike).",
    409: "Conflicts with the present state (see `code`/`reason`).",
    413: "The body is larger than the server takes (the limit is in `detail`).",
    415: "The body is not in a media type this operation reads (`Content-Type`).",
    429: "Too many failed logins: locked for the seconds in `Retry-After`.",
    503: "The database is unavailable, or as many heavy requests as allowed are running (`code` `busy`), or a query "
    "went past a request's limit (`query_limit`): retry after the seconds in `Retry-After`.",
}


# gunicorn answers a request line over its limit (4094 bytes) itself, as a short HTML page, before the
# application sees the request: a query string can be that long.
URI_TOO_LONG = {
    "description": "The request line is longer than the server reads (4094 bytes): shorten the query.",
    "content": {"text/html": {"schema": {"type": "string"}}},
}


def errors(*statuses: int, descriptions: dict[int, str] | None = None) -> dict:
    """Error responses for @extend_schema(responses=…) beyond those added from the view (see AutoSchema);
    `descriptions` replace the standard text of some statuses."""
    descriptions = {**WHY, **(descriptions or {})}
    return {
        (status, ERROR_MEDIA_TYPE): OpenApiResponse(ERROR_REF, description=descriptions[status]) for status in statuses
    }


class AutoSchema(SpectacularAutoSchema):
    """Adds to each operation the error responses its view can give:

    400 when it takes a body or query parameters; 413 and 415 when it takes a body; 404 when its path names an
    object; 401 when it needs credentials; 403 for writes with credentials (a session needs its CSRF token) and
    for views with permissions beyond signing in; 503 (database outage, busy) everywhere.
    Statuses an operation declares itself are left as declared."""

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and not parameter.get("required"):
                parameter["allowEmptyValue"] = True  # `?name=` is read as not given
        responses = operation["responses"]
        for status in self._error_statuses(operation):
            responses.setdefault(
                str(status), {"description": WHY[status], "content": {ERROR_MEDIA_TYPE: {"schema": ERROR_REF}}}
            )
        if any(p["in"] == "query" for p in operation.get("parameters", [])):
            responses.setdefault("414", URI_TOO_LONG)
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_statuses(self, operation: dict) -> list[int]:
        parameters = operation.get("parameters", [])
        statuses = [503]
        if "requestBody" in operation or any(p["in"] == "query" for p in parameters):
            statuses.append(400)
        if "requestBody" in operation:
            statuses += [413, 415]
        if any(p["in"] == "path" for p in parameters):
            statuses.append(404)
        permissions = {type(permission) for permission in self.view.get_permissions()}
        if operation.get("security") and AllowAny not in permissions:
            statuses.append(401)
            if self.method != "GET" or permissions - {IsAuthenticated}:
                statuses.append(403)
        return statuses


def add_error_component(result, generator, request, public):
    """Postprocessing hook: the `Problem` component that every error response refers to."""
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = ERROR_SCHEMA
    return result
