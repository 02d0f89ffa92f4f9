"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) at /open311/v2/: plain Django views.

Public: no session or token authentication, no CSRF (a POST carries its api_key), and not part of the
OpenAPI document of /api/ (discovery.json describes this endpoint). The format is the path's extension;
every error is the spec's `[{"code": …, "description": …}]` (XML `<errors>`) with that HTTP status.
"""

from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from rest_framework import serializers as drf

from cases.services import InvalidInput
from gridmgmt.login_guard import client_address
from gridmgmt.parsers import JsonTooDeep, loads_json
from mobileapi.models import Open311Key
from mobileapi.open311 import bodies, selectors, serializers, services
from mobileapi.open311.renderers import Open311Error, error_response, render
from mobileapi.photos import PhotoRejected

CONTACT = "西区网格化服务管理指挥中心 · 12345 政务服务便民热线"


# Reads are open to pages of any origin (no credentials: nothing here reads a cookie); POSTs are not (see README).
READS = {"GET", "HEAD", "OPTIONS"}
CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "X-Total-Count, Link"}
PREFLIGHT = {
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, Accept-Language, Content-Language, If-None-Match, X-Requested-With",
    "Access-Control-Max-Age": "86400",
}


def open311(*methods: str):
    """Allowed methods (405 otherwise), OPTIONS (CORS preflight) answered, CORS headers on reads, and
    Open311Error → the spec's error body in the requested format."""

    allowed = set(methods) | ({"HEAD", "OPTIONS"} if "GET" in methods else set())

    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, fmt: str = "json", **kwargs) -> HttpResponse:
            try:
                if request.method not in allowed:
                    raise Open311Error(
                        405,
                        f"不支持 {request.method}。Method {request.method} is not allowed here.",
                        headers={"Allow": ", ".join(sorted(allowed))},
                    )
                if request.method == "OPTIONS":
                    response = HttpResponse(status=204, headers={"Allow": ", ".join(sorted(allowed)), **PREFLIGHT})
                else:
                    response = view(request, fmt, **kwargs)
            except Open311Error as error:
                response = error_response(error, fmt=fmt)
            if request.method in READS:
                for name, value in CORS.items():
                    response[name] = value
            return response

        return wrapper

    return decorate


def english(request: HttpRequest) -> bool:
    """`?locale=en` (or any en-…), else the negotiated language (Accept-Language, via LocaleMiddleware)."""
    locale = request.GET.get("locale", "").strip().lower()
    language = locale or getattr(request, "LANGUAGE_CODE", "") or ""
    return language.startswith("en")


def invalid(errors: dict) -> Open311Error:
    return Open311Error(400, *serializers.error_descriptions(errors))


def validated(serializer: drf.Serializer):
    if not serializer.is_valid():
        raise invalid(serializer.errors)
    return serializer.validated_data


def api_key(raw, *, required: bool) -> Open311Key | None:
    """The active key named by `raw`: 403 when required and missing (the spec has no 401), unknown or revoked."""
    if not isinstance(raw, str) or not raw.strip():
        if required:
            raise Open311Error(
                403, "api_key: 缺少 API 密钥，提交服务请求须提供。api_key is required to post a service request."
            )
        return None
    key = Open311Key.find_active(raw.strip())
    if key is None:
        raise Open311Error(403, "api_key: API 密钥无效或已吊销。Invalid or revoked api_key.")
    return key


def posted_data(request: HttpRequest) -> dict:
    """Form-encoded (the spec), multipart (fields and files), or a JSON object (UTF-8, RFC 8259)."""
    try:
        if request.content_type == "application/json":
            try:
                data = loads_json(request.body or b"{}")
            except JsonTooDeep as error:
                raise Open311Error(400, str(error)) from None
            except (UnicodeDecodeError, ValueError):
                raise Open311Error(400, "请求体不是合法的 JSON。The body is not valid JSON.") from None
            if not isinstance(data, dict):
                raise Open311Error(400, "JSON 请求体应为对象。The JSON body must be an object.")
            return data
        if request.content_type == "multipart/form-data":
            return bodies.multipart_data(request)
        return bodies.form_data(request)
    except RequestDataTooBig:
        raise Open311Error(413, "请求体过大。The request body is too large.") from None
    except MultiPartParserError:
        raise Open311Error(400, "无法解析 multipart 请求体。The multipart body cannot be parsed.") from None


# --- Endpoints ------------------------------------------------------------------------------


@open311("GET")
def discovery(request, fmt):
    url = request.build_absolute_uri(reverse("open311-root"))
    body = serializers.discovery(url=url, contact=getattr(settings, "OPEN311_CONTACT", CONTACT))
    return render(body, fmt=fmt, root="discovery")


