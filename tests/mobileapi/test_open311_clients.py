"""Open311 GeoReport v2 as real clients use it: photos posted as `media`, bodies in a declared charset, CORS for
pages of other origins, lists that say when they are cut; and over real HTTP with the `georeport` library."""

import io
import urllib.parse
from pathlib import Path

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from georeport import GeoReport
from PIL import Image

from cases.desk_views import _photos as desk_photos
from cases.models import Case, CaseEvent
from mobileapi.models import Open311Key, Photo
from mobileapi.open311 import selectors
from tests import live
from tests.mobileapi import test_open311
from tests.mobileapi.test_open311 import (
    BASE,
    GARBAGE,
    MANHOLE,
    SENSITIVE,
    assert_error,
    body,
    nothing_written,
    post,
    xml,
)
from tests.mobileapi.test_photos import camera_jpeg

demo_key, cases = test_open311.demo_key, test_open311.cases  # the same fixtures


@pytest.fixture
def client():
    return Client(enforce_csrf_checks=True)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def photo_file(data: bytes | None = None, name="IMG_0001.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, camera_jpeg() if data is None else data, content_type="image/jpeg")


def report_attachments(case: Case) -> list:
    return case.events.get(action="report").attachments


# --- A photo posted as `media` ----------------------------------------------------------------------------


def test_a_media_file_becomes_the_cases_photo_and_its_media_url(client, geo, demo_key):
    response = post(client, demo_key, geo.point("W1", "S"), media=photo_file())
    assert response.status_code == 201, response.content
    case = Case.objects.get()
    photo = Photo.objects.get()
    assert report_attachments(case) == [photo.sha256]
    assert photo.uploaded_by is None and photo.content_type == "image/jpeg"
    # The camera's position is kept as data, not in the file anyone can fetch.
    assert photo.gps is not None
    assert [shown["sha256"] for shown in desk_photos(case, list(case.events.all()))] == [photo.sha256]

    (shown,) = body(client.get(f"{BASE}/requests/{case.number}.json"))
    assert shown["media_url"] == f"http://testserver{BASE}/media/{photo.sha256}.jpg"
    listed = body(client.get(f"{BASE}/requests.json"))
    assert [row["media_url"] for row in listed] == [shown["media_url"]]
    root = xml(client.get(f"{BASE}/requests/{case.number}.xml"))
    assert root.findtext("request/media_url") == shown["media_url"]

    image = client.get(shown["media_url"])
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    assert image["Access-Control-Allow-Origin"] == "*"
    served = b"".join(image.streaming_content)
    assert b"SERIAL-123456" not in served and b"PhoneMaker" not in served
    assert dict(Image.open(io.BytesIO(served)).getexif()) == {}


def test_the_same_photo_twice_is_stored_once(client, geo, demo_key):
    data = camera_jpeg()
    for _ in range(2):
        assert post(client, demo_key, geo.point("W1", "S"), media=photo_file(data)).status_code == 201
    assert Photo.objects.count() == 1
    assert {report_attachments(case)[0] for case in Case.objects.all()} == {Photo.objects.get().sha256}


def test_a_media_file_and_a_media_url_keep_both_and_show_the_photo(client, geo, demo_key):
    link = "https://example.org/photos/1.jpg"
    assert post(client, demo_key, geo.point("W1", "S"), media=photo_file(), media_url=link).status_code == 201
    photo, case = Photo.objects.get(), Case.objects.get()
    assert report_attachments(case) == [photo.sha256, link]
    (shown,) = body(client.get(f"{BASE}/requests/{case.number}.json"))
    assert shown["media_url"].endswith(f"/media/{photo.sha256}.jpg")


@pytest.mark.parametrize(
    ("media", "words"),
    [
        (photo_file(b"%PDF-1.4 not a photo", name="scan.jpg"), ["media", "decode"]),
        (photo_file(b"", name="empty.jpg"), ["media", "empty"]),
        ("https://example.org/a.jpg", ["media", "media_url"]),
    ],
)
def test_a_media_that_is_no_photo_is_a_400_and_nothing_is_written(client, geo, demo_key, media, words):
    response = post(client, demo_key, geo.point("W1", "S"), media=media)
    assert_error(response, 400, *words)
    assert nothing_written() and Photo.objects.count() == 0


def test_a_photo_larger_than_allowed_is_a_413_before_it_is_read(client, geo, demo_key):
    spot = geo.point("W1", "S")
    fields = {"api_key": demo_key, "service_code": MANHOLE, "lat": spot.y, "long": spot.x}
    response = client.post(f"{BASE}/requests.json", fields, CONTENT_LENGTH=str(12 * 1024 * 1024))
    assert_error(response, 413, "10 MB")
    assert nothing_written()


def test_the_photo_of_a_withheld_request_is_shown_only_to_its_client(client, geo, demo_key):
    assert post(client, demo_key, geo.point("E2", "S"), service_code=SENSITIVE, media=photo_file()).status_code == 201
    case, photo = Case.objects.get(), Photo.objects.get()
    url = f"{BASE}/media/{photo.sha256}.jpg"
    assert_error(client.get(url), 404, "media")
    assert_error(client.get(f"{BASE}/media/{photo.sha256}.png", {"api_key": demo_key}), 404)
    own = client.get(url, {"api_key": demo_key})
    assert own.status_code == 200 and own["Cache-Control"].startswith("private")
    (shown,) = body(client.get(f"{BASE}/requests/{case.number}.json", {"api_key": demo_key}))
    assert shown["media_url"].endswith(url)


def test_a_photo_whose_file_is_gone_is_a_404(client, geo, demo_key):
    assert post(client, demo_key, geo.point("W1", "S"), media=photo_file()).status_code == 201
    photo = Photo.objects.get()
    photo.image.delete(save=False)
    assert_error(client.get(f"{BASE}/media/{photo.sha256}.jpg"), 404, "media")


def test_a_handheld_photo_is_not_served_here(client, geo, demo_key):
    from mobileapi.services import store_photo
    from tests.factories import UserFactory

    photo, _ = store_photo(data=camera_jpeg(), uploader=UserFactory())
    assert_error(client.get(f"{BASE}/media/{photo.sha256}.jpg"), 404)


# --- Bodies in a declared charset ----------------------------------------------------------------------------


def form(demo_key, spot, **fields) -> dict:
    return {"api_key": demo_key, "service_code": MANHOLE, "lat": spot.y, "long": spot.x, **fields}


@pytest.mark.parametrize("label", ["gbk", "GBK", "gb2312", '"gb2312"'])
def test_a_gbk_form_body_is_decoded_whatever_its_label(client, geo, demo_key, label):
    # 镕 is GBK, not GB2312: systems labelled gb2312 send GBK, as browsers know.
    fields = form(demo_key, geo.point("W1", "S"), description="井盖缺失，见镕钢路口", address_string="人民街 5 号")
    raw = urllib.parse.urlencode(fields, encoding="gbk")
    content_type = f"application/x-www-form-urlencoded; charset={label}"
    response = client.generic("POST", f"{BASE}/requests.json", raw.encode(), content_type=content_type)
    assert response.status_code == 201, response.content
    case = Case.objects.get()
    assert (case.description, case.address) == ("井盖缺失，见镕钢路口", "人民街 5 号")


def multipart(fields: dict, charset: str, boundary="b0undary") -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode(charset)
        for name, value in fields.items()
    ]
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


