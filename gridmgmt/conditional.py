"""Conditional GET: one reading of If-None-Match for every view that answers 304."""

from collections.abc import Callable

from django.http import HttpResponse, HttpResponseNotModified
from django.utils.http import parse_etags


def _opaque(tag: str) -> str:
    return tag.removeprefix("W/")


def etag_matches(request, etag: str) -> bool:
    """Whether the request's If-None-Match names `etag` by RFC 9110's weak comparison (`W/"x"` matches `"x"`: a
    proxy that compresses a response weakens its tag), or is `*`."""
    header = request.headers.get("If-None-Match", "")
    if not header:
        return False
    tags = parse_etags(header)
    return tags == ["*"] or _opaque(etag) in {_opaque(tag) for tag in tags}


def conditional_response(
    request, *, etag: str, body: Callable[[], bytes | str], content_type: str, headers: dict[str, str]
) -> HttpResponse:
    """200 with `body()` (built only then), or 304 when the client holds `etag`; both carry the validator and
    the caching headers (RFC 9110 §15.4.5)."""
    if etag_matches(request, etag):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(body(), content_type=content_type)
    response["ETag"] = etag
    for name, value in headers.items():
        response[name] = value
    return response
