"""Writes of the Open311 endpoint: a posted service request becomes a case; the demo key for `seed_demo`."""

from django.conf import settings

from cases import services as case_services
from cases.models import Case, Category, Source
from grids.coords import to_wgs84_point
from mobileapi.models import Open311Key
from mobileapi.open311.selectors import key_ref

DEMO_KEY_NAME = "演示客户端 Demo client"


def submit_request(
    *,
    key: Open311Key,
    service_code: Category,
    lat: float,
    long: float,
    description: str = "",
    address_string: str = "",
    media_url: str = "",
) -> Case:
    """Take a service request as a case (source open311, routed like any report); raises InvalidInput.

    Personal data a client may send (names, e-mail, phone, device and account ids) never reaches this function:
    nothing of it is stored. Without a description the case carries the service's name."""
    case, _created = case_services.create_case(
        category=service_code,
        point=to_wgs84_point(long, lat),
        description=description or f"{service_code.name_zh}（Open311）",
        source=Source.OPEN311,
        address=address_string,
        external_ref=key_ref(key),
        attachments=[media_url] if media_url else [],
    )
    return case


def seed_demo_key(*, scale=None, seed=None, stdout=None) -> Open311Key:
    """A `seed_demo` step: the demo client's key is settings.OPEN311_DEMO_KEY (issued again, it stays one key)."""
    api_key, _key = Open311Key.issue(name=DEMO_KEY_NAME, key=settings.OPEN311_DEMO_KEY)
    if stdout is not None:
        stdout.write(f"Open311 demo api_key ready (OPEN311_DEMO_KEY, begins {api_key.prefix}…)\n")
    return api_key