def test_a_gbk_multipart_body_is_decoded(client, geo, demo_key):
    fields = form(demo_key, geo.point("W1", "S"), description="路灯不亮")
    response = client.generic(
        "POST",
        f"{BASE}/requests.json",
        multipart(fields, "gbk"),
        content_type="multipart/form-data; boundary=b0undary; charset=gbk",
    )
    assert response.status_code == 201, response.content
    assert Case.objects.get().description == "路灯不亮"


@pytest.mark.parametrize(
    ("raw", "content_type", "words"),
    [
        # GBK bytes declared (or taken by default) as UTF-8: refused, not stored as U+FFFD.
        ("井盖缺失".encode("gbk"), "application/x-www-form-urlencoded", ["utf-8"]),
        ("井盖缺失".encode("gbk"), "application/x-www-form-urlencoded; charset=utf-8", ["utf-8"]),
        ("井盖缺失".encode("gbk"), "multipart/form-data; boundary=b0undary", ["utf-8"]),
        ("井盖缺失".encode(), "application/x-www-form-urlencoded; charset=x-no-such", ["x-no-such"]),
    ],
)
def test_an_undecodable_body_is_a_400_in_the_spec_format(client, geo, demo_key, raw, content_type, words):
    fields = form(demo_key, geo.point("W1", "S"))
    if content_type.startswith("multipart"):
        body_bytes = multipart(fields, "ascii")[: -len("--b0undary--\r\n")]
        body_bytes += b'--b0undary\r\nContent-Disposition: form-data; name="description"\r\n\r\n' + raw + b"\r\n"
        body_bytes += b"--b0undary--\r\n"
    else:
        body_bytes = (
            urllib.parse.urlencode(fields).encode() + b"&description=" + urllib.parse.quote_from_bytes(raw).encode()
        )
    for fmt in ("json", "xml"):
        response = client.generic("POST", f"{BASE}/requests.{fmt}", body_bytes, content_type=content_type)
        assert response.status_code == 400, response.content
        if fmt == "json":
            assert_error(response, 400, *words)
        else:
            assert xml(response).findtext("error/code") == "400"
    assert nothing_written()


