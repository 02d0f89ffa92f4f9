"""Reads of the handheld API."""


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
