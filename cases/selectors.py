"""Reads of cases: where a point lies, routing previews, case lists and details. Lists are built in SQL."""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.gis.db.models.functions import AsGeoJSON
from django.contrib.gis.geos import Point, Polygon
from django.db import connection
from django.db.models import Case as SqlCase
from django.db.models import CharField, F, JSONField, Q, QuerySet, Value, When
from django.db.models.functions import Cast, Coalesce, JSONObject, Left, Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _lazy

from cases import routing
from cases.models import Case, CaseEvent, Category, State
from cases.routing import REFERENCE_VERSION_SQL
from gridmgmt.prepared import execute_prepared
from gridmgmt.times import Rfc3339
from grids.models import Role, Staff, UnitType

# --- Where a point lies -----------------------------------------------------------------------

REGIONS_SQL = """
WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS g)
SELECT
    (SELECT d.id FROM grids_district d, pt WHERE ST_Covers(d.boundary, pt.g) ORDER BY d.code LIMIT 1),
    (SELECT s.id FROM grids_street s, pt WHERE ST_Covers(s.boundary, pt.g) ORDER BY s.code LIMIT 1),
    (SELECT c.id FROM grids_community c, pt WHERE ST_Covers(c.boundary, pt.g) ORDER BY c.code LIMIT 1),
    (SELECT g.id FROM grids_grid g, pt WHERE ST_Covers(g.boundary, pt.g) ORDER BY g.code LIMIT 1)
"""


@dataclass(frozen=True)
class Regions:
    district_id: int | None
    street_id: int | None
    community_id: int | None
    grid_id: int | None


def regions_at(*, point: Point) -> Regions:
    """District, street, community and grid ids covering a WGS84 point (one query, spatial indexes)."""
    with connection.cursor() as cursor:
        execute_prepared(cursor, "cases_regions_at", REGIONS_SQL, {"lon": point.x, "lat": point.y})
        return Regions(*cursor.fetchone())


def resolve_route(*, point: Point, category: Category) -> routing.Route:
    """Where a report of `category` at `point` would go and why; writes nothing."""
    return routing.resolve(point=point, category=category)


# --- Likely duplicates ----------------------------------------------------------------------

DUPLICATE_SQL = """
SELECT c.id, c.number
FROM cases_case c
WHERE c.category_id = %(category)s
  AND c.state NOT IN ('closed', 'rejected')
  AND c.duplicate_of_id IS NULL
  AND c.received_at >= %(since)s
  AND ST_DWithin(c.point::geography(POINT,4326),
                 ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography(POINT,4326), %(radius)s)
ORDER BY ST_Distance(c.point::geography(POINT,4326),
                     ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography(POINT,4326)),
         c.received_at, c.id
LIMIT 1
"""


def duplicate_radius_m() -> float:
    return float(getattr(settings, "DUPLICATE_RADIUS_M", 50))


def duplicate_window() -> timedelta:
    return timedelta(hours=float(getattr(settings, "DUPLICATE_WINDOW_HOURS", 72)))


def likely_original(*, point: Point, category: Category, now: datetime) -> Case | None:
    """An open case of the same category within DUPLICATE_RADIUS_M metres, received within the window before `now`.

    Measured on the geography of the points through its GiST index (case_point_geog). The case comes with its id
    and number only (intake needs no more); other fields load when first read."""
    params = {
        "category": category.pk,
        "lon": point.x,
        "lat": point.y,
        "radius": duplicate_radius_m(),
        "since": now - duplicate_window(),
    }
    with connection.cursor() as cursor:
        execute_prepared(cursor, "cases_likely_original", DUPLICATE_SQL, params)
        row = cursor.fetchone()
    return Case.from_db(connection.alias, ["id", "number"], row) if row else None


def intake_of(client_uuid) -> tuple[int, str] | None:
    """(id, intake digest) of the case taken for a client UUID, if there is one."""
    with connection.cursor() as cursor:
        sql = "SELECT id, intake_digest FROM cases_case WHERE client_uuid = %s"
        execute_prepared(cursor, "cases_intake_of", sql, [client_uuid])
        return cursor.fetchone()


# --- Categories a report may name ------------------------------------------------------------


@dataclass(frozen=True)
class CategoryTree:
    """Every category, read once per process and again only when the table has changed."""

    version: int | None
    active_by_code: dict[str, Category]
    group_ids: frozenset[int]  # categories with children: reports name a leaf


