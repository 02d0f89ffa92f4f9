"""Reads of the Open311 endpoint: services (active leaf categories) and the service requests the public may see.

Which cases are public: those of 部件 and 事件 categories (urban management, published as 政务公开), whatever
their source; 社会治理 cases (disputes, security leads, people in need …) are never listed, except to the client
that posted one, when it reads with its own api_key. What each row shows is limited in `serializers`.
"""

from django.db.models import Exists, JSONField, OuterRef, Q, QuerySet, Subquery

from cases.models import Case, CaseEvent, Category, CategoryKind, Source
from cases.workflow import TERMINAL
from mobileapi.models import Open311Key, Photo
from mobileapi.photos import FORMATS

MAX_RESULTS = 1000
EXTENSIONS = dict(FORMATS.values())  # content type → file extension of a stored photo
PUBLIC_KINDS = (CategoryKind.COMPONENT, CategoryKind.EVENT)


def key_ref(key: Open311Key) -> str:
    """The external reference a case posted with this key carries (the key's id: it says who, reveals nothing)."""
    return f"open311:{key.pk}"


def _services() -> QuerySet:
    has_children = Exists(Category.objects.filter(parent=OuterRef("pk")))
    return Category.objects.filter(active=True).exclude(has_children).select_related("parent", "parent__parent")


def services() -> list[Category]:
    """Active leaf categories (小类), in code order, with their 大类 and root for group and keywords."""
    return list(_services().order_by("code"))


def service(code: str) -> Category | None:
    return _services().filter(code=code).first()


def visible_requests(*, key: Open311Key | None = None) -> QuerySet:
    visible = Q(category__kind__in=PUBLIC_KINDS)
    if key is not None:
        visible |= Q(source=Source.OPEN311, external_ref=key_ref(key))
    report = CaseEvent.objects.filter(case=OuterRef("pk"), action="report").order_by("created_at", "id")
    return (
        Case.objects.filter(visible)
        .select_related("category", "responsible_unit")
        .annotate(report_attachments=Subquery(report.values("attachments")[:1], output_field=JSONField()))
    )


def requests(*, query: dict, key: Open311Key | None = None) -> tuple[list[Case], int]:
    """The filtered list (see serializers.RequestQuerySerializer), newest first, at most MAX_RESULTS; and how
    many match in all (counted only when there are more)."""
    cases = visible_requests(key=key)
    if query["numbers"]:
        cases = cases.filter(number__in=query["numbers"])
    else:
        cases = cases.filter(received_at__gte=query["start"], received_at__lte=query["end"])
        if query["codes"]:
            cases = cases.filter(category__code__in=query["codes"])
        if query["statuses"] == ["closed"]:
            cases = cases.filter(state__in=TERMINAL)
        elif query["statuses"] == ["open"]:
            cases = cases.exclude(state__in=TERMINAL)
    rows = list(cases.order_by("-received_at", "-id")[: MAX_RESULTS + 1])
    if len(rows) <= MAX_RESULTS:
        return rows, len(rows)
    return rows[:MAX_RESULTS], cases.count()


def request(number: str, *, key: Open311Key | None = None) -> Case | None:
    return visible_requests(key=key).filter(number=number).first()


def token(value: str) -> Case | None:
    """Tokens are the case numbers: a request posted here is numbered at once, so a token maps to itself."""
    return Case.objects.filter(number=value, source=Source.OPEN311).only("number").first()


def request_photos(cases: list[Case]) -> dict[str, str]:
    """{sha256: file extension} of the photos posted as `media` with these cases (from visible_requests)."""
    posted = [case for case in cases if case.source == Source.OPEN311]
    refs = {ref for case in posted for ref in (case.report_attachments or []) if len(str(ref)) == 64}
    stored = Photo.objects.filter(sha256__in=refs).values_list("sha256", "content_type")
    return {sha256: EXTENSIONS[content_type] for sha256, content_type in stored}


def request_photo(sha256: str, *, key: Open311Key | None = None) -> Photo | None:
    """A photo posted as `media` (kept on the report event) of a request that `key` (or the public) may read."""
    shown = visible_requests(key=key).filter(source=Source.OPEN311).values("id")
    if not CaseEvent.objects.filter(case__in=shown, action="report", attachments__contains=[sha256]).exists():
        return None
    return Photo.objects.filter(sha256=sha256).first()
