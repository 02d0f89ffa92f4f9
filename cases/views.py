"""Cases API: thin views over cases.services (writes) and cases.selectors (reads)."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers as drf_serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import selectors
from cases.routing import RoutingError
from cases.serializers import RoutePreviewSerializer, RouteQuerySerializer
from grids.coords import to_wgs84_point

OUTSIDE_DISTRICT = _("该位置不在任何区县辖区内。The point lies outside every district.")


def validated(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class RouteView(APIView):
    """Preview where a report of a category at a point would go, and why. Writes nothing."""

    @extend_schema(parameters=[RouteQuerySerializer], responses={200: RoutePreviewSerializer})
    def get(self, request):
        query = validated(RouteQuerySerializer, request.query_params)
        point = to_wgs84_point(query["lon"], query["lat"], query["crs"])
        category = query["category"]
        regions = selectors.regions_at(point=point)
        if regions.district_id is None:
            raise drf_serializers.ValidationError({"location": [OUTSIDE_DISTRICT]})
        try:
            route = selectors.resolve_route(point=point, category=category)
        except RoutingError as error:
            raise drf_serializers.ValidationError({"location": [str(error)]}) from None
        preview = {
            "category": category,
            "lon": point.x,
            "lat": point.y,
            "level": category.default_level,
            "regions": regions,
            "responsible_unit": route.responsible,
            "co_units": route.co_units,
            "routing_reason": route.reason,
        }
        return Response(RoutePreviewSerializer(preview).data)