_category_tree = CategoryTree(version=None, active_by_code={}, group_ids=frozenset())


def category_tree() -> CategoryTree:
    """The categories as of the last change to cases_category.

    A statement trigger stamps every change with a new number (cases migration 0011); reading the stamp is one
    tiny query, so a category changed by the admin or a migration is seen by the next request of every process.
    The Category objects are shared between requests and threads: read them, never change them."""
    global _category_tree
    with connection.cursor() as cursor:
        execute_prepared(cursor, "cases_reference_version", REFERENCE_VERSION_SQL, [])
        row = cursor.fetchone()
    version = row[0] if row else None
    tree = _category_tree
    if version is None or version != tree.version:
        categories = list(Category.objects.all())
        by_id = {category.pk: category for category in categories}
        for category in categories:
            if category.parent_id is not None:
                category.parent = by_id[category.parent_id]  # limit_hours walks up without a query
        tree = CategoryTree(
            version=version,
            active_by_code={category.code: category for category in categories if category.active},
            group_ids=frozenset(category.parent_id for category in categories if category.parent_id is not None),
        )
        _category_tree = tree
    return tree


# --- Time limits ----------------------------------------------------------------------------


def light_of(case: Case, now: datetime) -> str | None:
    """light_expression for a case in hand (e.g. one just written), at `now`."""
    if case.step_deadline_at is None:
        return None
    moment = case.suspended_at or now
    if case.step_deadline_at < moment:
        return "red"
    if case.step_yellow_at is not None and case.step_yellow_at <= moment:
        return "yellow"
    return "green"


def task_light(task, now: datetime | None = None) -> str | None:
    """A co-handling task's light while its unit owes the feedback (open or sent back); None otherwise."""
    from cases.models import TaskState

    if task.state not in (TaskState.OPEN, TaskState.RETURNED):
        return None
    now = now or timezone.now()
    if task.due_at < now:
        return "red"
    return "yellow" if task.yellow_at <= now else "green"


def light_expression():
    """green / yellow / red against the stored thresholds of the current step; frozen while suspended; NULL when
    no step runs (closed, rejected)."""
    moment = Coalesce(F("suspended_at"), Now())
    return SqlCase(
        When(step_deadline_at__isnull=True, then=Value(None, output_field=CharField())),
        When(step_deadline_at__lt=moment, then=Value("red")),
        When(step_yellow_at__lte=moment, then=Value("yellow")),
        default=Value("green"),
        output_field=CharField(),
    )


def overdue_case_ids(*, now: datetime) -> list[int]:
    """Cases held by a unit whose current step is past its deadline and not yet handled by escalate_overdue."""
    from cases.workflow import ESCALATABLE

    return list(
        Case.objects.filter(state__in=ESCALATABLE, suspended_at__isnull=True, step_deadline_at__lt=now)
        .exclude(overdue_handled_seq=F("step_seq"))
        .order_by("step_deadline_at", "id")
        .values_list("id", flat=True)
    )


# --- Who sees which cases -------------------------------------------------------------------


def _staff_of(user) -> Staff | None:
    return Staff.objects.select_related("unit").filter(user=user).first()


def sees_every_case(user, staff: Staff | None = None) -> bool:
    """Whether visible_cases(user) is every case: administrators, command-centre dispatchers, managers without a
    region. `staff`: the user's staff row when the caller has read it already."""
    if user.is_superuser:
        return True
    staff = staff or _staff_of(user)
    if staff is None:
        return False
    if staff.role == Role.ADMIN:
        return True
    if staff.role == Role.MANAGER:
        return not staff.community_id and not staff.street_id
    return staff.role == Role.DISPATCHER and staff.unit is not None and staff.unit.type == UnitType.COMMAND_CENTRE


def escalated_by(unit_id: int) -> QuerySet:
    """Ids of the cases this unit escalated (上报上级) while it held them (partial index caseevent_escalated_from)."""
    return CaseEvent.objects.filter(action="escalate", data__from_unit=unit_id).values("case_id")


def working_cases(user, staff: Staff | None = None) -> QuerySet:
    """The cases a unit works on: visible_cases without those it only follows after escalating them."""
    staff = staff or _staff_of(user)
    if staff is None or staff.role != Role.DISPATCHER or staff.unit.type == UnitType.COMMAND_CENTRE:
        return visible_cases(user, staff)
    co = Case.co_units.through.objects.filter(unit_id=staff.unit_id).values("case_id")
    return Case.objects.filter(
        Q(responsible_unit_id=staff.unit_id) | Q(pk__in=co) | Q(assigned_by_unit_id=staff.unit_id)
    )


