from rest_framework import serializers

from grids.models import Grid, Unit


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})
    device_id = serializers.CharField(max_length=128, required=False, default="api")


class GridRefSerializer(serializers.ModelSerializer):
    community = serializers.CharField(source="community.name")

    class Meta:
        model = Grid
        fields = ["id", "code", "name", "community"]


class UnitBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Unit
        fields = ["id", "code", "name", "type"]


class WorkerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()
    role = serializers.CharField(allow_null=True)
    units = UnitBriefSerializer(many=True)
    grids = GridRefSerializer(many=True)


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()
    worker = WorkerSerializer()
