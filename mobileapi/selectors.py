"""Reads of the handheld API."""

from cases.models import Case
from cases.selectors import light_expression


def worker_profile(*, user) -> dict:
    staff = getattr(user, "staff", None)
    grids = staff.grids.select_related("community").order_by("code") if staff else []
    return {
        "id": user.pk,
        "username": user.get_username(),
        "name": user.get_full_name() or user.get_username(),
        "role": staff.role if staff else None,
        "units": [staff.unit] if staff and staff.unit_id else [],
        "grids": list(grids),
    }


def reports_of(*, user, since=None, limit: int = 200) -> list[Case]:
    """The worker's own reports with their current state, oldest change first (so `since` pages forward)."""
    cases = report_queryset().filter(reporter=user)
    if since is not None:
        cases = cases.filter(updated_at__gt=since)
    return list(cases.order_by("updated_at", "id")[:limit])


def report_queryset():
    return (
        Case.objects.annotate(light=light_expression())
        .select_related("category", "responsible_unit", "duplicate_of")
        .prefetch_related("co_units")
    )


def report(*, case_id: int) -> Case:
    return report_queryset().get(pk=case_id)
