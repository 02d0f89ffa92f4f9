"""What each role sees: its menu, its home page, its map layers and what it may do on the map.

The role comes from `request.user.staff.role`; a superuser counts as an administrator. One table per question.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from grids.models import Role
from grids.selectors import decides_registry_changes


def role_of(user) -> str | None:
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return Role.ADMIN.value
    staff = getattr(user, "staff", None)
    return staff.role if staff is not None else None


@dataclass(frozen=True)
class Page:
    key: str
    label: str
    url: str
    roles: frozenset[str]


ALL_ROLES = frozenset(Role.values)
PAGES = [
    Page("map", _("指挥地图"), "/map/", ALL_ROLES),
    Page("desk", _("办理台"), "/desk/", frozenset({Role.DISPATCHER, Role.MANAGER, Role.ADMIN})),
    Page("registry", _("信息采集审核"), "/desk/registry/", frozenset({Role.DISPATCHER, Role.ADMIN})),
    Page("dashboard", _("领导看板"), "/dashboard/", frozenset({Role.MANAGER, Role.ADMIN})),
    Page("exports", _("数据导出"), "/exports/", frozenset({Role.MANAGER, Role.ADMIN})),
    Page("public", _("政务公开"), "/public/", ALL_ROLES),
    Page("admin", _("系统管理"), "/admin/", frozenset({Role.ADMIN})),
]

# Grid workers are in the field: their home is the phone app (the map stays in their menu for a desk).
HOME = {
    Role.WORKER: "/m/",
    Role.DISPATCHER: "/map/",
    Role.MANAGER: "/dashboard/",
    Role.ADMIN: "/map/",
}

# Map layers per role. Managers see figures, never buildings' residents, so no building layer for them.
LAYERS = {
    Role.WORKER: ["streets", "communities", "grids", "buildings", "cases"],
    Role.DISPATCHER: ["streets", "communities", "grids", "precincts", "buildings", "cases"],
    Role.MANAGER: ["streets", "communities", "grids", "precincts", "cases"],
    Role.ADMIN: ["streets", "communities", "grids", "precincts", "buildings", "cases"],
}

# May open a building's households and search people (the households API decides per building too).
SEES_RESIDENTS = frozenset({Role.WORKER, Role.DISPATCHER, Role.ADMIN})


def pages_for(user) -> list[Page]:
    role = role_of(user)
    if role is None:
        return [page for page in PAGES if page.key == "public"]
    return [page for page in PAGES if role in page.roles and _opens(user, page.key)]


def _opens(user, page_key: str) -> bool:
    """Pages some accounts of a role cannot use: the admin site needs is_staff; the registry queue a deciding
    unit (a police station's desk does not decide registry changes)."""
    if page_key == "admin":
        return user.is_staff
    if page_key == "registry":
        return decides_registry_changes(user)
    return True


def home_for(user) -> str:
    role = role_of(user)
    return HOME.get(role, "/public/") if role else "/public/"


def may_open(user, page_key: str) -> bool:
    return any(page.key == page_key for page in pages_for(user))
