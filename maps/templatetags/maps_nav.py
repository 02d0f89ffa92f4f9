"""The menu of the base layout: each role sees only its pages."""

from django import template

from maps.roles import pages_for, role_of

register = template.Library()


@register.inclusion_tag("maps/_menu.html", takes_context=True)
def main_menu(context):
    request = context["request"]
    return {
        "pages": pages_for(request.user),
        "current": request.path,
        "role": role_of(request.user),
        "user": request.user,
    }
