"""Writes of the handheld API."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.gis.geos import LineString, Point
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from rest_framework.exceptions import AuthenticationFailed, Throttled, ValidationError

from gridmgmt import login_guard
from mobileapi import idempotency, photos
from mobileapi.models import AccessToken, Patrol, Photo


def issue_token(*, request, username: str, password: str, device_id: str) -> tuple[AccessToken, str]:
    """Check the password (with lockout after repeated failures) and issue a device token."""
    address = login_guard.client_address(request)
    wait = login_guard.seconds_locked(username=username, address=address)
    if wait:
        raise Throttled(wait=wait, detail=f"登录失败次数过多，请 {wait // 60} 分钟后再试。Too many failed logins.")
    user = authenticate(request, username=username, password=password)
    if user is None:
        login_guard.record_failure(username=username, address=address)
        raise AuthenticationFailed("用户名或密码错误。Wrong username or password.")
    login_guard.record_success(username=username, address=address)
    return AccessToken.issue(user=user, device_id=device_id, lifetime=timedelta(days=settings.ACCESS_TOKEN_DAYS))


def revoke_token(*, token: AccessToken) -> None:
    AccessToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


# --- Photos ---------------------------------------------------------------------------


def store_photo(*, data: bytes, uploader) -> tuple[Photo, bool]:
    """Check, clean and keep a photo once per content hash: (the photo, whether it is new)."""
    cleaned = photos.clean_photo(data)  # raises PhotoRejected
    existing = Photo.objects.filter(sha256=cleaned.sha256).first()
    if existing is not None:
        return existing, False
    taken_at = timezone.make_aware(cleaned.taken_at) if cleaned.taken_at else None  # camera clocks are local time
    photo = Photo(
        sha256=cleaned.sha256,
        content_type=cleaned.content_type,
        width=cleaned.width,
        height=cleaned.height,
        size_bytes=len(cleaned.image),
        taken_at=taken_at,
        gps=Point(*cleaned.gps, srid=4326) if cleaned.gps else None,
        uploaded_by=uploader,
    )
    stem = f"{cleaned.sha256[:2]}/{cleaned.sha256}"
    photo.image.save(f"{stem}.{cleaned.extension}", ContentFile(cleaned.image), save=False)
    photo.thumbnail.save(f"{stem}.jpg", ContentFile(cleaned.thumbnail), save=False)
    try:
        with transaction.atomic():
            photo.save()
    except IntegrityError:
        return Photo.objects.get(sha256=cleaned.sha256), False
    return photo, True


# --- Patrols --------------------------------------------------------------------------

PATROL_REACH_M = 25
# CGCS2000 3-degree Gauss-Krüger zone with central meridian 102°E: metres for 攀枝花.
METRIC_SRID = 4543

_PATROL_GRID_SQL = f"""
    WITH t AS (SELECT ST_Transform(%(track)s::geometry, {METRIC_SRID}) AS m, %(track)s::geometry AS w)
    SELECT g.id,
           ST_Length(t.m),
           ST_Area(ST_Intersection(ST_Transform(g.boundary, {METRIC_SRID}), ST_Buffer(t.m, {PATROL_REACH_M})))
             / NULLIF(ST_Area(ST_Transform(g.boundary, {METRIC_SRID})), 0)
    FROM grids_grid g, t
    WHERE g.boundary && ST_Expand(t.w, 0.001)
      AND ST_DWithin(ST_Transform(g.boundary, {METRIC_SRID}), t.m, {PATROL_REACH_M})
    ORDER BY g.id = ANY(%(own)s) DESC, 3 DESC, g.code
    LIMIT 1
"""


def record_patrol(*, worker, client_uuid, track: LineString, started_at, ended_at) -> tuple[Patrol, bool]:
    """Keep a patrol once per client UUID, with the grid it covered most (the worker's own first)."""
    digest = idempotency.fingerprint(
        {"track": track.wkt, "started_at": started_at.isoformat(), "ended_at": ended_at.isoformat()}
    )

    def create() -> Patrol:
        own = list(worker.staff.grids.values_list("id", flat=True)) if hasattr(worker, "staff") else []
        with connection.cursor() as cursor:
            cursor.execute(_PATROL_GRID_SQL, {"track": track.ewkt, "own": own})
            row = cursor.fetchone()
        if row is None:
            raise ValidationError({"track": ["轨迹不在任何网格内。The track passes through no grid."]})
        grid_id, length_m, coverage = row
        return Patrol.objects.create(
            client_uuid=client_uuid,
            fingerprint=digest,
            worker=worker,
            grid_id=grid_id,
            track=track,
            started_at=started_at,
            ended_at=ended_at,
            length_m=length_m,
            coverage=min(coverage or 0.0, 1.0),
        )

    return idempotency.create_once(model=Patrol, client_uuid=client_uuid, digest=digest, create=create)
