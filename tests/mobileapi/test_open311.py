"""Open311 GeoReport v2 at /open311/v2/: what a city app or a hotline system sees, in JSON and in XML."""

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta
from xml.etree import ElementTree as ET

import pytest
from django.contrib.gis.geos import Point
from django.test import Client, override_settings
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from cases.models import Case, CaseEvent, Category, Source, State
from cases.services import create_case
from mobileapi import admin_open311  # noqa: F401 - registers the admin before the URLconf is first loaded
from mobileapi.models import Open311Key
from mobileapi.open311 import selectors
from mobileapi.open311.services import seed_demo_key
from tests.factories import UserFactory

BASE = "/open311/v2"
MANHOLE = "BJ0101"  # 上水井盖 (group 公用设施): the street office's
GARBAGE = "SJ0102"  # 暴露垃圾 (group 市容环境): the community committee's
SENSITIVE = "SH0403"  # 严重精神障碍患者异常: 社会治理, never public
OUTSIDE = Point(101.70, 26.60, srid=4326)  # east of the test district


@pytest.fixture
def demo_key(db, settings):
    seed_demo_key(scale="tiny", seed=1, stdout=None)
    return settings.OPEN311_DEMO_KEY


@pytest.fixture
def client():
    return Client(enforce_csrf_checks=True)  # the endpoints must not need a CSRF token


def body(response):
    return json.loads(response.content)


def parse_xml(raw: bytes) -> ET.Element:
    return ET.fromstring(raw)  # noqa: S314 - our own server's answer, parsed to check it is well-formed


def xml(response) -> ET.Element:
    assert response["Content-Type"].startswith("text/xml")
    return parse_xml(response.content)


def post(client, key, point=None, fmt="json", **fields):
    data = {"service_code": MANHOLE, "description": "井盖缺失，有行人踏空危险", **fields}
    if key is not None:
        data["api_key"] = key
    if point is not None:
        data.setdefault("lat", str(point.y))
        data.setdefault("long", str(point.x))
    return client.post(f"{BASE}/requests.{fmt}", {k: v for k, v in data.items() if v is not None})


def assert_error(response, status: int, *words: str):
    assert response.status_code == status
    errors = body(response)
    assert isinstance(errors, list) and errors
    assert all(error["code"] == status for error in errors)
    text = " ".join(error["description"] for error in errors)
    for word in words:
        assert word in text
    return text


def nothing_written():
    return Case.objects.count() == 0 and CaseEvent.objects.count() == 0


# --- Discovery and services -------------------------------------------------------------------