def visible_cases(user, staff: Staff | None = None) -> QuerySet:
    """Dispatchers: cases their unit handles or co-handles, or dispatched on to another unit and follows as the
    assigner (it approves the handler's extensions), or escalated (上报上级) and follows read-only; a command
    centre: all. Workers: cases they reported
    (or that were merged into one they reported) and cases in their grids. Managers: the cases of their region
    (Staff.community or Staff.street; all without one). Administrators: all. `staff`: as for sees_every_case."""
    staff = staff or _staff_of(user)
    cases = Case.objects.all()
    if staff is None:
        return cases if user.is_superuser else cases.none()
    if staff.role == Role.ADMIN:
        return cases
    if staff.role == Role.MANAGER:
        if staff.community_id:
            return cases.filter(community_id=staff.community_id)
        if staff.street_id:
            return cases.filter(street_id=staff.street_id)
        return cases
    if staff.role == Role.DISPATCHER:
        if staff.unit.type == UnitType.COMMAND_CENTRE:
            return cases
        co = Case.co_units.through.objects.filter(unit_id=staff.unit_id).values("case_id")
        return cases.filter(
            Q(responsible_unit_id=staff.unit_id)
            | Q(pk__in=co)
            | Q(assigned_by_unit_id=staff.unit_id)
            | Q(pk__in=escalated_by(staff.unit_id))
        )
    if staff.role == Role.WORKER:
        merged = Case.extra_reporters.through.objects.filter(user_id=user.pk).values("case_id")
        grids = staff.grids.values("id")
        return cases.filter(Q(reporter_id=user.pk) | Q(grid_id__in=grids) | Q(pk__in=merged))
    return cases.none()


# --- Lists as GeoJSON built in SQL ----------------------------------------------------------


def descendant_ids(category: Category) -> list[int]:
    """The category and all categories under it (one recursive query)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH RECURSIVE tree(id) AS (
                SELECT id FROM cases_category WHERE id = %s
                UNION ALL SELECT c.id FROM cases_category c JOIN tree ON c.parent_id = tree.id
            ) SELECT id FROM tree
            """,
            [category.pk],
        )
        return [row[0] for row in cursor.fetchall()]


def filter_cases(cases: QuerySet, query: dict) -> QuerySet:
    """Apply the list filters (already validated: see CaseListQuerySerializer)."""
    cases = cases.annotate(light=light_expression())
    if query.get("state"):
        cases = cases.filter(state__in=query["state"])
    if query.get("light"):
        cases = cases.filter(light__in=query["light"])
    if query.get("category") is not None:
        cases = cases.filter(category_id__in=descendant_ids(query["category"]))
    if query.get("level"):
        cases = cases.filter(level__in=query["level"])
    if query.get("unit"):
        cases = cases.filter(responsible_unit__code=query["unit"])
    if query.get("grid"):
        cases = cases.filter(grid__code=query["grid"])
    if query.get("community"):
        cases = cases.filter(community__code=query["community"])
    if query.get("street"):
        cases = cases.filter(street__code=query["street"])
    if query.get("received_from"):
        cases = cases.filter(received_at__gte=local_midnight(query["received_from"]))
    if query.get("received_to"):
        cases = cases.filter(received_at__lt=local_midnight(query["received_to"] + timedelta(days=1)))
    if query.get("in_bbox"):
        cases = cases.filter(point__bboverlaps=Polygon.from_bbox(query["in_bbox"]))
    if query.get("duplicate") is not None:
        cases = cases.filter(duplicate_of__isnull=not query["duplicate"])
    if query.get("source"):
        cases = cases.filter(source__in=query["source"])
    return cases


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def feature_expression():
    """One GeoJSON Feature per case, built by PostgreSQL."""
    return JSONObject(
        type=Value("Feature"),
        id=F("id"),
        geometry=Cast(AsGeoJSON("point", precision=6), JSONField()),
        properties=JSONObject(
            number=F("number"),
            state=F("state"),
            level=F("level"),
            category=F("category__code"),
            category_name=F("category__name_zh"),
            description=Left("description", 120),
            address=F("address"),
            source=F("source"),
            responsible_unit=F("responsible_unit__code"),
            responsible_unit_name=F("responsible_unit__name"),
            street=F("street__code"),
            community=F("community__code"),
            grid=F("grid__code"),
            received_at=Rfc3339("received_at"),
            step=F("step"),
            step_deadline_at=Rfc3339("step_deadline_at"),
            deadline_at=Rfc3339("deadline_at"),
            light=F("light"),
            duplicate_of=F("duplicate_of_id"),
            version=F("version"),
        ),
    )


