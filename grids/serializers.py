"""Shapes of the registry API. Personal data leaves only masked."""

import copy
import math
from datetime import date

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from gridmgmt import times
from gridmgmt.limits import LAYER_PAGE_SIZE, PAGE_NUMBER
from grids.coords import CRS_CHOICES
from grids.models import CareTag, Household, Person, Unit


def sensible_date(value: date) -> None:
    """Dates outside 2000–2099 are typing mistakes here (and years near 1 or 9999 overflow time zones)."""
    if not date(2000, 1, 1) <= value <= date(2099, 12, 31):
        raise serializers.ValidationError(_("日期应在 2000-01-01 至 2099-12-31 之间"))


class BBoxField(serializers.CharField):
    """`in_bbox=min_lon,min_lat,max_lon,max_lat` in WGS84."""

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        try:
            values = tuple(float(part) for part in text.split(","))
        except ValueError:
            raise serializers.ValidationError(_("应为4个数字：min_lon,min_lat,max_lon,max_lat")) from None
        if len(values) != 4:
            raise serializers.ValidationError(_("应为4个数字：min_lon,min_lat,max_lon,max_lat"))
        min_lon, min_lat, max_lon, max_lat = values
        if not (-180 <= min_lon < max_lon <= 180 and -90 <= min_lat < max_lat <= 90):
            raise serializers.ValidationError(_("范围无效：须 min < max，经度在 ±180、纬度在 ±90 之内"))
        return values


def paging_fields(*, default_size: int, max_size: int, size_help) -> tuple[serializers.Field, serializers.Field]:
    """`page` (from 1) and `page_size` of a paged list, with their limits documented."""
    page = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=PAGE_NUMBER,
        default=1,
        help_text=_("页码，从 1 起。Page number, from 1."),
    )
    size = serializers.IntegerField(
        required=False, min_value=1, max_value=max_size, default=default_size, help_text=size_help
    )
    return page, size


class LayerQuerySerializer(serializers.Serializer):
    in_bbox = BBoxField(required=False)
    page, page_size = paging_fields(
        default_size=500,
        max_size=LAYER_PAGE_SIZE,
        size_help=_("每页要素数，默认 500，最多 5000。Features per page (default 500, at most 5000)."),
    )
    district = serializers.CharField(required=False, max_length=15)
    street = serializers.CharField(required=False, max_length=15)
    community = serializers.CharField(required=False, max_length=15)
    grid = serializers.CharField(required=False, max_length=15)


class PointQuerySerializer(serializers.Serializer):
    lon = serializers.FloatField(min_value=-180, max_value=180)
    lat = serializers.FloatField(min_value=-90, max_value=90)
    crs = serializers.ChoiceField(choices=CRS_CHOICES, required=False, default="wgs84")


@extend_schema_field(
    {
        "type": "object",
        "description": 'GeoJSON geometry, e.g. {"type": "Point", "coordinates": [101.6, 26.58]}',
        "properties": {"type": {"type": "string"}, "coordinates": {"type": "array", "items": {}}},
        "required": ["type", "coordinates"],
    }
)
class GeoJSONGeometryField(serializers.Field):
    """A GeoJSON geometry of one type, in WGS84 or GCJ-02 lon/lat; checked coordinate by coordinate."""

    default_error_messages = {
        "invalid": "应为 GeoJSON {geom_type} 对象。Expected a GeoJSON {geom_type} object.",
        "coordinates": "坐标无效：{reason}。Invalid coordinates: {reason}.",
    }

    def __init__(self, *, geom_type: str, **kwargs):
        self.geom_type = geom_type
        super().__init__(**kwargs)

    def _position(self, value) -> tuple[float, float]:
        if not isinstance(value, list | tuple) or len(value) not in (2, 3):
            self.fail("coordinates", reason="每个位置应为 [经度, 纬度] / each position must be [lon, lat]")
        lon, lat = value[0], value[1]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lon, lat)):
            self.fail("coordinates", reason="经纬度须为数字 / lon and lat must be numbers")
        if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
            self.fail("coordinates", reason="超出经纬度范围 / out of range")
        return float(lon), float(lat)

    def to_internal_value(self, data):
        if not isinstance(data, dict) or data.get("type") != self.geom_type or "coordinates" not in data:
            self.fail("invalid", geom_type=self.geom_type)
        coordinates = data["coordinates"]
        if self.geom_type == "Point":
            return self._position(coordinates)
        if not isinstance(coordinates, list) or len(coordinates) < 2:
            self.fail("coordinates", reason="线至少需要两个点 / a line needs at least two positions")
        if len(coordinates) > 20000:
            self.fail("coordinates", reason="点数过多（上限 20000）/ too many positions (20000 at most)")
        return [self._position(position) for position in coordinates]

    def to_representation(self, value):
        return {"type": self.geom_type, "coordinates": list(value)}


