"""The registry: 区—街道—社区—网格, buildings, households, people and the units that handle cases.

人到户、户入楼、楼上图: a Person belongs to a Household, a Household to a Building,
and a Building to the Grid that contains it (assigned by the database, see the
migration that installs `grids_building_assign_grid`).
"""

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db.models import Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

SRID = 4326


class Region(models.Model):
    """Shared shape of the four administrative levels."""

    code = models.CharField(_("编码"), max_length=15, unique=True)
    name = models.CharField(_("名称"), max_length=64)
    boundary = models.MultiPolygonField(_("边界"), srid=SRID, spatial_index=True)

    class Meta:
        abstract = True
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class District(Region):
    """区/县; code after GB/T 2260 (西区 = 510403)."""

    class Meta(Region.Meta):
        verbose_name = _("区县")
        verbose_name_plural = _("区县")
        constraints = [models.CheckConstraint(condition=Q(code__regex=r"^[0-9]{6}$"), name="district_code_6_digits")]


class Street(Region):
    """街道/镇; code = district code + 3 digits."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="streets", verbose_name=_("所属区县"))

    class Meta(Region.Meta):
        verbose_name = _("街道")
        verbose_name_plural = _("街道")
        constraints = [models.CheckConstraint(condition=Q(code__regex=r"^[0-9]{9}$"), name="street_code_9_digits")]


class Community(Region):
    """社区/村; code = street code + 3 digits."""

    street = models.ForeignKey(Street, on_delete=models.PROTECT, related_name="communities", verbose_name=_("所属街道"))

    class Meta(Region.Meta):
        verbose_name = _("社区")
        verbose_name_plural = _("社区")
        constraints = [models.CheckConstraint(condition=Q(code__regex=r"^[0-9]{12}$"), name="community_code_12_digits")]


class Grid(Region):
    """网格; code = community code + 2 or 3 digit sequence."""

    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="grids", verbose_name=_("所属社区"))

    class Meta(Region.Meta):
        verbose_name = _("网格")
        verbose_name_plural = _("网格")
        constraints = [
            models.CheckConstraint(condition=Q(code__regex=r"^[0-9]{14,15}$"), name="grid_code_14_15_digits")
        ]


class BuildingUse(models.TextChoices):
    RESIDENTIAL = "residential", _("住宅")
    COMMERCIAL = "commercial", _("商业")
    MIXED = "mixed", _("商住混合")
    PUBLIC = "public", _("公共服务")
    INDUSTRIAL = "industrial", _("工业")
    OTHER = "other", _("其他")


class Building(models.Model):
    code = models.CharField(_("楼栋编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=128)
    address = models.CharField(_("地址"), max_length=255)
    floors = models.PositiveSmallIntegerField(_("层数"))
    use = models.CharField(_("用途"), max_length=16, choices=BuildingUse.choices, default=BuildingUse.RESIDENTIAL)
    footprint = models.PolygonField(_("轮廓"), srid=SRID, spatial_index=True)
    # Set by the database trigger from the footprint; never typed in.
    grid = models.ForeignKey(
        Grid,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="buildings",
        verbose_name=_("所在网格"),
    )
    # Kept by the database (default and update trigger) so handheld packages can send only what changed.
    updated_at = models.DateTimeField(_("更新时间"), db_default=Now(), editable=False, db_index=True)

    class Meta:
        verbose_name = _("楼栋")
        verbose_name_plural = _("楼栋")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(floors__gte=1) & Q(floors__lte=200), name="building_floors_range"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class HouseholdType(models.TextChoices):
    FAMILY = "family", _("家庭户")
    COLLECTIVE = "collective", _("集体户")
    RENTAL = "rental", _("出租户")
    VACANT = "vacant", _("空置")


class Household(models.Model):
    building = models.ForeignKey(
        Building, on_delete=models.CASCADE, related_name="households", verbose_name=_("所在楼栋")
    )
    unit_no = models.CharField(_("单元"), max_length=8, blank=True, default="")
    floor = models.SmallIntegerField(_("楼层"))
    room = models.CharField(_("房号"), max_length=16)
    type = models.CharField(_("住户类型"), max_length=16, choices=HouseholdType.choices, default=HouseholdType.FAMILY)
    # Kept by the database (default and update trigger) so handheld packages can send only what changed.
    updated_at = models.DateTimeField(_("更新时间"), db_default=Now(), editable=False, db_index=True)

    class Meta:
        verbose_name = _("住户")
        verbose_name_plural = _("住户")
        ordering = ["building_id", "unit_no", "floor", "room"]
        constraints = [
            models.UniqueConstraint(fields=["building", "unit_no", "floor", "room"], name="household_unique_dwelling")
        ]

    def __str__(self) -> str:
        unit = f"{self.unit_no}单元" if self.unit_no else ""
        return f"{self.building.name} {unit}{self.room}"


class Sex(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


class Residency(models.TextChoices):
    REGISTERED = "registered", _("户籍人口")
    FLOATING = "floating", _("流动人口")


class CareTag(models.TextChoices):
    """Care and attention tags, after the GB/T 31000 "9+X" reference list."""

    ELDERLY_ALONE = "elderly_alone", _("独居老人")
    EMPTY_NEST = "empty_nest", _("空巢老人")
    LEFT_BEHIND_CHILD = "left_behind_child", _("留守儿童")
    DISABLED = "disabled", _("残疾人")
    SUBSISTENCE = "subsistence", _("低保对象")
    EXTREME_POVERTY = "extreme_poverty", _("特困人员")
    COMMUNITY_CORRECTION = "community_correction", _("社区矫正对象")
    RELEASED_PRISONER = "released_prisoner", _("刑满释放人员")
    DRUG_USER = "drug_user", _("吸毒人员")
    MENTAL_DISORDER = "mental_disorder", _("严重精神障碍患者")
    KEY_YOUTH = "key_youth", _("重点青少年")
    VETERAN = "veteran", _("退役军人")


class Person(models.Model):
    """A resident. ID number and phone are stored encrypted, with a keyed hash and a mask (see grids/pii.py)."""

    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="people", verbose_name=_("所在住户")
    )
    name = models.CharField(_("姓名"), max_length=64)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices)
    birth_date = models.DateField(_("出生日期"))
    relation = models.CharField(_("与户主关系"), max_length=16, blank=True, default="")
    residency = models.CharField(_("户籍"), max_length=16, choices=Residency.choices)
    care_tags = ArrayField(
        models.CharField(max_length=32, choices=CareTag.choices), default=list, blank=True, verbose_name=_("关爱标签")
    )
    id_number_cipher = models.TextField(editable=False, verbose_name=_("身份证号密文"))
    id_number_digest = models.CharField(max_length=64, editable=False, verbose_name=_("身份证号摘要"))
    id_number_masked = models.CharField(_("身份证号"), max_length=18, editable=False)
    phone_cipher = models.TextField(editable=False, blank=True, default="", verbose_name=_("电话密文"))
    phone_digest = models.CharField(
        max_length=64, editable=False, blank=True, default="", db_index=True, verbose_name=_("电话摘要")
    )
    phone_masked = models.CharField(_("电话"), max_length=16, editable=False, blank=True, default="")
    # Kept by the database (default and update trigger) so handheld packages can send only what changed.
    updated_at = models.DateTimeField(_("更新时间"), db_default=Now(), editable=False, db_index=True)

    class Meta:
        verbose_name = _("人员")
        verbose_name_plural = _("人员")
        ordering = ["household_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["id_number_digest"], name="person_unique_id_number"),
            models.CheckConstraint(
                condition=Q(id_number_masked__regex=r"^[0-9]{6}\*{8}[0-9]{3}[0-9X]$"), name="person_id_masked_only"
            ),
        ]
        indexes = [GinIndex(fields=["care_tags"], name="person_care_tags_gin")]
        permissions = [("reveal_person", "可查看完整身份证号和电话 / may reveal full ID numbers and phones")]

    def __str__(self) -> str:
        return f"{self.name} {self.id_number_masked}"


class UnitType(models.TextChoices):
    COMMUNITY_COMMITTEE = "community", _("社区居委会")
    STREET_OFFICE = "street_office", _("街道办事处")
    POLICE_STATION = "police_station", _("派出所")
    DEPARTMENT = "department", _("区职能部门")
    COMMAND_CENTRE = "command_centre", _("指挥中心")


# The case level (DESIGN §2) a unit of each type handles.
UNIT_TYPE_LEVEL = {
    UnitType.COMMUNITY_COMMITTEE: 2,
    UnitType.STREET_OFFICE: 3,
    UnitType.POLICE_STATION: 3,
    UnitType.DEPARTMENT: 4,
    UnitType.COMMAND_CENTRE: 4,
}


class Unit(models.Model):
    """A body that handles cases, with the area it answers for."""

    code = models.CharField(_("单位编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=128)
    type = models.CharField(_("单位类型"), max_length=20, choices=UnitType.choices)
    jurisdiction = models.MultiPolygonField(_("辖区"), srid=SRID, spatial_index=True)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级单位"), on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    phone = models.CharField(_("值班电话"), max_length=32, blank=True, default="")

    class Meta:
        verbose_name = _("单位")
        verbose_name_plural = _("单位")
        ordering = ["type", "code"]
        constraints = [models.CheckConstraint(condition=~Q(parent=models.F("id")), name="unit_not_own_parent")]

    def __str__(self) -> str:
        return self.name

    @property
    def level(self) -> int:
        return UNIT_TYPE_LEVEL[self.type]

    @property
    def type_label(self) -> str:
        """The type's name in the active language. (Not get_type_display, which hashes every choice's label, a
        translation each, to look up one: locate and route ask it of twenty units per answer.)"""
        try:
            return str(UnitType(self.type).label)
        except ValueError:
            return self.type


class Role(models.TextChoices):
    WORKER = "worker", _("网格员")
    DISPATCHER = "dispatcher", _("办理端口")
    MANAGER = "manager", _("管理人员")
    ADMIN = "admin", _("系统管理员")


class Staff(models.Model):
    """What an account does: its role, its unit, its grids (workers) or its region (managers)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff", verbose_name=_("账号")
    )
    role = models.CharField(_("角色"), max_length=16, choices=Role.choices)
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="staff", verbose_name=_("所属单位")
    )
    grids = models.ManyToManyField(Grid, blank=True, related_name="workers", verbose_name=_("负责网格"))
    # A manager's region; none means the whole system.
    street = models.ForeignKey(
        Street, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("管辖街道")
    )
    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("管辖社区")
    )

    class Meta:
        verbose_name = _("工作人员")
        verbose_name_plural = _("工作人员")
        constraints = [
            models.CheckConstraint(condition=~Q(role="dispatcher") | Q(unit__isnull=False), name="dispatcher_has_unit"),
        ]

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.get_role_display()})"


