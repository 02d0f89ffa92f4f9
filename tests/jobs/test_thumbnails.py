"""Photo thumbnails are made by the real worker after the upload is stored; until then the photo itself is served in
the thumbnail's place, and a thumbnail made again is harmless."""

import io

import pytest
from PIL import Image
from rest_framework.test import APIClient

from cases.models import CaseEvent
from mobileapi.models import Photo
from mobileapi.services import make_thumbnail, store_photo
from tests import live
from tests.maps.conftest import X0, Y0, report_and_register


def client_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def jpeg(size=(640, 480), colour=(200, 80, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def on_a_case(world, sha256: str) -> str:
    """The photo cited on a case the dispatcher sees; the URL of its thumbnail."""
    case = report_and_register(world=world, lon=X0 + 0.006, lat=Y0 + 0.006)
    CaseEvent.objects.create(case=case, actor=world.accounts["worker"], action="comment", attachments=[sha256])
    return f"/api/v1/case-photos/{sha256}?thumb=1"


def served(response) -> Image.Image:
    return Image.open(io.BytesIO(b"".join(response.streaming_content)))


@pytest.mark.django_db(transaction=True)
def test_the_worker_makes_the_thumbnail_of_an_uploaded_photo(world, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    with live.celery("worker", db_url=live.database_url(), MEDIA_ROOT=settings.MEDIA_ROOT):
        upload = io.BytesIO(jpeg())
        upload.name = "scene.jpg"
        response = client_as(world.accounts["worker"]).post(
            "/api/mobile/v1/photos", {"photo": upload}, format="multipart"
        )
        assert response.status_code == 201, response.content
        sha256 = response.json()["sha256"]
        photo = Photo.objects.get(sha256=sha256)
        assert live.wait_for(lambda: bool(Photo.objects.get(pk=photo.pk).thumbnail), seconds=60)
    photo.refresh_from_db()
    thumbnail = tmp_path / "media" / photo.thumbnail.name
    assert thumbnail.is_file() and Image.open(thumbnail).size == (320, 240)

    response = client_as(world.accounts["dispatcher"]).get(on_a_case(world, sha256))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert "immutable" in response["Cache-Control"] and served(response).size == (320, 240)

    # Made again (the task delivered twice): nothing changes; a file lost from the storage is made anew.
    made = thumbnail.read_bytes()
    assert make_thumbnail(photo.pk) is False and thumbnail.read_bytes() == made
    thumbnail.unlink()
    assert make_thumbnail(photo.pk) is True and thumbnail.read_bytes() == made
    assert Photo.objects.get(pk=photo.pk).thumbnail.name == photo.thumbnail.name


@pytest.mark.django_db
def test_before_the_worker_made_it_the_photo_is_served_in_the_thumbnails_place(world, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    photo, created = store_photo(data=jpeg(colour=(10, 120, 200)), uploader=world.accounts["worker"])
    assert created and not photo.thumbnail  # no worker here: it is not made yet
    response = client_as(world.accounts["dispatcher"]).get(on_a_case(world, photo.sha256))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert served(response).size == (640, 480)  # the photo itself
    assert response["Cache-Control"] == "private, max-age=60"  # not kept: the thumbnail replaces it soon
