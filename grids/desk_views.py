"""The desk's queue of registry change requests (信息采集审核) at /desk/registry/, rendered on the server.

Who: administrators, and the dispatchers of a community committee or street office for the buildings in their
unit's area (grids.selectors.changes_decidable_by); anyone else gets 403, a request outside one's area 404.
Each request shows what it changes, old → new, ID numbers and phones masked; approving applies it to the registry
(grids.services.decide_change), rejecting needs a reason and changes nothing.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from grids import selectors, services
from grids.models import CareTag, ChangeState, HouseholdType, RegistryChange, Residency, Role, Sex
from maps.roles import home_for, role_of

FIELD_LABELS = {
    "unit_no": gettext_lazy("单元号"),
    "floor": gettext_lazy("楼层"),
    "room": gettext_lazy("房号"),
    "type": gettext_lazy("住户类型"),
    "name": gettext_lazy("姓名"),
    "sex": gettext_lazy("性别"),
    "birth_date": gettext_lazy("出生日期"),
    "id_number": gettext_lazy("身份证号"),
    "phone": gettext_lazy("电话"),
    "relation": gettext_lazy("与户主关系"),
    "residency": gettext_lazy("人口类型"),
    "care_tags": gettext_lazy("关爱标签"),
}
CHOICE_LABELS = {"type": HouseholdType, "sex": Sex, "residency": Residency}


def _shown(name: str, value) -> str:
    if value in (None, "", []):
        return "—"
    if name in CHOICE_LABELS:
        return str(dict(CHOICE_LABELS[name].choices).get(value, value))
    if name == "care_tags":
        labels = dict(CareTag.choices)
        return "、".join(str(labels.get(tag, tag)) for tag in value)
    return str(value)


def change_lines(change: RegistryChange) -> list[dict]:
    """What the request changes, field by field (old → new), masked: against the record as it is now while the
    request waits, against what the approval replaced once decided."""
    if change.state != ChangeState.PENDING:
        current = change.previous
    elif change.person is not None:
        current = services.person_fields(change.person)
    elif change.household is not None and change.kind == "correct_household":
        current = services.household_fields(change.household)
    else:
        current = {}
    names = list(current) if change.kind in services.REMOVALS else list(change.proposed)
    return [
        {
            "field": name,
            "label": FIELD_LABELS[name],
            "old": _shown(name, current.get(name)),
            "new": "—" if change.kind in services.REMOVALS else _shown(name, change.proposed.get(name)),
        }
        for name in FIELD_LABELS
        if name in names
    ]


def _scope_or_refusal(request):
    """(the filter on the requests this user decides, None) or (None, the response to give instead)."""
    if not request.user.is_authenticated:
        return None, redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
    scope = selectors.changes_decidable_by(request.user)
    if scope is None:
        role = role_of(request.user)
        context = {"role_label": str(Role(role).label) if role else "", "home": home_for(request.user)}
        return None, render(request, "maps/forbidden.html", context, status=403)
    return scope, None


def queue(request):
    scope, refused = _scope_or_refusal(request)
    if refused is not None:
        return refused
    decided = request.GET.get("show") == "decided"
    changes = selectors.changes_at_desk(scope=scope, pending=not decided)
    staff = getattr(request.user, "staff", None)
    role = role_of(request.user)
    context = {
        "rows": [{"change": change, "lines": change_lines(change)} for change in changes],
        "decided": decided,
        "pending_count": RegistryChange.objects.filter(scope, state=ChangeState.PENDING).count(),
        "unit": staff.unit if staff is not None and staff.unit_id else None,
        "role_label": str(Role(role).label),
    }
    return render(request, "grids/desk/registry.html", context)


@require_POST
def decide(request, pk: int):
    scope, refused = _scope_or_refusal(request)
    if refused is not None:
        return refused
    if not RegistryChange.objects.filter(scope, pk=pk).exists():
        raise Http404(_("没有这项采集申请，或不在您单位的辖区内。"))
    decision = request.POST.get("decision")
    back = reverse("desk:registry")
    if decision not in ("approve", "reject"):
        messages.error(request, _("请选择通过或驳回。"))
        return redirect(back)
    try:
        change = services.decide_change(
            change_id=pk,
            actor=request.user,
            approve=decision == "approve",
            note=request.POST.get("note", "")[:2000],
            address=request.META.get("REMOTE_ADDR", ""),
        )
    except services.ChangeRefused as refusal:
        messages.warning(request, refusal.message)
    except services.InvalidChange as invalid:
        messages.error(request, " ".join(str(m) for field in invalid.errors.values() for m in field))
    else:
        done = _("已通过，登记信息已更新") if change.state == ChangeState.APPROVED else _("已驳回，登记信息未变")
        messages.success(request, f"{done}：{change.get_kind_display()} · {change.building.name}")
    return redirect(back)