class PersonSerializer(times.ModelSerializer):
    id_number = serializers.CharField(source="id_number_masked", read_only=True)
    phone = serializers.CharField(source="phone_masked", read_only=True)
    age = serializers.SerializerMethodField()
    care_tags = serializers.SerializerMethodField()

    class Meta:
        model = Person
        fields = ["id", "name", "sex", "age", "relation", "residency", "care_tags", "id_number", "phone"]

    def get_age(self, person: Person) -> int:
        today = date.today()
        born = person.birth_date
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

    def get_care_tags(self, person: Person) -> list[dict]:
        labels = dict(CareTag.choices)
        return [{"code": tag, "label": str(labels.get(tag, tag))} for tag in person.care_tags]


class HouseholdSerializer(times.ModelSerializer):
    people = PersonSerializer(many=True, read_only=True)

    class Meta:
        model = Household
        fields = ["id", "unit_no", "floor", "room", "type", "people"]


class RegionRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class BuildingRefSerializer(RegionRefSerializer):
    address = serializers.CharField()
    floors = serializers.IntegerField()
    use = serializers.CharField()


class UnitRefSerializer(times.ModelSerializer):
    type_label = serializers.CharField()  # Unit.type_label

    def get_fields(self):
        """The fields a ModelSerializer works out from the model once per process, then copies of them: working
        them out (model introspection for every field) cost more than the rest of a unit's serialisation, on
        every locate and route answer."""
        cls = type(self)
        if "_model_fields" not in cls.__dict__:
            cls._model_fields = super().get_fields()
        return copy.deepcopy(cls._model_fields)

    class Meta:
        model = Unit
        fields = ["id", "code", "name", "type", "type_label", "level"]


class LocationSerializer(serializers.Serializer):
    lon = serializers.FloatField()
    lat = serializers.FloatField()
    inside_district = serializers.BooleanField()
    district = RegionRefSerializer(allow_null=True)
    street = RegionRefSerializer(allow_null=True)
    community = RegionRefSerializer(allow_null=True)
    grid = RegionRefSerializer(allow_null=True)
    building = BuildingRefSerializer(allow_null=True)
    units = UnitRefSerializer(many=True)


def unit_ref(unit: Unit) -> dict:
    """UnitRefSerializer's answer, made directly: locate and route list every unit whose jurisdiction covers the
    point, twenty or more, and a serializer per unit cost more than the rest of the request. (A test keeps the two
    equal; the serializers stay as the schema.)"""
    return {
        "id": unit.pk,
        "code": unit.code,
        "name": unit.name,
        "type": unit.type,
        "type_label": str(unit.type_label),
        "level": unit.level,
    }


def _ref(instance, fields: tuple[str, ...]) -> dict | None:
    return None if instance is None else {field: getattr(instance, field) for field in fields}


def location_body(point, found: dict) -> dict:
    """LocationSerializer's answer for `found` (grids.selectors.locate), made directly (see unit_ref)."""
    return {
        "lon": point.x,
        "lat": point.y,
        "inside_district": found["district"] is not None,
        **{level: _ref(found[level], ("id", "code", "name")) for level in ("district", "street", "community", "grid")},
        "building": _ref(found["building"], ("id", "code", "name", "address", "floors", "use")),
        "units": [unit_ref(unit) for unit in found["units"]],
    }


class RegionStatsSerializer(serializers.Serializer):
    level = serializers.CharField()
    code = serializers.CharField()
    name = serializers.CharField()
    buildings = serializers.IntegerField()
    households = serializers.IntegerField()
    people = serializers.IntegerField()
    by_residency = serializers.DictField(child=serializers.IntegerField())
    by_sex = serializers.DictField(child=serializers.IntegerField())
    by_care_tag = serializers.DictField(child=serializers.IntegerField())
    cases = inline_serializer(
        "RegionCases",
        {
            "open": serializers.IntegerField(),
            "total": serializers.IntegerField(help_text="received in the window"),
            "closed": serializers.IntegerField(),
            "rejected": serializers.IntegerField(),
            "residents": serializers.IntegerField(),
            "per_1000": serializers.FloatField(allow_null=True),
            "since": serializers.CharField(),
            "until": serializers.CharField(),
        },
    )


class RevealRequestSerializer(serializers.Serializer):
    fields = serializers.MultipleChoiceField(choices=["id_number", "phone"], allow_empty=False)
    reason = serializers.CharField(min_length=4, max_length=500, help_text=_("查看理由，将记入审计日志"))
