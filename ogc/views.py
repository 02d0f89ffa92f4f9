"""OGC API – Features (Part 1 Core with GeoJSON, Part 2 CRS) over the registry layers, for QGIS, GDAL and other
GIS desktops. Token or session auth like /api/; every answer, errors included, is JSON.

Views stay thin: parameters are checked in ogc/params.py, features are built in SQL in ogc/selectors.py and the
documents (links, collections, the OpenAPI) come from ogc/documents.py.
"""

import json

from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.views import APIView

from gridmgmt.exceptions import api_exception_handler
from ogc import documents, openapi, params, selectors
from ogc.crs import content_crs_header


class JsonAlways(BaseContentNegotiation):
    """Every resource has one representation (JSON); any Accept header gets it rather than a 406."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def problem(status: int, code: str, detail: str, *, parameter: str | None = None) -> JsonResponse:
    """An error as RFC 9457 problem details, with the `code` and `description` of OGC's exception schema."""
    body = {
        "type": "about:blank",
        "title": code,
        "status": status,
        "detail": detail,
        "code": code,
        "description": detail,
    }
    if parameter:
        body["errors"] = {parameter: [detail]}
    return JsonResponse(
        body, status=status, content_type="application/problem+json", json_dumps_params={"ensure_ascii": False}
    )


def ogc_exception_handler(exc, context):
    if isinstance(exc, params.BadParameter):
        return problem(400, "InvalidParameterValue", exc.message, parameter=exc.name)
    if isinstance(exc, exceptions.APIException):
        code = {
            401: "NotAuthenticated",
            403: "Forbidden",
            404: "NotFound",
            405: "MethodNotAllowed",
            429: "TooManyRequests",
        }.get(exc.status_code, "Error")
        response = problem(exc.status_code, code, str(exc.detail))
        if getattr(exc, "auth_header", None):
            response["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            response["Retry-After"] = str(int(exc.wait))
        return response
    return api_exception_handler(exc, context)  # the database being away: the project's 503


class OgcView(APIView):
    """Shared by every /ogc/ resource: JSON whatever the Accept header, errors as problem JSON, strict parameters."""

    schema = None  # documented in its own OpenAPI (/ogc/api), not in /api/schema
    content_negotiation_class = JsonAlways
    allowed_params: set[str] | None = params.COMMON  # None: not checked

    def get_exception_handler(self):
        return ogc_exception_handler

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication first: a stranger learns nothing from a 400
        if self.allowed_params is not None:
            params.check_known(request.query_params, self.allowed_params)

    @staticmethod
    def collection_or_404(collection_id: str) -> selectors.Collection:
        collection = selectors.COLLECTIONS.get(collection_id)
        if collection is None:
            raise exceptions.NotFound(f"没有这个图层。No collection {collection_id!r}.")
        return collection


def json_response(document: dict) -> JsonResponse:
    return JsonResponse(document, json_dumps_params={"ensure_ascii": False})


class LandingView(OgcView):
    def get(self, request):
        return json_response(documents.landing(documents.Urls(request)))


class ConformanceView(OgcView):
    def get(self, request):
        return json_response({"conformsTo": documents.CONFORMANCE})


class ApiDefinitionView(OgcView):
    def get(self, request):
        return JsonResponse(
            openapi.definition(documents.Urls(request)),
            content_type=documents.OPENAPI,
            json_dumps_params={"ensure_ascii": False},
        )


class CollectionsView(OgcView):
    def get(self, request):
        return json_response(documents.collections(documents.Urls(request), selectors.extents()))


class CollectionView(OgcView):
    def get(self, request, collection_id: str):
        collection = self.collection_or_404(collection_id)
        return json_response(
            documents.collection(documents.Urls(request), collection, selectors.extents()[collection.id])
        )


class ItemsView(OgcView):
    allowed_params = params.ITEMS

    def get(self, request, collection_id: str):
        collection = self.collection_or_404(collection_id)
        crs = params.crs_of(request.query_params)
        query = params.items_query(request.query_params)
        page = selectors.items_page(collection, query=query, crs=crs)
        head = {
            "type": "FeatureCollection",
            "numberMatched": page.number_matched,
            "numberReturned": page.number_returned,
            "timeStamp": timezone.localtime().isoformat(timespec="milliseconds"),
            "links": documents.items_links(documents.Urls(request), collection, page),
        }
        body = json.dumps(head, ensure_ascii=False)[:-1] + ', "features": ' + page.features + "}"
        response = HttpResponse(body, content_type=documents.GEOJSON)
        response["Content-Crs"] = content_crs_header(crs)
        return response


class ItemView(OgcView):
    allowed_params = params.ITEM

    def get(self, request, collection_id: str, feature_id: str):
        collection = self.collection_or_404(collection_id)
        crs = params.crs_of(request.query_params)
        number, found = params.whole_number(feature_id), None
        if number is not None and number <= params.BIGGEST_ID:
            found = selectors.feature(collection, feature_id=number, crs=crs)
        if found is None:
            raise exceptions.NotFound(f"该图层中没有这个要素。No feature {feature_id!r} in {collection.id!r}.")
        links = json.dumps(documents.item_links(documents.Urls(request), collection), ensure_ascii=False)
        response = HttpResponse(found[:-1] + ', "links": ' + links + "}", content_type=documents.GEOJSON)
        response["Content-Crs"] = content_crs_header(crs)
        return response


class NotFoundView(OgcView):
    """Any other path under /ogc/: a JSON 404 rather than an HTML page."""

    allowed_params = None  # the path is wrong whatever the query

    def get(self, request, rest: str):
        raise exceptions.NotFound(f"没有这个资源。No resource at /ogc/{rest}.")