def case_features_page(cases: QuerySet, *, limit: int, offset: int) -> tuple[int, list[dict]]:
    """(total, one page of Features), newest first; the filters and the JSON both run in SQL."""
    total = cases.count()
    rows = cases.order_by("-received_at", "-id").values_list(feature_expression(), flat=True)[offset : offset + limit]
    return total, list(rows)


def case_detail(case_id: int, user) -> Case | None:
    return (
        visible_cases(user)
        .annotate(light=light_expression())
        .select_related(
            "category",
            "responsible_unit",
            "assigned_by_unit",
            "grid",
            "street",
            "community",
            "reporter",
            "duplicate_of",
        )
        .prefetch_related("co_units", "extra_reporters", "events__actor", "events__unit", "cohandling_tasks__unit")
        .filter(pk=case_id)
        .first()
    )


# --- Photos on cases ---------------------------------------------------------------------------


def photos_on_case(case_id: int) -> set[str]:
    """Content hashes of the photos on a case: attached from a handheld (CasePhoto), or cited by an event of the
    case whose actor uploaded the photo (later events may cite those again). A reference anyone else wrote
    without uploading it (older data) does not put a photo on the case."""
    from mobileapi.models import CasePhoto, Photo

    attached = set(CasePhoto.objects.filter(case_id=case_id).values_list("photo__sha256", flat=True))
    cited_by: dict[str, set[int]] = {}
    for actor_id, refs in (
        CaseEvent.objects.filter(case_id=case_id).exclude(attachments=[]).values_list("actor_id", "attachments")
    ):
        for ref in refs if isinstance(refs, list) else []:
            if isinstance(ref, str):
                cited_by.setdefault(ref, set()).add(actor_id)
    uploads = Photo.objects.filter(sha256__in=list(cited_by)).values_list("sha256", "uploaded_by_id")
    return attached | {sha256 for sha256, uploader_id in uploads if uploader_id in cited_by[sha256]}


def unusable_attachments(refs: list[str], *, user, case_id: int | None = None) -> list[int]:
    """Positions (from 1) of the references that are neither a photo the user uploaded nor one on the case."""
    from mobileapi.models import Photo

    own = set(Photo.objects.filter(sha256__in=refs, uploaded_by_id=user.pk).values_list("sha256", flat=True))
    others = [ref for ref in refs if ref not in own]
    on_case = photos_on_case(case_id) if others and case_id is not None else set()
    return [position for position, ref in enumerate(refs, 1) if ref not in own and ref not in on_case]


def visible_photo(sha256: str, user):
    """The photo with this content hash when it is on a case the user may see (see photos_on_case), else None."""
    from mobileapi.models import CasePhoto, Photo

    photo = Photo.objects.filter(sha256=sha256).first()
    if photo is None:
        return None
    cases = visible_cases(user).values("id")
    attached = CasePhoto.objects.filter(photo=photo, case__in=cases)
    cited = CaseEvent.objects.filter(case__in=cases, actor_id=photo.uploaded_by_id, attachments__contains=[sha256])
    return photo if attached.exists() or cited.exists() else None


def case_visible(case_id: int, user) -> bool:
    """Whether the case exists for this user: a case they may not see answers as one that does not exist."""
    return visible_cases(user).filter(pk=case_id).exists()


# --- Statistics: which cases count and how reporters are grouped ------------------------------


