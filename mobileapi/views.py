from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from mobileapi import idempotency, selectors, services
from mobileapi.models import AccessToken
from mobileapi.serializers import (
    PatrolRequestSerializer,
    PatrolSerializer,
    TokenRequestSerializer,
    TokenResponseSerializer,
    WorkerSerializer,
)


class TokenView(APIView):
    """POST issues a device token for a username and password; DELETE revokes the token presented."""

    def _logging_in(self) -> bool:
        return getattr(self.request, "method", None) == "POST"

    def get_permissions(self):
        return [AllowAny()] if self._logging_in() else super().get_permissions()

    def get_authenticators(self):
        # Logging in must work even while the device still sends its old, expired token.
        return [] if self._logging_in() else super().get_authenticators()

    def get_authenticate_header(self, request):
        return "Token"  # a wrong password is a 401, as for any credential

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenResponseSerializer}, auth=[])
    def post(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, key = services.issue_token(request=request, **data.validated_data)
        body = {"token": key, "expires_at": token.expires_at, "worker": selectors.worker_profile(user=token.user)}
        return Response(TokenResponseSerializer(body).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request):
        if not isinstance(request.auth, AccessToken):
            raise NotAuthenticated(_("请用要注销的令牌调用。Call with the token to revoke."))
        services.revoke_token(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    """The signed-in worker, their units and their grids."""

    @extend_schema(responses={200: WorkerSerializer})
    def get(self, request):
        return Response(WorkerSerializer(selectors.worker_profile(user=request.user)).data)


def conflict_response(existing, message: str) -> Response:
    return Response(
        {"detail": message, "code": "client_uuid_conflict", "existing": {"id": existing.pk}},
        status=status.HTTP_409_CONFLICT,
    )


class PatrolView(APIView):
    """Record a patrol track; answers the share of the grid's area walked within 25 m."""

    @extend_schema(request=PatrolRequestSerializer, responses={200: PatrolSerializer, 201: PatrolSerializer})
    def post(self, request):
        data = PatrolRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            patrol, created = services.record_patrol(worker=request.user, **data.validated_data)
        except idempotency.ReplayConflict as conflict:
            return conflict_response(
                conflict.existing, "该 client_uuid 已用于另一条巡查记录。client_uuid reused for other content."
            )
        return Response(
            PatrolSerializer(patrol).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )
