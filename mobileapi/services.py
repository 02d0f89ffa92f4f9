"""Writes of the handheld API."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.gis.geos import LineString, Point
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from pyproj import Geod
from rest_framework.exceptions import AuthenticationFailed, Throttled, ValidationError

from cases import services as case_services
from cases.models import Case, CaseEvent, Source, State
from gridmgmt import login_guard
from grids import services as registry
from grids.models import RegistryChange
from mobileapi import idempotency, photos
from mobileapi.models import AccessToken, CasePhoto, Patrol, Photo, PhotoKind, TaskCompletion


def issue_token(*, request, username: str, password: str, device_id: str) -> tuple[AccessToken, str]:
    """Check the password (with lockout after repeated failures) and issue a device token."""
    user = authenticate(request, username=username, password=password)  # books the check (LockoutBackend)
    if user is None:
        if wait := login_guard.locked_seconds(request):
            locked = Throttled(detail=login_guard.locked_message(wait), code="login_locked")
            locked.wait = wait  # Retry-After; the message already says how long
            raise locked
        raise AuthenticationFailed("用户名或密码错误。Wrong username or password.")
    return AccessToken.issue(user=user, device_id=device_id, lifetime=timedelta(days=settings.ACCESS_TOKEN_DAYS))


def revoke_token(*, token: AccessToken) -> None:
    AccessToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def revoke_tokens_of(*, user) -> int:
    """Revoke every live token of the user (their password changed or their account was deactivated)."""
    return AccessToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


# --- Photos ---------------------------------------------------------------------------


def store_photo(*, data: bytes, uploader) -> tuple[Photo, bool]:
    """Check, clean and keep a photo once per content hash: (the photo, whether it is new). Its thumbnail is made
    by the worker once the photo is committed (make_thumbnail)."""
    cleaned = photos.clean_photo(data)  # raises PhotoRejected
    existing = Photo.objects.filter(sha256=cleaned.sha256).first()
    if existing is not None:
        if not existing.thumbnail:  # its thumbnail's task was lost (or is still to run): asked for again
            _queue_thumbnail(existing.pk)
        return existing, False
    taken_at = cleaned.taken_at
    if taken_at is not None and timezone.is_naive(taken_at):
        taken_at = timezone.make_aware(taken_at)  # a camera clock without its offset is taken as local time
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
    try:
        with transaction.atomic():
            photo.save()
    except IntegrityError:
        return Photo.objects.get(sha256=cleaned.sha256), False
    _queue_thumbnail(photo.pk)
    return photo, True


def _queue_thumbnail(photo_id: int) -> None:
    from mobileapi import tasks

    transaction.on_commit(lambda: tasks.make_thumbnail.delay(photo_id))


def make_thumbnail(photo_id: int) -> bool:
    """Make a photo's thumbnail from its stored copy (on the worker); whether one was made. Safe to run again: a
    photo that has its thumbnail is left alone, and a file left by a run that died before recording it is
    written over."""
    photo = Photo.objects.filter(pk=photo_id).first()
    if photo is None or (photo.thumbnail and photo.thumbnail.storage.exists(photo.thumbnail.name)):
        return False
    with photo.image.open("rb") as stored:
        thumbnail = photos.make_thumbnail(stored.read())
    field = photo.thumbnail
    name = field.field.generate_filename(photo, f"{photo.sha256[:2]}/{photo.sha256}.jpg")
    field.storage.delete(name)
    name = field.storage.save(name, ContentFile(thumbnail))
    Photo.objects.filter(pk=photo.pk).update(thumbnail=name)
    return True


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


# --- Reports --------------------------------------------------------------------------------


def submit_report(
    *, worker, client_uuid, category, point, description, captured_at, address="", level=None, resolved_on_site=False
) -> tuple[Case, bool]:
    """A report from a handheld becomes a case (once per client UUID): (case, whether it is new)."""
    try:
        case, created = case_services.create_case(
            category=category,
            point=point,
            description=description,
            source=Source.HANDHELD,
            actor=worker,
            reporter=worker,
            address=address,
            captured_at=captured_at,
            level=level,
            client_uuid=client_uuid,
            resolved_on_site=resolved_on_site,
        )
    except case_services.InvalidInput as error:
        raise ValidationError(error.errors) from None
    return case, created


PHOTO_FAR_M = 200
PHOTO_LATE_HOURS = 24
_GEOD = Geod(ellps="WGS84")


def attach_photo(*, case: Case, data: bytes, kind: str, uploader) -> tuple[CasePhoto, bool]:
    """Keep a photo for a report (once per content and kind), compare its camera position and time with the report,
    and close a level-1 report solved on the spot when its after-photo arrives."""
    photo, _ = store_photo(data=data, uploader=uploader)
    distance_m = time_gap = None
    if photo.gps is not None:
        distance_m = _GEOD.inv(case.point.x, case.point.y, photo.gps.x, photo.gps.y)[2]
    if photo.taken_at is not None:
        time_gap = abs((photo.taken_at - case.captured_at).total_seconds()) / 3600
    flagged = (distance_m or 0) > PHOTO_FAR_M or (time_gap or 0) > PHOTO_LATE_HOURS
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case.pk)
        attached, created = CasePhoto.objects.get_or_create(
            case=case,
            photo=photo,
            kind=kind,
            defaults={
                "uploaded_by": uploader,
                "distance_m": distance_m,
                "time_gap_hours": time_gap,
                "flagged": flagged,
            },
        )
        if not created:
            return attached, False
        on_spot = kind == PhotoKind.AFTER and case.resolved_on_site and case.state == State.REPORTED
        if on_spot:
            case_services.apply_transition(
                case_id=case.pk,
                actor=uploader,
                action="close_on_spot",
                version=case.version,
                note="现场已解决 / solved on the spot",
                attachments=[photo.sha256],
            )
        else:
            # Not a transition: the photo joins the case's timeline without changing its state or version.
            CaseEvent.objects.create(
                case=case,
                actor=uploader,
                action="photo",
                from_state=case.state,
                to_state=case.state,
                attachments=[photo.sha256],
                data={"kind": kind, "distance_m": distance_m, "time_gap_hours": time_gap, "flagged": flagged},
            )
    return attached, True


# --- Tasks ----------------------------------------------------------------------------------

TASK_RESULTS = {
    TaskCompletion.Kind.CONFIRM: {"confirmed": ("confirm", "核实属实"), "not_found": ("confirm", "核实不属实")},
    TaskCompletion.Kind.CHECK: {"pass": ("verify", "核查通过"), "fail": ("rework", "核查不通过，需返工")},
}


class TaskClosed(Exception):
    """The case is no longer waiting for this worker's answer."""