def test_discovery_in_json_and_xml(client, db):
    data = body(client.get(f"{BASE}/discovery.json"))
    assert data["changeset"] and data["contact"] and data["key_service"]
    (endpoint,) = data["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2/"
    assert endpoint["type"] == "production"
    assert set(endpoint["formats"]) == {"application/json", "text/xml"}

    root = xml(client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery"
    assert root.findtext("endpoints/endpoint/specification") == "http://wiki.open311.org/GeoReport_v2"
    assert {f.text for f in root.findall("endpoints/endpoint/formats/format")} == {"application/json", "text/xml"}
    assert root.findtext("key_service") == data["key_service"]


def test_services_are_the_active_leaf_categories_with_their_group(client, db):
    Category.objects.filter(code="SJ0103").update(active=False)
    services = body(client.get(f"{BASE}/services.json"))
    codes = [service["service_code"] for service in services]
    leaves = Category.objects.filter(active=True, children__isnull=True).values_list("code", flat=True)
    assert sorted(codes) == sorted(leaves) and len(codes) > 50
    assert "BJ01" not in codes and "BJ" not in codes and "SJ0103" not in codes
    manhole = next(service for service in services if service["service_code"] == MANHOLE)
    assert manhole["service_name"] == "上水井盖"
    assert manhole["group"] == "公用设施"
    assert manhole["metadata"] is False and manhole["type"] == "realtime"
    assert "公用设施" in manhole["keywords"] and manhole["description"]

    root = xml(client.get(f"{BASE}/services.xml"))
    assert root.tag == "services"
    assert len(root.findall("service")) == len(services)
    element = next(e for e in root.findall("service") if e.findtext("service_code") == MANHOLE)
    assert element.findtext("service_name") == "上水井盖"
    assert element.findtext("group") == "公用设施"
    assert element.findtext("metadata") == "false" and element.findtext("type") == "realtime"


@pytest.mark.parametrize("how", [{"data": {"locale": "en"}}, {"HTTP_ACCEPT_LANGUAGE": "en"}])
def test_services_in_english(client, db, how):
    data = how.get("data")
    headers = {k: v for k, v in how.items() if k != "data"}
    services = body(client.get(f"{BASE}/services.json", data, **headers))
    manhole = next(service for service in services if service["service_code"] == MANHOLE)
    assert manhole["service_name"] == "Water supply manhole cover"
    assert manhole["group"] == "Public facilities"


def test_service_definition_and_unknown_codes(client, db):
    assert body(client.get(f"{BASE}/services/{MANHOLE}.json")) == {"service_code": MANHOLE, "attributes": []}
    root = xml(client.get(f"{BASE}/services/{MANHOLE}.xml"))
    assert root.tag == "service_definition" and root.findtext("service_code") == MANHOLE

    assert_error(client.get(f"{BASE}/services/XX9999.json"), 404, "XX9999")
    assert_error(client.get(f"{BASE}/services/BJ01.json"), 404, "BJ01")  # a group is not a service
    missing = client.get(f"{BASE}/services/XX9999.xml")
    assert missing.status_code == 404
    root = xml(missing)
    assert (
        root.tag == "errors" and root.findtext("error/code") == "404" and "XX9999" in root.findtext("error/description")
    )


@pytest.mark.parametrize(
    "path", ["services.csv", "requests.html", "discovery", "requests/XQ-1.yaml", "nothing.json", ""]
)
def test_unknown_paths_and_extensions_are_404_in_the_spec_format(client, db, path):
    assert_error(client.get(f"{BASE}/{path}"), 404)


def test_wrong_method_is_answered_in_the_spec_format(client, db):
    response = client.delete(f"{BASE}/requests.xml")
    assert response.status_code == 405 and "POST" in response["Allow"]
    assert xml(response).findtext("error/code") == "405"


# --- Posting a service request ----------------------------------------------------------------


def test_a_posted_request_becomes_a_case_routed_like_a_handheld_report(client, geo, demo_key):
    spot = geo.point("W1", "S")
    response = post(
        client,
        demo_key,
        spot,
        address_string="西街道 W1 社区南门",
        media_url="https://example.org/photos/1.jpg",
    )
    assert response.status_code == 201
    (answer,) = body(response)
    case = Case.objects.get()
    assert answer["service_request_id"] == case.number and case.number.startswith("XQ-")
    assert answer["account_id"] is None
    assert geo.offices["W"].name in answer["service_notice"]
    assert case.source == Source.OPEN311 and case.state == State.REPORTED
    assert case.responsible_unit == geo.offices["W"]
    assert set(case.co_units.all()) == {geo.department}
    assert case.external_ref == f"open311:{Open311Key.objects.get().pk}"
    assert case.events.get().attachments == ["https://example.org/photos/1.jpg"]

    (shown,) = body(client.get(f"{BASE}/requests/{case.number}.json"))
    assert shown["service_request_id"] == case.number
    assert shown["status"] == "open" and shown["status_notes"] == "已上报"
    assert shown["service_code"] == MANHOLE and shown["service_name"] == "上水井盖"
    assert shown["agency_responsible"] == geo.offices["W"].name
    assert shown["description"] == "井盖缺失，有行人踏空危险"
    assert shown["address"] == "西街道 W1 社区南门"
    assert shown["media_url"] == "https://example.org/photos/1.jpg"
    assert shown["requested_datetime"].endswith("+08:00") and shown["expected_datetime"] > shown["requested_datetime"]
    assert (shown["lat"], shown["long"]) == (round(spot.y, 3), round(spot.x, 3))


def test_a_json_body_and_an_xml_answer(client, geo, demo_key):
    spot = geo.point("E1", "N")
    payload = {"api_key": demo_key, "service_code": GARBAGE, "lat": spot.y, "long": spot.x, "description": "路边垃圾"}
    response = client.post(f"{BASE}/requests.xml", json.dumps(payload), content_type="application/json")
    assert response.status_code == 201
    root = xml(response)
    assert root.tag == "service_requests"
    case = Case.objects.get()
    assert root.findtext("request/service_request_id") == case.number
    assert root.find("request/account_id") is not None
    assert case.responsible_unit == geo.committees["E1"]

    root = xml(client.get(f"{BASE}/requests/{case.number}.xml"))
    assert root.tag == "service_requests" and len(root.findall("request")) == 1
    assert root.findtext("request/status") == "open"
    assert root.findtext("request/agency_responsible") == geo.committees["E1"].name
    assert float(root.findtext("request/lat")) == round(spot.y, 3)


def test_xml_stays_well_formed_whatever_the_text(client, geo, demo_key):
    text = '井盖<缺失> & "危险"\x0b\x1f，见 ]]> 处'
    payload = {"api_key": demo_key, "service_code": MANHOLE, "lat": 26.59, "long": 101.605, "description": text}
    response = client.post(f"{BASE}/requests.json", json.dumps(payload), content_type="application/json")
    assert response.status_code == 201
    number = body(response)[0]["service_request_id"]
    root = xml(client.get(f"{BASE}/requests/{number}.xml"))
    assert root.findtext("request/description") == '井盖<缺失> & "危险"，见 ]]> 处'


def test_personal_details_sent_by_a_client_are_not_stored(client, geo, demo_key):
    personal = {
        "email": "zhang.san@example.org",
        "first_name": "三丰",
        "last_name": "张",
        "phone": "13912345678",
        "device_id": "device-6f1c2a",
        "account_id": "account-77421",
    }
    response = post(client, demo_key, geo.point("W2", "N"), **personal)
    assert response.status_code == 201
    assert body(response)[0]["account_id"] is None
    stored = json.dumps(
        [list(Case.objects.values()), list(CaseEvent.objects.values())], default=str, ensure_ascii=False
    )
    for value in personal.values():
        assert value not in stored


def test_posting_works_without_a_csrf_token_and_needs_no_session(geo, demo_key):
    response = post(Client(enforce_csrf_checks=True), demo_key, geo.point("E2", "S"))
    assert response.status_code == 201


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_missing_invalid_and_revoked_keys_are_refused_and_nothing_is_written(client, geo, demo_key, fmt):
    spot = geo.point("W1", "S")
    missing = post(client, None, spot, fmt=fmt)
    blank = post(client, "  ", spot, fmt=fmt)
    wrong = post(client, "not-a-key", spot, fmt=fmt)
    Open311Key.objects.update(active=False, revoked_at=timezone.now())
    revoked = post(client, demo_key, spot, fmt=fmt)
    # The spec knows only 403 for a key problem: a missing key is refused like a wrong one.
    assert [r.status_code for r in (missing, blank, wrong, revoked)] == [403, 403, 403, 403]
    assert not missing.has_header("WWW-Authenticate")
    for response in (missing, blank, wrong, revoked):
        if fmt == "json":
            assert "api_key" in body(response)[0]["description"]
        else:
            root = xml(response)
            assert root.tag == "errors"
            assert root.findtext("error/code") == str(response.status_code)
            assert "api_key" in root.findtext("error/description")
    assert nothing_written()


@pytest.mark.parametrize(
    ("fields", "status", "words"),
    [
        ({"service_code": "XX9999"}, 400, ["service_code", "XX9999"]),
        ({"service_code": "BJ01"}, 400, ["service_code", "BJ01"]),
        ({"service_code": None}, 400, ["service_code"]),
        ({"lat": None, "long": None, "address_string": "人民街 1 号"}, 400, ["lat", "long", "address"]),
        ({"long": None}, 400, ["long"]),
        ({"lat": "26,59"}, 400, ["lat"]),
        ({"lat": "abc"}, 400, ["lat"]),
        ({"long": "NaN"}, 400, ["long"]),
        ({"lat": "Infinity"}, 400, ["lat"]),
        ({"lat": "91"}, 400, ["lat", "90"]),
        ({"lat": str(OUTSIDE.y), "long": str(OUTSIDE.x)}, 400, ["lat/long"]),
        ({"description": "长" * 4001}, 400, ["description", "4000"]),
        ({"media_url": "javascript:alert(1)"}, 400, ["media_url"]),
        ({"media_url": "ftp://example.org/a.jpg"}, 400, ["media_url"]),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_nothing_is_written(client, geo, demo_key, fields, status, words):
    response = post(client, demo_key, geo.point("W1", "S"), **fields)
    assert_error(response, status, *words)
    assert nothing_written()


def test_bad_input_in_xml_and_malformed_json(client, geo, demo_key):
    response = post(client, demo_key, geo.point("W1", "S"), fmt="xml", lat="north")
    assert response.status_code == 400
    root = xml(response)
    assert root.tag == "errors" and root.findtext("error/code") == "400"
    assert root.findtext("error/description").startswith("lat:")

    for raw in ("{not json", "[1, 2]", '"text"'):
        response = client.post(f"{BASE}/requests.json", raw, content_type="application/json")
        assert_error(response, 400, "JSON")
    wrong_types = {"api_key": demo_key, "service_code": 12, "lat": True, "long": [1]}
    response = client.post(f"{BASE}/requests.json", json.dumps(wrong_types), content_type="application/json")
    assert_error(response, 400, "service_code", "lat", "long")
    assert nothing_written()


# --- Reading service requests -----------------------------------------------------------------


@pytest.fixture
def cases(geo, demo_key):
    """An open311 manhole 2 days ago; a closed handheld garbage report 10 days ago; a manhole 120 days ago;
    a handheld report of a 社会治理 category yesterday."""
    now = timezone.now()
    key = Open311Key.objects.get()

    def make(code, point, days, source, **extra):
        case, _ = create_case(
            category=Category.objects.get(code=code),
            point=point,
            description=extra.pop("description", "描述"),
            source=source,
            received_at=now - timedelta(days=days),
            **extra,
        )
        return case

    recent = make(MANHOLE, geo.point("W1", "S"), 2, Source.OPEN311, external_ref=selectors.key_ref(key))
    garbage = make(
        GARBAGE,
        Point(101.6123456, 26.5987654, srid=4326),
        10,
        Source.HANDHELD,
        description="张三家门口的垃圾，电话 13912345678",
        address="人民街 5 号 2 单元 301",
    )
    Case.objects.filter(pk=garbage.pk).update(state=State.CLOSED, closed_at=now - timedelta(days=9))
    old = make(MANHOLE, geo.point("E1", "N"), 120, Source.OPEN311, external_ref=selectors.key_ref(key))
    sensitive = make(SENSITIVE, geo.point("E2", "S"), 1, Source.HANDHELD, description="某户居民行为异常")
    return {"recent": recent, "garbage": garbage, "old": old, "sensitive": sensitive}


def numbers(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["service_request_id"] for row in body(response)]


def test_the_default_window_is_the_last_90_days_newest_first(client, cases):
    assert numbers(client.get(f"{BASE}/requests.json")) == [cases["recent"].number, cases["garbage"].number]


def test_filters_by_status_service_code_and_dates(client, cases):
    url = f"{BASE}/requests.json"
    assert numbers(client.get(url, {"status": "closed"})) == [cases["garbage"].number]
    assert numbers(client.get(url, {"status": "open"})) == [cases["recent"].number]
    assert numbers(client.get(url, {"status": "open,closed"})) == [cases["recent"].number, cases["garbage"].number]
    assert numbers(client.get(url, {"service_code": GARBAGE})) == [cases["garbage"].number]
    assert numbers(client.get(url, {"service_code": f"{GARBAGE},{MANHOLE}"})) == [
        cases["recent"].number,
        cases["garbage"].number,
    ]
    long_ago = timezone.localtime() - timedelta(days=150)
    start = long_ago.isoformat(timespec="seconds")
    assert numbers(client.get(url, {"start_date": start})) == [cases["old"].number]
    end = (timezone.localtime() - timedelta(days=5)).date().isoformat()
    assert numbers(client.get(url, {"end_date": end})) == [cases["garbage"].number]
    # An offset's '+' sent unencoded arrives as a space.
    raw = start.replace("+", "%20")
    assert numbers(client.get(f"{url}?start_date={raw}")) == [cases["old"].number]


def test_service_request_id_overrides_the_other_filters(client, cases):
    wanted = f"{cases['old'].number},{cases['recent'].number},XQ-19990101-00001"
    found = numbers(client.get(f"{BASE}/requests.json", {"service_request_id": wanted, "status": "closed"}))
    assert found == [cases["recent"].number, cases["old"].number]


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"start_date": "2026-01-01", "end_date": "2026-06-01"}, ["end_date", "90"]),
        ({"start_date": "2026-06-01", "end_date": "2026-01-01"}, ["end_date", "start_date"]),
        ({"start_date": "yesterday"}, ["start_date"]),
        ({"end_date": "2026-13-45"}, ["end_date"]),
        ({"start_date": "9999-12-31"}, ["start_date", "too far"]),
        ({"end_date": "0001-01-01"}, ["end_date", "too far"]),
        ({"status": "pending"}, ["status"]),
        ({"service_code": "XX9999"}, ["service_code", "XX9999"]),
    ],
)
def test_bad_read_filters_are_400s_in_the_spec_format(client, cases, query, words):
    assert_error(client.get(f"{BASE}/requests.json", query), 400, *words)
    root = xml(client.get(f"{BASE}/requests.xml", query))
    assert root.tag == "errors" and root.findtext("error/code") == "400"


