"""The bell in every page's header: the unread count, filled in on the server and kept fresh by notices/bell.js."""

from django import template
from django.conf import settings

from notices import selectors

register = template.Library()


@register.inclusion_tag("notices/_bell.html", takes_context=True)
def notice_bell(context):
    request = context["request"]
    if not request.user.is_authenticated:
        return {"show": False}
    unread, etag = selectors.summary_tag(request.user)
    return {
        "show": True,
        "unread": unread,
        "etag": etag,
        "latest": [selectors.as_json(notice) for notice in selectors.latest(request.user)] if unread else [],
        "poll_ms": int(settings.NOTICE_POLL_SECONDS * 1000),
    }
