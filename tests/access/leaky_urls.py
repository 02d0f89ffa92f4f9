"""A URL configuration for test_access_guard: the real one plus one deliberately unscoped endpoint."""

from django.urls import include, path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from grids import pii
from grids.models import Person

LEAKY_ROUTE = "api/v1/everyone"


class EveryoneView(APIView):
    """Every resident's name and full ID number, to anyone: what the access matrix exists to catch."""

    permission_classes = [AllowAny]

    def get(self, request):
        return Response(
            [{"name": p.name, "id_number": pii.decrypt(p.id_number_cipher)} for p in Person.objects.order_by("pk")]
        )


urlpatterns = [
    path(LEAKY_ROUTE, EveryoneView.as_view()),
    path("", include("gridmgmt.urls")),
]
