"""Attachments are photos the actor uploaded or photos already on the case; anything else is a 400 naming the
field and changes nothing. A photo is served only when it is on a case the requester may see."""

import io
import uuid

import pytest
from PIL import Image

from cases.models import Case, CaseEvent
from mobileapi.services import attach_photo, store_photo
from tests.cases.geo import Geography
from tests.cases.helpers import act, client_of, dispatcher, person, report, uploaded_photo

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(geo: Geography):
    """Two workers of one grid, each with a case of their own (level 1 garbage), and its community desk."""
    me, colleague = person(grids=[geo.grids["W1"]]), person(grids=[geo.grids["W1"]])
    return {
        "me": me,
        "colleague": colleague,
        "desk": dispatcher(geo.committees["W1"]),
        "mine": report(geo.point("W1", "S"), "SJ0102", reporter=me),
        "theirs": report(geo.point("W1", "N"), "SJ0102", reporter=colleague),
    }


def close_on_spot(user, case, attachments):
    body = {"action": "close_on_spot", "version": case.version, "attachments": attachments}
    return client_of(user).post(f"/api/v1/cases/{case.pk}/transitions", body, format="json")


def assert_refused_and_unchanged(response, case, field="attachments"):
    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == [field]
    assert "不是您上传的照片" in response.json()["errors"][field][0]
    after = Case.objects.get(pk=case.pk)
    assert (after.state, after.version) == (case.state, case.version)
    assert after.events.count() == case.events.count()


def test_a_photo_i_uploaded_closes_my_case(scene):
    mine = uploaded_photo(scene["me"])
    response = close_on_spot(scene["me"], scene["mine"], [mine])
    assert response.status_code == 200 and response.json()["events"][-1]["attachments"] == [mine]


@pytest.mark.parametrize(
    "reference",
    ["colleague", "../../etc/passwd", "0" * 64, "sha256:abc", "/media/photos/ab/x.jpg", "https://example.org/x.jpg"],
)
def test_anything_else_is_a_400_naming_the_field(scene, reference):
    cited = uploaded_photo(scene["colleague"]) if reference == "colleague" else reference
    response = close_on_spot(scene["me"], scene["mine"], [uploaded_photo(scene["me"]), cited])
    assert_refused_and_unchanged(response, scene["mine"])
    assert "第 2 个附件" in response.json()["errors"]["attachments"][0]


def test_a_photo_already_on_the_case_may_be_cited_by_others(scene, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    attached, _ = attach_photo(case=scene["theirs"], data=jpeg("green"), kind="before", uploader=scene["colleague"])
    sha256 = attached.photo.sha256
    case = act(scene["theirs"], scene["desk"], "comment", attachments=[sha256])  # the desk cites it again
    assert case.events.last().attachments == [sha256]
    # …but it is on that case only: citing it on mine is refused
    assert_refused_and_unchanged(close_on_spot(scene["me"], scene["mine"], [sha256]), scene["mine"])


def test_taking_a_case_at_the_desk_with_someone_elses_photo_writes_nothing(scene, geo):
    count = Case.objects.count()
    body = {
        "category": "SJ0101",
        "lon": geo.point("W1", "N").x,
        "lat": geo.point("W1", "N").y,
        "description": "desk intake",
        "attachments": [uploaded_photo(scene["colleague"])],
    }
    response = client_of(scene["desk"]).post("/api/v1/cases", body, format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["attachments"]
    assert Case.objects.count() == count


def test_a_task_with_someone_elses_photo_is_400_on_photos(scene, client_for, geo):
    case = report(geo.point("W1", "N"), "BJ0101", source="hotline")  # a 核实 task for the grid's workers
    worker = client_for("worker", grids=[geo.grids["W1"]])
    body = {"client_uuid": str(uuid.uuid4()), "result": "confirmed", "photos": [uploaded_photo(scene["colleague"])]}
    response = worker.post(f"/api/mobile/v1/tasks/{case.pk}/complete", body, format="json")
    assert_refused_and_unchanged(response, case, field="photos")


def jpeg(colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_a_photo_is_served_only_from_a_case_the_requester_sees(scene, geo, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    photo, _ = store_photo(data=jpeg("red"), uploader=scene["colleague"])
    act(scene["theirs"], scene["colleague"], "close_on_spot", attachments=[photo.sha256])
    url = f"/api/v1/case-photos/{photo.sha256}"
    assert client_of(scene["desk"]).get(url).status_code == 200  # the grid's desk sees the colleague's case
    outsider = person(grids=[geo.grids["E2"]])
    assert client_of(outsider).get(url).status_code == 404

    # A citation written before attachments were checked, by someone who did not upload the photo, on a case the
    # outsider sees, does not open the photo to them.
    own_case = report(geo.point("E2", "S"), "SJ0102", reporter=outsider)
    CaseEvent.objects.create(case=own_case, actor=outsider, action="comment", attachments=[photo.sha256])
    refused = client_of(outsider).get(url)
    assert refused.status_code == 404
    assert refused.json() == client_of(outsider).get("/api/v1/case-photos/" + "0" * 64).json()
    # an uploaded photo on no case is served to no one either
    loose, _ = store_photo(data=jpeg("blue"), uploader=outsider)
    assert client_of(outsider).get(f"/api/v1/case-photos/{loose.sha256}").status_code == 404