# --- CORS for pages of other origins -------------------------------------------------------------------


def read_paths(case: Case) -> list[str]:
    return [
        f"{BASE}/discovery.json",
        f"{BASE}/services.json",
        f"{BASE}/services/{MANHOLE}.xml",
        f"{BASE}/requests.json",
        f"{BASE}/requests/{case.number}.json",
        f"{BASE}/tokens/{case.number}.json",
        f"{BASE}/requests/XQ-0000.json",  # a 404: an error a page must be able to read too
    ]


def test_reads_are_open_to_any_origin_without_credentials(client, cases):
    for path in read_paths(cases["recent"]):
        response = client.get(path, HTTP_ORIGIN="https://city-app.example")
        assert response["Access-Control-Allow-Origin"] == "*", path
        assert not response.has_header("Access-Control-Allow-Credentials")
        assert "X-Total-Count" in response["Access-Control-Expose-Headers"]


def test_reads_answer_a_preflight_and_posts_are_not_opened_to_other_origins(client, geo, cases, demo_key):
    for path in read_paths(cases["recent"]):
        preflight = client.options(
            path,
            HTTP_ORIGIN="https://city-app.example",
            HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
            HTTP_ACCESS_CONTROL_REQUEST_HEADERS="accept-language",
        )
        assert preflight.status_code == 204, path
        assert preflight["Access-Control-Allow-Origin"] == "*"
        assert "GET" in preflight["Access-Control-Allow-Methods"]
        assert "POST" not in preflight["Access-Control-Allow-Methods"]
        assert "accept-language" in preflight["Access-Control-Allow-Headers"].lower()
    fields = form(demo_key, geo.point("W1", "S"))
    posted = client.post(f"{BASE}/requests.json", fields, HTTP_ORIGIN="https://city-app.example")
    assert posted.status_code == 201 and not posted.has_header("Access-Control-Allow-Origin")


# --- Lists that say when they are cut ----------------------------------------------------------------------


