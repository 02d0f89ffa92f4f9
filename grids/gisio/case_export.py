"""Cases (with their events) as an export, when the cases app provides a Case model."""

from django.apps import apps


def available() -> bool:
    try:
        apps.get_model("cases", "Case")
    except LookupError:
        return False
    return True


def tables(filters: dict[str, str]) -> list:
    from grids.gisio.exporters import ExportError

    raise ExportError("exporting cases is not available yet")
