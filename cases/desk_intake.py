"""一窗受理 and 按编号查找 at the desk.

`/desk/new`: a dispatcher (or the command centre, or an administrator) takes a case from the 12345 hotline, a
visit, a letter or the web: source, category (searched in the page over the active leaves), level, description,
the caller's name and phone, the place picked on the map or found by address or building (the map's search API),
and the routing preview (`GET /api/v1/route`) before saving. The page's script saves through the intake API
(`POST /api/v1/cases`, `services.create_case`) with one client UUID per form, so a double click makes one case, and
opens the new case's page.

`/desk/find` (POST, so that nothing typed lands in a URL or a log of URLs): a case number opens the case when the
user may see it, otherwise the same "not found or not yours" as for a number that does not exist; a full 18-digit
ID number or a phone finds residents through the keyed digest, for roles that may see residents, within their
area (a phone also finds the cases, among those the user may see, whose caller gave it) — each such search written
to the audit log with the number masked, which is also all the page shows.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.gis.db.models import Extent
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from cases import selectors
from cases.desk_views import _context, _guard
from cases.models import DESK_SOURCES, Source
from gridmgmt import counters
from gridmgmt.login_guard import client_address
from grids import pii
from grids import selectors as registry
from grids import services as registry_services
from grids.models import District, Role, UnitType

# A desk looks up a caller or a visitor now and then; hundreds of numbers an hour would be a sweep of the registry.
CONTACT_SEARCHES_PER_HOUR = 60

INTAKE_STRINGS = {
    "pick_on_map": gettext_lazy("在地图上点选位置"),
    "picked": gettext_lazy("已选位置"),
    "routing": gettext_lazy("正在计算派遣…"),
    "route_needs": gettext_lazy("选择类别并在地图上点选位置后显示派遣预览"),
    "responsible": gettext_lazy("主办单位"),
    "co_units": gettext_lazy("协办单位"),
    "reason": gettext_lazy("派遣依据"),
    "none": gettext_lazy("无"),
    "no_match": gettext_lazy("没有匹配的类别"),
    "no_results": gettext_lazy("没有找到"),
    "searching": gettext_lazy("正在查找…"),
    "saving": gettext_lazy("正在保存…"),
    "failed": gettext_lazy("保存失败，请检查标出的内容"),
    "conflict": gettext_lazy("该表单已保存为另一案件"),
    "level": gettext_lazy("默认等级"),
}


def _intake_categories() -> list[dict]:
    """Active leaves (小类) with the names of their groups, for the page's category search."""
    tree = selectors.category_tree()
    leaves = []
    for code, category in sorted(tree.active_by_code.items()):
        if category.pk in tree.group_ids:
            continue
        parent = category.parent
        leaves.append(
            {
                "code": code,
                "name": category.name_zh,
                "name_en": category.name_en,
                "group": parent.name_zh if parent else "",
                "group_en": parent.name_en if parent else "",
                "level": category.default_level,
            }
        )
    return leaves


def _map_frame(staff) -> list[float] | None:
    """[west, south, east, north] to frame the map: the unit's jurisdiction, else every district."""
    if staff is not None and staff.unit_id and staff.unit.type != UnitType.COMMAND_CENTRE:
        return list(staff.unit.jurisdiction.extent)
    extent = District.objects.aggregate(extent=Extent("boundary"))["extent"]
    return list(extent) if extent else None


def intake(request):
    """The 一窗受理 form. Dispatchers and administrators; managers take no cases (403 page)."""
    who, refused = _guard(request)
    if refused is not None:
        return refused
    role, staff = who
    if role == Role.MANAGER:
        context = {"role_label": str(Role(role).label), "home": "/desk/"}
        return render(request, "maps/forbidden.html", context, status=403)
    from maps.views import basemap_config

    config = {
        "categories": _intake_categories(),
        "frame": _map_frame(staff),
        "basemap": basemap_config(),
        "language": request.LANGUAGE_CODE,
        "strings": {key: str(value) for key, value in INTAKE_STRINGS.items()},
    }
    sources = [{"value": s.value, "label": s.label} for s in DESK_SOURCES]
    context = _context(request, role, staff, config=config, sources=sources, default_source=Source.HOTLINE.value)
    return render(request, "cases/desk/new.html", context)


