"""Registry API: map layers, residents of a building, region figures, and where a point is."""

import json

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.stats import case_counts_for_region
from gridmgmt.api import JSON_PARSERS, PAGED_FEATURE_COLLECTION, paged_collection_head, validated
from gridmgmt.openapi import errors
from grids import selectors, services
from grids.coords import to_wgs84_point
from grids.models import Building, Person
from grids.serializers import (
    HouseholdSerializer,
    LayerQuerySerializer,
    LocationSerializer,
    PointQuerySerializer,
    RegionStatsSerializer,
    RevealRequestSerializer,
    location_body,
)


class LayerView(APIView):
    """A registry layer as a GeoJSON FeatureCollection (EPSG:4326), page by page in order of code: `count` is the
    total, `next` and `previous` the URLs of the neighbouring pages (null at either end)."""

    layer = ""

    @extend_schema(parameters=[LayerQuerySerializer], responses={200: PAGED_FEATURE_COLLECTION})
    def get(self, request):
        query = validated(LayerQuerySerializer, request.query_params)
        page, size = query["page"], query["page_size"]
        filters = {name: query[name] for name in ("district", "street", "community", "grid") if name in query}
        total, features = selectors.layer_page(
            self.layer, bbox=query.get("in_bbox"), filters=filters, limit=size, offset=(page - 1) * size
        )

        head = paged_collection_head(request, page=page, size=size, total=total)
        body = json.dumps(head, ensure_ascii=False)[:-1] + ', "features": ' + features + "}"
        return HttpResponse(body, content_type="application/json")


class BuildingHouseholdsView(APIView):
    """Households of a building with their people; ID numbers and phones masked."""

    @extend_schema(responses={200: HouseholdSerializer(many=True), **errors(403)})
    def get(self, request, pk: int):
        building = get_object_or_404(Building, pk=pk)
        scope = selectors.residents_visible_to(request.user)
        if scope is None or not Building.objects.filter(scope, pk=building.pk).exists():
            raise PermissionDenied(_("您无权查看该楼栋的住户。You may not see the residents of this building."))
        households = selectors.households_of_building(building_id=building.pk)
        return Response(HouseholdSerializer(households, many=True).data)


class PersonRevealView(APIView):
    """The full ID number and/or phone of one resident: needs the reveal permission and a reason; logged."""

    parser_classes = JSON_PARSERS

    @extend_schema(
        request=RevealRequestSerializer,
        responses={
            200: inline_serializer(
                "Revealed",
                {"id_number": serializers.CharField(required=False), "phone": serializers.CharField(required=False)},
            )
        },
    )
    def post(self, request, pk: int):
        person = get_object_or_404(Person.objects.select_related("household"), pk=pk)
        scope = selectors.residents_visible_to(request.user)
        if scope is None or not Building.objects.filter(scope, pk=person.household.building_id).exists():
            raise PermissionDenied(_("该居民不在您的管辖范围内。This resident is outside your scope."))
        query = validated(RevealRequestSerializer, request.data)
        try:
            revealed = services.reveal_person(
                person=person,
                actor=request.user,
                fields=sorted(query["fields"]),
                reason=query["reason"],
                address=request.META.get("REMOTE_ADDR", ""),
            )
        except DjangoPermissionDenied as refusal:
            raise PermissionDenied(str(refusal)) from None
        response = Response(revealed)
        response["Cache-Control"] = "no-store"
        return response


class RegionStatsView(APIView):
    """Buildings, households and people by residency, sex and care tag for one region (a manager: of their own)."""

    level = ""

    @extend_schema(responses={200: RegionStatsSerializer, **errors(403)})
    def get(self, request, pk: int):
        region = get_object_or_404(selectors.REGION_MODELS[self.level], pk=pk)
        if not selectors.figures_visible_to(request.user, level=self.level, region=region):
            raise PermissionDenied(_("该区域不在您的管辖范围内。This region is outside yours."))
        figures = selectors.region_stats(level=self.level, region_id=region.pk)
        figures["cases"] = case_counts_for_region(self.level, region.pk, people=figures["people"])
        return Response(
            RegionStatsSerializer({"level": self.level, "code": region.code, "name": region.name, **figures}).data
        )


class LocateView(APIView):
    """Where a point is: district, street, community, grid, building, and every unit whose jurisdiction covers it."""

    @extend_schema(parameters=[PointQuerySerializer], responses={200: LocationSerializer})
    def get(self, request):
        query = validated(PointQuerySerializer, request.query_params)
        point = to_wgs84_point(query["lon"], query["lat"], query["crs"])
        return Response(location_body(point, selectors.locate(point=point)))
