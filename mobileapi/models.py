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

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_tokens", verbose_name=_("账号")
    )
    digest = models.CharField(max_length=64, unique=True, editable=False, verbose_name=_("令牌摘要"))
    device_id = models.CharField(_("设备"), max_length=128)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("创建时间"))
    expires_at = models.DateTimeField(_("过期时间"))
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, verbose_name=_("最近使用时间"))

    class Meta:
        verbose_name = _("访问令牌")
        verbose_name_plural = _("访问令牌")
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

    sha256 = models.CharField(max_length=64, unique=True, verbose_name=_("内容哈希（SHA-256）"))
    image = models.FileField(upload_to="photos/", verbose_name=_("图像"))
    # Made by the task queue's worker after the photo is stored (mobileapi.services.make_thumbnail): empty until
    # then, and the photo itself is served in its place.
    thumbnail = models.FileField(upload_to="photos/thumbs/", blank=True, verbose_name=_("缩略图"))
    content_type = models.CharField(max_length=32, verbose_name=_("文件类型"))
    width = models.PositiveIntegerField(verbose_name=_("宽度"))
    height = models.PositiveIntegerField(verbose_name=_("高度"))
    size_bytes = models.PositiveIntegerField(verbose_name=_("大小（字节）"))
    taken_at = models.DateTimeField(_("拍摄时间（相机）"), null=True, blank=True)
    gps = gis_models.PointField(_("拍摄位置"), srid=4326, null=True, blank=True)
    # None: posted as `media` by an Open311 client (the case's external_ref names its key).
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("上传人"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("创建时间"))

    class Meta:
        verbose_name = _("照片")
        verbose_name_plural = _("照片")

    def __str__(self) -> str:
        return self.sha256[:12]


class Patrol(models.Model):
    """A grid worker's walk, and the share of the grid's area it passed within 25 m of."""

    client_uuid = models.UUIDField(unique=True, verbose_name=_("终端请求编号"))
    fingerprint = models.CharField(max_length=64, verbose_name=_("内容指纹"))
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="patrols", verbose_name=_("网格员")
    )
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="patrols", verbose_name=_("网格"))
    track = gis_models.LineStringField(srid=4326, spatial_index=True, verbose_name=_("轨迹"))
    started_at = models.DateTimeField(verbose_name=_("开始时间"))
    ended_at = models.DateTimeField(verbose_name=_("结束时间"))
    length_m = models.FloatField(verbose_name=_("长度（米）"))
    coverage = models.FloatField(
        help_text="share of the grid's area within 25 m of the track, 0–1", verbose_name=_("覆盖率")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("创建时间"))

    class Meta:
        verbose_name = _("巡查")
        verbose_name_plural = _("巡查")
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

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="photos", verbose_name=_("案件"))
    photo = models.ForeignKey(Photo, on_delete=models.PROTECT, related_name="uses", verbose_name=_("照片"))
    kind = models.CharField(_("照片类型"), max_length=8, choices=PhotoKind.choices)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("上传人")
    )
    distance_m = models.FloatField(_("距上报位置（米）"), null=True, blank=True)
    time_gap_hours = models.FloatField(_("距上报时间（小时）"), null=True, blank=True)
    flagged = models.BooleanField(_("位置或时间与上报相差较远"), default=False)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("创建时间"))

    class Meta:
        verbose_name = _("案件照片")
        verbose_name_plural = _("案件照片")
        ordering = ["case_id", "created_at"]
        constraints = [models.UniqueConstraint(fields=["case", "photo", "kind"], name="case_photo_once_per_kind")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.photo}"


class TaskCompletion(models.Model):
    """A worker's answer to a 核实 (verify a report on site) or 核查 (check the handling) task, once per client UUID."""

    class Kind(models.TextChoices):
        CONFIRM = "confirm", _("核实")
        CHECK = "check", _("核查")

    client_uuid = models.UUIDField(unique=True, verbose_name=_("终端请求编号"))
    fingerprint = models.CharField(max_length=64, verbose_name=_("内容指纹"))
    case = models.ForeignKey(
        "cases.Case", on_delete=models.PROTECT, related_name="task_completions", verbose_name=_("案件")
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, verbose_name=_("任务类型"))
    result = models.CharField(max_length=16, verbose_name=_("结果"))
    note = models.TextField(blank=True, default="", verbose_name=_("说明"))
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("网格员")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("创建时间"))

    class Meta:
        verbose_name = _("任务完成记录")
        verbose_name_plural = _("任务完成记录")

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.result}"


class Open311Key(models.Model):
    """An API key for an Open311 GeoReport v2 client (a city app, a hotline system). Only its SHA-256 is stored."""

    name = models.CharField(_("客户端名称"), max_length=128)
    digest = models.CharField(max_length=64, unique=True, editable=False, verbose_name=_("密钥摘要"))
    prefix = models.CharField(_("密钥开头"), max_length=8, editable=False)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("创建时间"))
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("Open311 接口密钥")
        verbose_name_plural = _("Open311 接口密钥")

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
