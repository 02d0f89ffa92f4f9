"""Writes of the Open311 endpoint: a posted service request becomes a case; the demo key for `seed_demo`."""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from cases import services as case_services
from cases.models import Case, Category, Source
from gridmgmt import counters
from gridmgmt.counters import Limit
from grids.coords import to_wgs84_point
from mobileapi.models import Open311Key
from mobileapi.open311.selectors import key_ref
from mobileapi.services import store_photo

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
    media: UploadedFile | None = None,
) -> Case:
    """Take a service request as a case (source open311, routed like any report); raises InvalidInput, or
    PhotoRejected for a `media` file that is not a photo (nothing is written then).

    Personal data a client may send (names, e-mail, phone, device and account ids) never reaches this function:
    nothing of it is stored. Without a description the case carries the service's name. A `media` photo goes
    through the handheld photos' pipeline (checked, re-encoded without metadata, kept once per content) and is
    attached to the report event by its content hash, before a `media_url` also given."""
    with transaction.atomic():
        photo = store_photo(data=media.read(), uploader=None)[0] if media is not None else None
        case, _created = case_services.create_case(
            category=service_code,
            point=to_wgs84_point(long, lat),
            description=description or f"{service_code.name_zh}（Open311）",
            source=Source.OPEN311,
            address=address_string,
            external_ref=key_ref(key),
            attachments=[ref for ref in (photo and photo.sha256, media_url) if ref],
        )
    return case


def seed_demo_key(*, scale=None, seed=None, stdout=None) -> Open311Key:
    """A `seed_demo` step: the demo client's key is settings.OPEN311_DEMO_KEY (issued again, it stays one key)."""
    api_key, _key = Open311Key.issue(name=DEMO_KEY_NAME, key=settings.OPEN311_DEMO_KEY)
    if stdout is not None:
        stdout.write(f"Open311 demo api_key ready (OPEN311_DEMO_KEY, begins {api_key.prefix}…)\n")
    return api_key


def admit_post(*, key: Open311Key, address: str) -> int:
    """Count one POST against the key's and the client address's limits (settings.OPEN311_POST_LIMITS: posts per
    key, posts per address, window in seconds) on the shared attempt counters; the seconds to wait when either is
    spent, else 0. The address is kept only as a truncated digest."""
    per_key, per_address, window = settings.OPEN311_POST_LIMITS
    address_digest = hashlib.sha256(address.encode()).hexdigest()[:32]
    limits = [Limit(f"open311-key:{key.pk}", per_key), Limit(f"open311-address:{address_digest}", per_address)]
    return counters.book(limits, window=timedelta(seconds=window))