@open311("GET")
def service_list(request, fmt):
    rows = [serializers.service(category, english=english(request)) for category in selectors.services()]
    return render(rows, fmt=fmt, root="services", item="service")


@open311("GET")
def service_definition(request, fmt, code):
    category = selectors.service(code)
    if category is None:
        raise Open311Error(404, f"service_code: 没有服务 {code}。No service with service_code {code}.")
    return render(serializers.service_definition(category), fmt=fmt, root="service_definition")


@open311("GET", "POST")
def request_list(request, fmt):
    if request.method == "POST":
        return create_request(request, fmt)
    key = api_key(request.GET.get("api_key"), required=False)
    query = validated(serializers.RequestQuerySerializer(data=request.GET))
    cases, total = selectors.requests(query=query, key=key)
    response = render(service_requests(request, cases), fmt=fmt, root="service_requests", item="request")
    response["X-Total-Count"] = str(total)
    if total > len(cases) and not query["numbers"]:
        response["Link"] = f'<{next_page(request, query, cases)}>; rel="next"'
    return response


def next_page(request, query: dict, cases: list) -> str:
    """The same query ending at the oldest request shown (the spec's own parameters, so any client can follow):
    that request may come again on the next page; a page of one single moment ends just before it."""
    end = cases[-1].received_at
    if cases[0].received_at == end:
        end -= timedelta(microseconds=1)
    params = request.GET.copy()
    params["start_date"] = query["start"].isoformat()
    params["end_date"] = timezone.localtime(end).isoformat()
    return request.build_absolute_uri(f"{request.path}?{params.urlencode()}")


def service_requests(request, cases: list) -> list[dict]:
    """The spec's representation of each case; a photo posted as `media` is linked by its public URL."""
    photo_urls = {
        sha256: request.build_absolute_uri(reverse("open311-media", kwargs={"sha256": sha256, "ext": ext}))
        for sha256, ext in selectors.request_photos(cases).items()
    }
    return [serializers.service_request(case, english=english(request), photo_urls=photo_urls) for case in cases]


def create_request(request, fmt):
    data = posted_data(request)
    key = api_key(data.get("api_key") or request.GET.get("api_key"), required=True)
    wait = services.admit_post(key=key, address=client_address(request))
    if wait:
        raise Open311Error(
            429,
            f"提交过于频繁，请 {wait} 秒后重试。Too many service requests from this api_key or address; "
            f"retry in {wait} s.",
            headers={"Retry-After": str(wait)},
        )
    fields = validated(serializers.ServiceRequestSerializer(data=data))
    try:
        case = services.submit_request(key=key, **fields)
    except InvalidInput as error:
        raise invalid(error.errors) from None
    except PhotoRejected as rejected:
        raise invalid({"media": [str(rejected)]}) from None
    body = [serializers.created(case, english=english(request))]
    return render(body, fmt=fmt, root="service_requests", item="request", status=201)


@open311("GET")
def request_detail(request, fmt, number):
    key = api_key(request.GET.get("api_key"), required=False)
    case = selectors.request(number, key=key)
    if case is None:
        raise Open311Error(404, f"service_request_id: 没有服务请求 {number}。No service request {number}.")
    return render(service_requests(request, [case]), fmt=fmt, root="service_requests", item="request")


@open311("GET")
def media(request, fmt, sha256, ext):
    """A photo posted as `media`, for whoever may read its request (the public, or its client's api_key)."""
    key = api_key(request.GET.get("api_key"), required=False)
    photo = selectors.request_photo(sha256, key=key)
    missing = Open311Error(404, f"media: 没有照片 {sha256}.{ext}。No such media.")
    if photo is None or selectors.EXTENSIONS.get(photo.content_type) != ext:
        raise missing
    try:
        response = FileResponse(photo.image.open("rb"), content_type=photo.content_type)
    except FileNotFoundError:  # the database restored without its media files
        raise missing from None
    response["Cache-Control"] = f"{'private' if key else 'public'}, max-age=3600"
    return response


@open311("GET")
def token(request, fmt, token):
    case = selectors.token(token)
    if case is None:
        raise Open311Error(404, f"token: 没有令牌 {token}。No request with token {token}.")
    return render([serializers.token(case)], fmt=fmt, root="service_requests", item="request")


@csrf_exempt
def not_found(request, path=""):
    """Any other path or extension under /open311/v2/: 404 in the spec's format (XML when asked by extension)."""
    fmt = "xml" if path.lower().endswith(".xml") else "json"
    return error_response(
        Open311Error(
            404,
            f"没有此接口：/open311/v2/{path}（格式用 .json 或 .xml）。"
            f"No such endpoint: /open311/v2/{path}; use .json or .xml.",
        ),
        fmt=fmt,
    )