def test_a_cut_list_says_how_many_match_and_links_the_rest(client, cases, monkeypatch):
    whole = client.get(f"{BASE}/requests.json")
    assert whole["X-Total-Count"] == "2" and not whole.has_header("Link")

    monkeypatch.setattr(selectors, "MAX_RESULTS", 1)
    first = client.get(f"{BASE}/requests.json", {"service_code": f"{MANHOLE},{GARBAGE}"})
    assert [row["service_request_id"] for row in body(first)] == [cases["recent"].number]
    assert first["X-Total-Count"] == "2"
    link, rel = first["Link"].split(";")
    assert rel.strip() == 'rel="next"' and link.startswith("<http://testserver/open311/v2/requests.json?")
    following = urllib.parse.urlsplit(link.strip("<>"))
    assert urllib.parse.parse_qs(following.query)["service_code"] == [f"{MANHOLE},{GARBAGE}"]

    second = client.get(f"{following.path}?{following.query}")
    assert [row["service_request_id"] for row in body(second)] == [cases["garbage"].number]
    assert second["X-Total-Count"] == "1" and not second.has_header("Link")
    listed = client.get(f"{BASE}/requests.xml")
    assert xml(listed).tag == "service_requests" and listed["X-Total-Count"] == "2"


# --- Over real HTTP, as the client libraries send and read -------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_city_app_posts_a_photo_and_reads_it_back_with_georeport(geo, tmp_path):
    """`three` (the Code for America client) cannot be imported on Python 3 (`from itertools import ifilter`);
    its `post()` is `requests.post(url, data=fields, files={"media": open(path, "rb")})`, sent here as is."""
    _key, api_key = Open311Key.issue(name="市民随手拍")
    picture = tmp_path / "IMG_0042.jpg"
    picture.write_bytes(camera_jpeg())
    spot = geo.point("E2", "N")
    with live.gunicorn(db_url=live.database_url(), workers=1, MEDIA_ROOT=str(tmp_path / "media")) as base:
        endpoint = f"{base}{BASE}"
        fields = {
            "service_code": GARBAGE,
            "lat": spot.y,
            "long": spot.x,
            "address_string": "东街道 E2 社区北门",
            "description": "路边堆放垃圾",
            "first_name": "Zach",
            "api_key": api_key,
        }
        with Path(picture).open("rb") as media:
            posted = requests.post(f"{endpoint}/requests.json", data=fields, files={"media": media}, timeout=30)
        assert posted.status_code == 201, posted.text
        number = posted.json()[0]["service_request_id"]

        shown = GeoReport(endpoint).get_service_request(number)
        assert shown["description"] == "路边堆放垃圾" and shown["address"] == "东街道 E2 社区北门"
        photo = Photo.objects.get()
        assert shown["media_url"] == f"{endpoint}/media/{photo.sha256}.jpg"
        image = requests.get(shown["media_url"], timeout=30)
        assert image.status_code == 200 and image.headers["Content-Type"] == "image/jpeg"
        assert image.headers["Access-Control-Allow-Origin"] == "*"
        assert b"SERIAL-123456" not in image.content and Image.open(io.BytesIO(image.content)).size == (800, 600)

        listed = GeoReport(endpoint, output_format="xml").get_service_requests(service_request_id=number)
        assert listed["service_request_id"] == number and listed["media_url"] == shown["media_url"]
        assert [service["service_code"] for service in GeoReport(endpoint).get_service_list()].count(GARBAGE) == 1

        gbk = requests.post(
            f"{endpoint}/requests.json",
            data=urllib.parse.urlencode({**fields, "description": "井盖缺失"}, encoding="gbk"),
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=gbk"},
            timeout=30,
        )
        assert gbk.status_code == 201, gbk.text
        preflight = requests.options(
            f"{endpoint}/requests.json",
            headers={"Origin": "https://city-app.example", "Access-Control-Request-Method": "POST"},
            timeout=30,
        )
        assert preflight.status_code == 204 and "POST" not in preflight.headers["Access-Control-Allow-Methods"]
        missing = requests.post(f"{endpoint}/requests.json", data={**fields, "api_key": ""}, timeout=30)
        assert missing.status_code == 403 and missing.json()[0]["code"] == 403

    assert Case.objects.get(number=number).events.get(action="report").attachments == [photo.sha256]
    assert sorted(Case.objects.values_list("description", flat=True)) == sorted(["路边堆放垃圾", "井盖缺失"])
    assert CaseEvent.objects.count() == 2
