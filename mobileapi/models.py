import hashlib
import secrets

from django.conf import settings
from django.contrib.gis.db import models as gis_models
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class AccessToken(models.Model):
    """An API token bound to one device, that expires and can be revoked.

    Only the SHA-256 of the key is stored: a copy of the table lets no one in.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_tokens")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    device_id = models.CharField(_("device"), max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("access token")
        verbose_name_plural = _("access tokens")
        indexes = [models.Index(fields=["user", "device_id"])]

    def __str__(self) -> str:
        return f"{self.user} @ {self.device_id}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()

    @classmethod
    def issue(cls, *, user, device_id: str, lifetime) -> tuple["AccessToken", str]:
        key = secrets.token_hex(20)
        token = cls.objects.create(
            user=user, digest=token_digest(key), device_id=device_id, expires_at=timezone.now() + lifetime
        )
        return token, key


class Photo(models.Model):
    """An uploaded photo, stored once per content hash, cleaned of EXIF (see mobileapi/photos.py)."""

    sha256 = models.CharField(max_length=64, unique=True)
    image = models.FileField(upload_to="photos/")
    thumbnail = models.FileField(upload_to="photos/thumbs/")
    content_type = models.CharField(max_length=32)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size_bytes = models.PositiveIntegerField()
    taken_at = models.DateTimeField(_("taken at (camera)"), null=True, blank=True)
    gps = gis_models.PointField(_("camera position"), srid=4326, null=True, blank=True)
    # None: posted as `media` by an Open311 client (the case's external_ref names its key).
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")

    def __str__(self) -> str:
        return self.sha256[:12]


class Patrol(models.Model):
    """A grid worker's walk, and the share of the grid's area it passed within 25 m of."""

    client_uuid = models.UUIDField(unique=True)
    fingerprint = models.CharField(max_length=64)
    worker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="patrols")
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="patrols")
    track = gis_models.LineStringField(srid=4326, spatial_index=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    length_m = models.FloatField()
    coverage = models.FloatField(help_text="share of the grid's area within 25 m of the track, 0–1")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("patrol")
        verbose_name_plural = _("patrols")
        indexes = [models.Index(fields=["grid", "started_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ended_at__gte=models.F("started_at")), name="patrol_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.worker} {self.grid} {self.started_at:%Y-%m-%d}"


class PhotoKind(models.TextChoices):
    BEFORE = "before", _("处置前")
    AFTER = "after", _("处置后")


class CasePhoto(models.Model):
    """A photo attached to a case from a handheld, with how far its camera position and time are from the report."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="photos")
    photo = models.ForeignKey(Photo, on_delete=models.PROTECT, related_name="uses")
    kind = models.CharField(_("kind"), max_length=8, choices=PhotoKind.choices)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    distance_m = models.FloatField(_("distance from the report (m)"), null=True, blank=True)
    time_gap_hours = models.FloatField(_("time from the report (h)"), null=True, blank=True)
    flagged = models.BooleanField(_("position or time far from the report"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("case photo")
        verbose_name_plural = _("case photos")
        ordering = ["case_id", "created_at"]
        constraints = [models.UniqueConstraint(fields=["case", "photo", "kind"], name="case_photo_once_per_kind")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.photo}"


class TaskCompletion(models.Model):
    """A worker's answer to a 核实 (verify a report on site) or 核查 (check the handling) task, once per client UUID."""

    class Kind(models.TextChoices):
        CONFIRM = "confirm", _("核实")
        CHECK = "check", _("核查")

    client_uuid = models.UUIDField(unique=True)
    fingerprint = models.CharField(max_length=64)
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="task_completions")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    result = models.CharField(max_length=16)
    note = models.TextField(blank=True, default="")
    worker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("task completion")
        verbose_name_plural = _("task completions")

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.result}"


class Open311Key(models.Model):
    """An API key for an Open311 GeoReport v2 client (a city app, a hotline system). Only its SHA-256 is stored."""

    name = models.CharField(_("client name"), max_length=128)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("key begins with"), max_length=8, editable=False)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("Open311 API key")
        verbose_name_plural = _("Open311 API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, *, name: str, key: str | None = None) -> tuple["Open311Key", str]:
        key = key or secrets.token_urlsafe(24)
        api_key, _ = cls.objects.update_or_create(
            digest=token_digest(key), defaults={"name": name, "prefix": key[:8], "active": True, "revoked_at": None}
        )
        return api_key, key

    @classmethod
    def find_active(cls, key: str) -> "Open311Key | None":
        return cls.objects.filter(digest=token_digest(key), active=True).first() if key else None
