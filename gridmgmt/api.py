"""Small pieces every API view shares: validated input, page links, the paged FeatureCollection's schema."""

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.settings import api_settings

# What a write accepts, and so what the OpenAPI document declares for it. JSON writes take JSON only: the API's
# default JSON parser (whichever parser of DEFAULT_PARSER_CLASSES reads application/json); photo uploads take
# multipart only (mobileapi.views.PhotoParser). Views set one or the other as `parser_classes`.
JSON_PARSERS = [parser for parser in api_settings.DEFAULT_PARSER_CLASSES if parser.media_type == "application/json"]

PAGED_FEATURE_COLLECTION = inline_serializer(
    "PagedFeatureCollection",
    {
        "type": serializers.CharField(),
        "count": serializers.IntegerField(),
        "next": serializers.CharField(allow_null=True),
        "previous": serializers.CharField(allow_null=True),
        "features": serializers.ListField(child=serializers.DictField()),
    },
)


def validated(serializer_class, data) -> dict:
    """The serializer's validated data; a 400 with field messages otherwise."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def paged_collection_head(request, *, page: int, size: int, total: int) -> dict:
    """The members of a paged FeatureCollection other than its features."""

    def page_url(number: int) -> str:
        params = request.query_params.copy()
        params["page"] = str(number)
        return request.build_absolute_uri(f"{request.path}?{params.urlencode()}")

    return {
        "type": "FeatureCollection",
        "count": total,
        "next": page_url(page + 1) if page * size < total else None,
        "previous": page_url(page - 1) if page > 1 else None,
    }
