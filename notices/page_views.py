"""The notices page at /notices/ (every signed-in account): the list, newest first, with 标为已读 and 全部标为已读."""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from grids.models import Role
from maps.roles import role_of
from notices import selectors, services


def _back(request, default: str = "/notices/") -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def notice_list(request):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
    unread_only = request.GET.get("show") == "unread"
    notices = selectors.notices_for(request.user).order_by("-id")
    unread = notices.filter(read_at__isnull=True).count()
    if unread_only:
        notices = notices.filter(read_at__isnull=True)
    page = Paginator(notices, 30).get_page(request.GET.get("page"))
    role = role_of(request.user)
    context = {
        "page": page,
        "rows": [
            {"notice": notice, "text": selectors.text_of(notice), "link": selectors.link_of(notice)} for notice in page
        ],
        "unread": unread,
        "unread_only": unread_only,
        "role_label": str(Role(role).label) if role else "",
    }
    return render(request, "notices/list.html", context)


@require_POST
def read(request, pk: int):
    if not request.user.is_authenticated:
        return redirect_to_login("/notices/", settings.LOGIN_URL)
    notice = services.mark_read(user=request.user, notice_id=pk)
    if notice is None:
        raise Http404
    return redirect(_back(request))


@require_POST
def read_all(request):
    if not request.user.is_authenticated:
        return redirect_to_login("/notices/", settings.LOGIN_URL)
    services.mark_all_read(user=request.user)
    return redirect(_back(request))