@pytest.mark.parametrize(
    "query",
    [
        {"start_date": "9999-10-01"},
        {"start_date": "9999-12-01", "end_date": "9999-12-31"},
        {"start_date": "0001-01-01", "end_date": "0001-03-01"},
        {"end_date": "0001-12-31"},
    ],
)
def test_dates_at_the_ends_of_the_calendar_find_nothing(client, cases, query):
    for fmt in ("json", "xml"):
        response = client.get(f"{BASE}/requests.{fmt}", query)
        assert response.status_code == 200, response.content
    assert body(client.get(f"{BASE}/requests.json", query)) == []


def test_at_most_max_results_are_returned(client, cases, monkeypatch):
    monkeypatch.setattr(selectors, "MAX_RESULTS", 1)
    assert numbers(client.get(f"{BASE}/requests.json")) == [cases["recent"].number]


def test_positions_are_coarsened_and_other_sources_show_no_description_or_address(client, cases):
    rows = {row["service_request_id"]: row for row in body(client.get(f"{BASE}/requests.json"))}
    garbage = rows[cases["garbage"].number]
    assert (garbage["lat"], garbage["long"]) == (26.599, 101.612)
    assert garbage["description"] is None and garbage["address"] is None and garbage["media_url"] is None
    assert garbage["status"] == "closed" and garbage["status_notes"] == "已结案"
    assert "13912345678" not in json.dumps(rows, ensure_ascii=False)
    assert rows[cases["recent"].number]["description"] == "描述"

    root = xml(client.get(f"{BASE}/requests.xml"))
    assert root.tag == "service_requests"
    element = next(e for e in root.findall("request") if e.findtext("service_request_id") == cases["garbage"].number)
    assert element.findtext("lat") == "26.599" and element.findtext("long") == "101.612"
    assert element.find("description").text is None and element.find("address").text is None