def complete_task(*, worker, case: Case, client_uuid, result: str, note: str = "", photos: list[str] = ()):
    """Answer a 核实/核查 task once per client UUID, moving the case through the cycle: (completion, created)."""
    photos = list(photos)
    digest = idempotency.fingerprint({"case": case.pk, "result": result, "note": note, "photos": photos})

    def create() -> TaskCompletion:
        kind = {State.REPORTED: TaskCompletion.Kind.CONFIRM, State.RESOLVED: TaskCompletion.Kind.CHECK}.get(case.state)
        if kind is None:
            raise TaskClosed(case)
        if result not in TASK_RESULTS[kind]:
            raise ValidationError({"result": [f"应为 {' / '.join(TASK_RESULTS[kind])} 之一。"]})
        action, label = TASK_RESULTS[kind][result]
        try:
            case_services.apply_transition(
                case_id=case.pk,
                actor=worker,
                action=action,
                version=case.version,
                note=f"{label}。{note}".rstrip("。") if note else label,
                attachments=photos,
            )
        except case_services.InvalidInput as error:  # the task's photos are the transition's attachments
            errors = {
                ("photos" if name == "attachments" else name): messages for name, messages in error.errors.items()
            }
            raise ValidationError(errors) from None
        return TaskCompletion.objects.create(
            client_uuid=client_uuid, fingerprint=digest, case=case, kind=kind, result=result, note=note, worker=worker
        )

    return idempotency.create_once(model=TaskCompletion, client_uuid=client_uuid, digest=digest, create=create)


# --- 信息采集 ----------------------------------------------------------------------------------


def submit_registry_change(*, worker, **request) -> tuple[RegistryChange, bool]:
    """A change request from a handheld, once per client UUID of this worker: (request, whether it is new)."""
    try:
        return registry.propose_change(worker=worker, **request)
    except registry.InvalidChange as error:
        raise ValidationError(error.errors) from None