# --- Find by number ----------------------------------------------------------------------------------------------


def _classify(text: str) -> tuple[str, str] | tuple[str, None]:
    """(kind, normalised value): kind is "case", "id_number", "phone", "bad_id" or "unknown"."""
    number = selectors.normalize_case_number(text)
    if number:
        return "case", number
    compact = "".join(text.split()).upper()
    if len(compact) == 18 and compact[:17].isdigit():
        try:
            return "id_number", pii.normalize_id_number(compact)
        except ValidationError:
            return "bad_id", None
    try:
        return "phone", pii.normalize_phone(compact)
    except ValidationError:
        return "unknown", None


@require_http_methods(["GET", "POST"])
def find(request):
    """GET: the search form. POST `q`: a case number opens the case; an ID number or phone lists residents."""
    who, refused = _guard(request)
    if refused is not None:
        return refused
    role, staff = who
    may_search_people = registry.residents_visible_to(request.user) is not None
    context = _context(request, role, staff, may_search_people=may_search_people, searched=False)
    if request.method == "GET":
        return render(request, "cases/desk/find.html", context)
    text = request.POST.get("q", "")[:64]
    kind, value = _classify(text)
    context["searched"] = True
    if kind == "case":
        case = selectors.case_by_number(value, request.user)
        if case is not None:
            return redirect("desk:case", pk=case.pk)
        context.update(term=value, message=_("没有找到该编号的案件，或该案件不归您办理。"))
        return render(request, "cases/desk/find.html", context, status=404)
    if kind in ("id_number", "phone"):
        mask = pii.mask_id_number if kind == "id_number" else pii.mask_phone
        context["term"] = mask(value)
        if not may_search_people:
            context["message"] = _("您的角色不能查找居民。")
            return render(request, "cases/desk/find.html", context, status=403)
        wait = counters.book(
            [counters.Limit(f"contact-search:{request.user.pk}", _searches_per_hour())], window=timedelta(hours=1)
        )
        if wait:
            minutes = max(1, round(wait / 60))
            context["message"] = _("按号码查找过于频繁，请 %(minutes)s 分钟后再试。") % {"minutes": minutes}
            response = render(request, "cases/desk/find.html", context, status=429)
            response["Retry-After"] = str(wait)
            return response
        people = registry.people_by_contact(user=request.user, field=kind, plain=value) or []
        calls = selectors.cases_by_caller_phone(value, request.user) if kind == "phone" else None
        registry_services.record_contact_search(
            actor=request.user,
            field=kind,
            masked=mask(value),
            found=[p.pk for p in people],
            address=client_address(request),
            cases=[c.pk for c in calls] if calls is not None else None,
        )
        context["calls"] = calls or []
        context["people"] = [
            {
                "name": p.name,
                "id_number": p.id_number_masked,
                "phone": p.phone_masked,
                "building": p.household.building,
                "household": registry_household_label(p.household),
            }
            for p in people
        ]
        if not people and not calls:
            context["message"] = _("您的辖区内没有找到该号码的居民。")
        return render(request, "cases/desk/find.html", context)
    if kind == "bad_id":
        context["message"] = _("身份证号校验位不正确。")
    else:
        context["message"] = _("请输入案件编号（XQ-年月日-序号）、18位身份证号或电话号码。")
    return render(request, "cases/desk/find.html", context, status=400)


def _searches_per_hour() -> int:
    """Searches by ID number or phone one account may make in an hour (settings.CONTACT_SEARCHES_PER_HOUR)."""
    return int(getattr(settings, "CONTACT_SEARCHES_PER_HOUR", CONTACT_SEARCHES_PER_HOUR))


def registry_household_label(household) -> str:
    from maps.selectors import household_label

    return household_label(household)