def test_social_governance_cases_are_never_public(client, cases, geo, demo_key):
    sensitive = cases["sensitive"].number
    assert sensitive not in numbers(client.get(f"{BASE}/requests.json"))
    assert sensitive not in numbers(client.get(f"{BASE}/requests.json", {"service_request_id": sensitive}))
    assert_error(client.get(f"{BASE}/requests/{sensitive}.json"), 404, sensitive)

    # Posted through Open311, the client that posted it reads it back with its key; nobody else does.
    response = post(client, demo_key, geo.point("W2", "S"), service_code=SENSITIVE, description="邻居需要关注")
    number = body(response)[0]["service_request_id"]
    assert_error(client.get(f"{BASE}/requests/{number}.json"), 404)
    _, other = Open311Key.issue(name="another app")
    assert_error(client.get(f"{BASE}/requests/{number}.json", {"api_key": other}), 404)
    (own,) = body(client.get(f"{BASE}/requests/{number}.json", {"api_key": demo_key}))
    assert own["description"] == "邻居需要关注"
    assert number in numbers(client.get(f"{BASE}/requests.json", {"api_key": demo_key}))
    assert_error(client.get(f"{BASE}/requests.json", {"api_key": "wrong"}), 403, "api_key")


def test_requests_in_english(client, cases):
    rows = body(client.get(f"{BASE}/requests.json", {"locale": "en", "status": "closed"}))
    assert rows[0]["service_name"] == "Exposed garbage" and rows[0]["status_notes"] == "Closed"


