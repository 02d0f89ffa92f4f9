"""Shapes of the cases API. Field-level messages in Chinese first."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from cases.models import Category
from grids.coords import CRS_CHOICES
from grids.models import Unit


class CategoryCodeField(serializers.Field):
    """A category by its code; only active leaves (小类) can be reported against."""

    default_error_messages = {
        "invalid": _("应为类别编码，例如 SJ0102"),
        "unknown": _("未知的案件类别：{code}"),
        "group": _("{code} 是大类，请选择其下的小类"),
    }

    def to_internal_value(self, data) -> Category:
        if not isinstance(data, str) or not 0 < len(data.strip()) <= 16:
            self.fail("invalid")
        code = data.strip()
        category = Category.objects.filter(code=code, active=True).first()
        if category is None:
            self.fail("unknown", code=code)
        if category.children.exists():
            self.fail("group", code=code)
        return category

    def to_representation(self, value) -> str:
        return value.code


class CategoryRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "code", "name_zh", "name_en", "kind", "default_level"]


class UnitRefSerializer(serializers.ModelSerializer):
    type_label = serializers.CharField(source="get_type_display")

    class Meta:
        model = Unit
        fields = ["id", "code", "name", "type", "type_label"]


class RouteQuerySerializer(serializers.Serializer):
    lon = serializers.FloatField(min_value=-180, max_value=180)
    lat = serializers.FloatField(min_value=-90, max_value=90)
    crs = serializers.ChoiceField(choices=CRS_CHOICES, required=False, default="wgs84")
    category = CategoryCodeField()


class RegionIdsSerializer(serializers.Serializer):
    district = serializers.IntegerField(source="district_id", allow_null=True)
    street = serializers.IntegerField(source="street_id", allow_null=True)
    community = serializers.IntegerField(source="community_id", allow_null=True)
    grid = serializers.IntegerField(source="grid_id", allow_null=True)


class RoutePreviewSerializer(serializers.Serializer):
    category = CategoryRefSerializer()
    lon = serializers.FloatField()
    lat = serializers.FloatField()
    level = serializers.IntegerField()
    regions = RegionIdsSerializer()
    responsible_unit = UnitRefSerializer()
    co_units = UnitRefSerializer(many=True)
    routing_reason = serializers.JSONField()