def stats_scope(*, user, query: dict, trend: bool = False):
    """The region, period and visibility of a statistics request (see cases.stats.Scope), and the region described.

    Raises PermissionDenied for accounts without a role, NotFound for an unknown region."""
    from rest_framework.exceptions import NotFound, PermissionDenied

    from cases.periods import default_window
    from cases.stats import Scope
    from grids.models import Community, District, Grid, Street

    staff = _staff_of(user)
    role = Role.ADMIN if user.is_superuser else (staff.role if staff else None)
    if role is None:
        raise PermissionDenied("您的账号没有角色，不能查看统计")
    sees_all = sees_every_case(user, staff)
    reporters_by = {Role.MANAGER: "grid", Role.WORKER: "own"}.get(role, "account")

    models = {"district": District, "street": Street, "community": Community, "grid": Grid}
    level, region = None, None
    if query.get("region"):
        code = query["region"].strip()
        for name in [query["level"]] if query.get("level") else list(models):
            region = models[name].objects.filter(code=code).only("id", "code", "name").first()
            if region is not None:
                level = name
                break
    elif query.get("id"):
        level = query["level"]
        region = models[level].objects.filter(pk=query["id"]).only("id", "code", "name").first()
    else:
        districts = list(District.objects.only("id", "code", "name")[:2])
        if len(districts) == 1:
            level, region = "district", districts[0]
        else:
            level = "all"
    if level is None or (level != "all" and region is None):
        raise NotFound("未找到该区域")

    today = timezone.localdate()
    end = query.get("date_to") or today
    if query.get("date_from"):
        start = query["date_from"]
    else:
        start = default_window(end, trend=trend)
    scope = Scope(
        level=level,
        region_id=region.pk if region is not None else None,
        start=start,
        end=end,
        visible=None if sees_all else visible_cases(user, staff),
        reporters_by=reporters_by,
        user_id=user.pk,
    )
    described = (
        {"level": level, "id": region.pk, "code": region.code, "name": region.name}
        if region
        else {"level": "all", "id": None, "code": "", "name": "全部"}
    )
    return scope, described


# --- The desk: find a case by number; what a case waits for and who holds it ---------------------------------

CASE_NUMBER = re.compile(r"^XQ-?(\d{8})-?(\d{5,})$")


def normalize_case_number(text: str) -> str | None:
    """`XQ-YYYYMMDD-NNNNN` from what a dispatcher types (any case, the dashes optional); None when it is not one."""
    match = CASE_NUMBER.match(re.sub(r"\s+", "", text or "").upper())
    return f"XQ-{match.group(1)}-{match.group(2)}" if match else None


def case_by_number(number: str, user) -> Case | None:
    """The case with this number if `user` may see it; None otherwise — a case they may not see is not told
    apart from one that does not exist."""
    return visible_cases(user).filter(number=number).only("id", "number").first()


def cases_by_caller_phone(phone: str, user, *, limit: int = 20) -> list[Case]:
    """Cases `user` may see whose caller had this (normalised) phone, newest first, found by the keyed digest."""
    from grids import pii

    return list(
        visible_cases(user)
        .filter(caller_phone_digest=pii.digest(phone))
        .select_related("category")
        .order_by("-received_at", "-id")[:limit]
    )


# What a case waits for in each state: (words, whose move) — the responsible unit's desk, the grid's workers
# (verification), or the unit that approves an extension.
WAITS_FOR = {
    State.REPORTED: (_lazy("待立案"), "unit"),
    State.REGISTERED: (_lazy("待派遣"), "unit"),
    State.DISPATCHED: (_lazy("待处置"), "unit"),
    State.PROCESSING: (_lazy("待处置反馈"), "unit"),
    State.RESOLVED: (_lazy("待核查"), "verifier"),
    State.VERIFIED: (_lazy("待结案"), "unit"),
    State.RETURNED: (_lazy("待重新派遣"), "unit"),
    State.ESCALATED: (_lazy("待上级派遣"), "unit"),
    State.SUSPENDED: (_lazy("挂账中"), "unit"),
}


def waits_for(case: Case) -> tuple[str, str] | None:
    """(what the case waits for, who holds it) for an open case, e.g. ("待派遣", "清香坪街道办事处"); None once it is
    closed or rejected. Needs `responsible_unit`, `assigned_by_unit` and `grid` loaded (select_related)."""
    entry = WAITS_FOR.get(case.state)
    if entry is None:
        return None
    words, whose = entry
    if case.extension_requested_hours is not None and case.state in (State.DISPATCHED, State.PROCESSING):
        assigner = case.assigned_by_unit
        holder = assigner.name if assigner and assigner.pk != case.responsible_unit_id else str(_lazy("指挥中心"))
        return str(_lazy("待审批延时")), holder
    if whose == "verifier" and case.grid_id is not None:
        return str(words), str(_lazy("%(grid)s网格员")) % {"grid": case.grid.name}
    return str(words), case.responsible_unit.name
