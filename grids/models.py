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

    code = models.CharField(_("code"), max_length=15, unique=True)
    name = models.CharField(_("name"), max_length=64)
    boundary = models.MultiPolygonField(_("boundary"), srid=SRID, spatial_index=True)

    class Meta:
        abstract = True
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class District(Region):
    """区/县; code after GB/T 2260 (西区 = 510403)."""

    class Meta(Region.Meta):
        verbose_name = _("district")
        verbose_name_plural = _("districts")
        constraints = [models.CheckConstraint(condition=Q(code__regex=r"^[0-9]{6}$"), name="district_code_6_digits")]


class Street(Region):
    """街道/镇; code = district code + 3 digits."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="streets", verbose_name=_("district"))

    class Meta(Region.Meta):
        verbose_name = _("street")
        verbose_name_plural = _("streets")
        constraints = [models.CheckConstraint(condition=Q(code__regex=r"^[0-9]{9}$"), name="street_code_9_digits")]


class Community(Region):
    """社区/村; code = street code + 3 digits."""

    street = models.ForeignKey(Street, on_delete=models.PROTECT, related_name="communities", verbose_name=_("street"))

    class Meta(Region.Meta):
        verbose_name = _("community")
        verbose_name_plural = _("communities")
        constraints = [models.CheckConstraint(condition=Q(code__regex=r"^[0-9]{12}$"), name="community_code_12_digits")]


class Grid(Region):
    """网格; code = community code + 2 or 3 digit sequence."""

    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="grids", verbose_name=_("community")
    )

    class Meta(Region.Meta):
        verbose_name = _("grid")
        verbose_name_plural = _("grids")
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
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=128)
    address = models.CharField(_("address"), max_length=255)
    floors = models.PositiveSmallIntegerField(_("floors"))
    use = models.CharField(_("use"), max_length=16, choices=BuildingUse.choices, default=BuildingUse.RESIDENTIAL)
    footprint = models.PolygonField(_("footprint"), srid=SRID, spatial_index=True)
    # Set by the database trigger from the footprint; never typed in.
    grid = models.ForeignKey(
        Grid, on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="buildings"
    )
    # Kept by the database (default and update trigger) so handheld packages can send only what changed.
    updated_at = models.DateTimeField(_("updated at"), db_default=Now(), editable=False, db_index=True)

    class Meta:
        verbose_name = _("building")
        verbose_name_plural = _("buildings")
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
    building = models.ForeignKey(Building, on_delete=models.CASCADE, related_name="households")
    unit_no = models.CharField(_("unit"), max_length=8, blank=True, default="")
    floor = models.SmallIntegerField(_("floor"))
    room = models.CharField(_("room"), max_length=16)
    type = models.CharField(_("type"), max_length=16, choices=HouseholdType.choices, default=HouseholdType.FAMILY)
    # Kept by the database (default and update trigger) so handheld packages can send only what changed.
    updated_at = models.DateTimeField(_("updated at"), db_default=Now(), editable=False, db_index=True)

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
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

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="people")
    name = models.CharField(_("name"), max_length=64)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    birth_date = models.DateField(_("birth date"))
    relation = models.CharField(_("relation to head"), max_length=16, blank=True, default="")
    residency = models.CharField(_("residency"), max_length=16, choices=Residency.choices)
    care_tags = ArrayField(models.CharField(max_length=32, choices=CareTag.choices), default=list, blank=True)
    id_number_cipher = models.TextField(editable=False)
    id_number_digest = models.CharField(max_length=64, editable=False)
    id_number_masked = models.CharField(_("ID number"), max_length=18, editable=False)
    phone_cipher = models.TextField(editable=False, blank=True, default="")
    phone_digest = models.CharField(max_length=64, editable=False, blank=True, default="", db_index=True)
    phone_masked = models.CharField(_("phone"), max_length=16, editable=False, blank=True, default="")
    # Kept by the database (default and update trigger) so handheld packages can send only what changed.
    updated_at = models.DateTimeField(_("updated at"), db_default=Now(), editable=False, db_index=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
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

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=128)
    type = models.CharField(_("type"), max_length=20, choices=UnitType.choices)
    jurisdiction = models.MultiPolygonField(_("jurisdiction"), srid=SRID, spatial_index=True)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children")
    phone = models.CharField(_("duty phone"), max_length=32, blank=True, default="")

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["type", "code"]
        constraints = [models.CheckConstraint(condition=~Q(parent=models.F("id")), name="unit_not_own_parent")]

    def __str__(self) -> str:
        return self.name

    @property
    def level(self) -> int:
        return UNIT_TYPE_LEVEL[self.type]

    @property
    def type_label(self) -> str:
        """The type's name in the active language (an attribute, so a serializer reads it without inspecting a
        method's signature on every unit)."""
        return self.get_type_display()


class Role(models.TextChoices):
    WORKER = "worker", _("网格员")
    DISPATCHER = "dispatcher", _("办理端口")
    MANAGER = "manager", _("管理人员")
    ADMIN = "admin", _("系统管理员")


class Staff(models.Model):
    """What an account does: its role, its unit, its grids (workers) or its region (managers)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="staff")
    grids = models.ManyToManyField(Grid, blank=True, related_name="workers")
    # A manager's region; none means the whole system.
    street = models.ForeignKey(Street, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    community = models.ForeignKey(Community, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("staff")
        verbose_name_plural = _("staff")
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

    client_uuid = models.UUIDField()
    fingerprint = models.CharField(max_length=64)
    worker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="registry_changes")
    kind = models.CharField(_("kind"), max_length=24, choices=ChangeKind.choices)
    building = models.ForeignKey(Building, on_delete=models.CASCADE, related_name="registry_changes")
    # The record the change is about: given for corrections and a new person's household; set by the approval of
    # an addition to the record it created. Kept (null) if the record is removed later.
    household = models.ForeignKey(
        Household, on_delete=models.SET_NULL, null=True, blank=True, related_name="registry_changes"
    )
    person = models.ForeignKey(
        Person, on_delete=models.SET_NULL, null=True, blank=True, related_name="registry_changes"
    )
    # A new person may join a household that is itself still a proposal of the same worker.
    household_change = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="person_changes"
    )
    proposed = models.JSONField(_("proposed fields"), default=dict, blank=True)
    previous = models.JSONField(_("previous fields"), default=dict, blank=True)
    id_number_cipher = models.TextField(editable=False, blank=True, default="")
    id_number_digest = models.CharField(max_length=64, editable=False, blank=True, default="")
    phone_cipher = models.TextField(editable=False, blank=True, default="")
    phone_digest = models.CharField(max_length=64, editable=False, blank=True, default="")
    note = models.TextField(_("worker's note"), blank=True, default="")
    captured_at = models.DateTimeField(_("captured at (device)"))
    received_at = models.DateTimeField(_("received at"), db_default=Now(), editable=False)
    state = models.CharField(_("state"), max_length=16, choices=ChangeState.choices, default=ChangeState.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_unit = models.ForeignKey(Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True, default="")

    class Meta:
        verbose_name = _("registry change")
        verbose_name_plural = _("registry changes")
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