def test_unknown_request_id(client, cases):
    assert_error(client.get(f"{BASE}/requests/XQ-19990101-00001.json"), 404, "XQ-19990101-00001")
    assert xml(client.get(f"{BASE}/requests/XQ-19990101-00001.xml")).tag == "errors"


def test_tokens_map_to_the_case_number(client, cases):
    number = cases["recent"].number
    assert body(client.get(f"{BASE}/tokens/{number}.json")) == [{"service_request_id": number, "token": number}]
    root = xml(client.get(f"{BASE}/tokens/{number}.xml"))
    assert root.tag == "service_requests"
    assert root.findtext("request/token") == number and root.findtext("request/service_request_id") == number
    assert_error(client.get(f"{BASE}/tokens/{cases['garbage'].number}.json"), 404)  # not posted through Open311
    assert_error(client.get(f"{BASE}/tokens/nothing.json"), 404)


# --- Keys: demo seed and admin ----------------------------------------------------------------


def test_seed_demo_key_is_idempotent_and_follows_the_setting(db, settings):
    settings.OPEN311_DEMO_KEY = "city-app-demo-key-1"
    seed_demo_key(scale="tiny", seed=1, stdout=None)
    seed_demo_key(scale="tiny", seed=1, stdout=None)
    assert Open311Key.objects.count() == 1
    assert Open311Key.find_active("city-app-demo-key-1") is not None
    assert Open311Key.find_active("gridmgmt-demo-open311") is None