# --- 信息采集: registry changes proposed from the field ------------------------------------


class ChangeKind(models.TextChoices):
    ADD_HOUSEHOLD = "add_household", _("新增住户")
    CORRECT_HOUSEHOLD = "correct_household", _("更正住户")
    ADD_PERSON = "add_person", _("新增人员")
    CORRECT_PERSON = "correct_person", _("更正人员")
    PERSON_MOVED_OUT = "person_moved_out", _("人员迁出")
    PERSON_DECEASED = "person_deceased", _("人员死亡")


class ChangeState(models.TextChoices):
    PENDING = "pending", _("待审核")
    APPROVED = "approved", _("已通过")
    REJECTED = "rejected", _("已驳回")


class RegistryChange(models.Model):
    """A grid worker's proposal to add or correct a household or a person of a building in their grids.

    Only an approval at the desk of the community committee or street office covering the building changes the
    registry. `proposed` holds the proposed fields, ID number and phone only as masks; their values are kept as
    Person keeps them (Fernet token and keyed digest, grids/pii.py). `previous` is what the record held when the
    change was approved (masked), so the history reads old → new after the record itself is gone.
    """

    client_uuid = models.UUIDField(verbose_name=_("终端请求编号"))
    fingerprint = models.CharField(max_length=64, verbose_name=_("内容指纹"))
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="registry_changes", verbose_name=_("网格员")
    )
    kind = models.CharField(_("变更类型"), max_length=24, choices=ChangeKind.choices)
    building = models.ForeignKey(
        Building, on_delete=models.CASCADE, related_name="registry_changes", verbose_name=_("楼栋")
    )
    # The record the change is about: given for corrections and a new person's household; set by the approval of
    # an addition to the record it created. Kept (null) if the record is removed later.
    household = models.ForeignKey(
        Household,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="registry_changes",
        verbose_name=_("住户"),
    )
    person = models.ForeignKey(
        Person,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="registry_changes",
        verbose_name=_("人员"),
    )
    # A new person may join a household that is itself still a proposal of the same worker.
    household_change = models.ForeignKey(
        "self",
        verbose_name=_("所属新增住户申请"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="person_changes",
    )
    proposed = models.JSONField(_("拟变更内容"), default=dict, blank=True)
    previous = models.JSONField(_("变更前内容"), default=dict, blank=True)
    id_number_cipher = models.TextField(editable=False, blank=True, default="", verbose_name=_("身份证号密文"))
    id_number_digest = models.CharField(
        max_length=64, editable=False, blank=True, default="", verbose_name=_("身份证号摘要")
    )
    phone_cipher = models.TextField(editable=False, blank=True, default="", verbose_name=_("电话密文"))
    phone_digest = models.CharField(max_length=64, editable=False, blank=True, default="", verbose_name=_("电话摘要"))
    note = models.TextField(_("网格员说明"), blank=True, default="")
    captured_at = models.DateTimeField(_("采集时间（设备）"))
    received_at = models.DateTimeField(_("接收时间"), db_default=Now(), editable=False)
    state = models.CharField(_("状态"), max_length=16, choices=ChangeState.choices, default=ChangeState.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("审核人"),
    )
    decided_unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("审核单位")
    )
    decided_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    decision_note = models.TextField(_("审核意见"), blank=True, default="")

    class Meta:
        verbose_name = _("信息采集变更")
        verbose_name_plural = _("信息采集变更")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["worker", "client_uuid"], name="registry_change_once_per_worker"),
            models.CheckConstraint(
                condition=Q(state="pending", decided_at__isnull=True)
                | (~Q(state="pending") & Q(decided_at__isnull=False)),
                name="registry_change_decided_when_not_pending",
            ),
        ]
        indexes = [models.Index(fields=["state", "building"]), models.Index(fields=["worker", "-received_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.building_id} ({self.get_state_display()})"