def test_admin_issues_a_key_once_and_revokes_it(client, geo):
    admin = UserFactory(is_staff=True, is_superuser=True)
    browser = Client()
    browser.force_login(admin)
    assert browser.get("/admin/mobileapi/open311key/add/").status_code == 200
    response = browser.post("/admin/mobileapi/open311key/add/", {"name": "市民 App"}, follow=True)
    assert response.status_code == 200
    shown = [str(message) for message in response.context["messages"]]
    key = Open311Key.objects.get()
    issued = next(text.split("：", 1)[1].split(" ")[0] for text in shown if key.prefix in text)
    assert Open311Key.find_active(issued) == key and issued.startswith(key.prefix)
    assert issued not in browser.get("/admin/mobileapi/open311key/").content.decode()  # shown once only
    assert key.prefix in browser.get("/admin/mobileapi/open311key/").content.decode()
    page = browser.get(f"/admin/mobileapi/open311key/{key.pk}/change/")
    assert page.status_code == 200 and key.digest not in page.content.decode() and issued not in page.content.decode()

    assert post(client, issued, geo.point("W1", "S")).status_code == 201
    browser.post("/admin/mobileapi/open311key/", {"action": "revoke", "_selected_action": [key.pk]}, follow=True)
    key.refresh_from_db()
    assert not key.active and key.revoked_at is not None
    assert post(client, issued, geo.point("W1", "S")).status_code == 403


def test_open311_is_not_part_of_the_openapi_document(db):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert schema["paths"] and not [path for path in schema["paths"] if path.startswith("/open311")]


# --- Over real HTTP -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_city_app_posts_and_reads_back_over_http(live_server, geo, demo_key):
    def call(path, data=None):
        request = urllib.request.Request(live_server.url + path, data=data)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()

    with override_settings(SECURE_SSL_REDIRECT=False):
        status, _, raw = call(f"{BASE}/discovery.json")
        assert status == 200 and json.loads(raw)["endpoints"][0]["url"] == f"{live_server.url}{BASE}/"
        status, _, raw = call(f"{BASE}/services.xml")
        assert status == 200 and parse_xml(raw).tag == "services"

        spot = geo.point("E2", "N")
        form = {"api_key": demo_key, "service_code": GARBAGE, "lat": spot.y, "long": spot.x, "description": "垃圾"}
        status, _, raw = call(f"{BASE}/requests.json", urllib.parse.urlencode(form).encode())
        assert status == 201
        number = json.loads(raw)[0]["service_request_id"]
        status, _, raw = call(f"{BASE}/requests/{number}.xml")
        assert status == 200
        root = parse_xml(raw)
        assert root.findtext("request/status") == "open"
        assert root.findtext("request/agency_responsible") == geo.committees["E2"].name

        status, _, raw = call(f"{BASE}/requests.json", urllib.parse.urlencode({**form, "api_key": "x"}).encode())
        assert status == 403 and json.loads(raw)[0]["code"] == 403
        assert Case.objects.count() == 1


# --- Rate limit of POSTs ---------------------------------------------------------------------------


def test_posts_past_the_key_limit_are_429_in_the_spec_format_with_retry_after(client, geo, demo_key, settings):
    settings.OPEN311_POST_LIMITS = (3, 100, 60)
    point = geo.point("W1", "S")
    assert [post(client, demo_key, point).status_code for _ in range(3)] == [201, 201, 201]
    refused = post(client, demo_key, point)
    assert_error(refused, 429, "Too many", "retry in")
    assert 1 <= int(refused["Retry-After"]) <= 60
    root = xml(post(client, demo_key, point, fmt="xml"))
    assert root.tag == "errors" and root.findtext("error/code") == "429"
    assert Case.objects.count() == 3
    _key, other = Open311Key.issue(name="另一客户端")
    assert post(client, other, point).status_code == 201  # another key has its own count


def test_posts_past_the_address_limit_are_429_whatever_the_key(client, geo, demo_key, settings):
    settings.OPEN311_POST_LIMITS = (100, 2, 60)
    point = geo.point("W1", "S")
    _key, other = Open311Key.issue(name="另一客户端")
    assert post(client, demo_key, point).status_code == 201
    assert post(client, other, point).status_code == 201
    assert_error(post(client, other, point), 429, "address")
    elsewhere = Client(REMOTE_ADDR="10.1.2.3")
    assert post(elsewhere, other, point).status_code == 201
    assert Case.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_the_count_is_atomic_under_parallel_posts(settings):
    import threading

    from django.db import connection

    from mobileapi.open311.services import admit_post

    settings.OPEN311_POST_LIMITS = (5, 100, 3600)
    key, _raw = Open311Key.issue(name="并发客户端")
    waits, start = [], threading.Barrier(12)

    def send():
        try:
            start.wait()
            waits.append(admit_post(key=key, address="192.0.2.7"))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(waits) == 12 and waits.count(0) == 5  # exactly the limit passed; the other seven wait
