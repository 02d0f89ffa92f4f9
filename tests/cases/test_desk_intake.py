"""一窗受理 and 按编号查找 with Django's test client: the caller's phone is kept protected and revealed only with a
logged reason; a case number opens the case only for those who may see it; a full ID number or phone finds residents
through the keyed digest, logged and masked; each queued case says what it waits for, who holds it and the hours
left; the case page links to the map."""

import re
import uuid

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client

from audit.models import AuditAction, AuditEntry
from cases.desk_views import waits_line
from cases.models import Case, Source, State
from grids import pii
from grids.models import Role
from tests.cases.geo import Geography
from tests.cases.helpers import act, client_of, dispatcher, person, report
from tests.factories import BuildingFactory, HouseholdFactory, PersonFactory, square

pytestmark = pytest.mark.django_db

PHONE = "13912345678"


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def intake_body(geo: Geography, **extra) -> dict:
    point = geo.point("W1", "N")
    return {
        "client_uuid": str(uuid.uuid4()),
        "source": "visit",
        "category": "SJ0101",
        "description": "来访：楼顶私搭彩钢棚",
        "lon": point.x,
        "lat": point.y,
        "caller_name": "李女士",
        "caller_phone": PHONE,
        **extra,
    }


def with_reveal(user):
    user.user_permissions.add(Permission.objects.get(codename="reveal_person", content_type__app_label="grids"))
    return type(user).objects.get(pk=user.pk)


def test_a_visit_is_taken_with_the_callers_phone_encrypted_and_masked(geo):
    desk = dispatcher(geo.offices["W"])
    response = client_of(desk).post("/api/v1/cases", intake_body(geo), format="json")
    assert response.status_code == 201, response.content
    case = Case.objects.get(pk=response.json()["id"])
    assert case.source == Source.VISIT and case.reporter is None and case.responsible_unit == geo.offices["W"]
    assert case.caller_name == "李女士" and case.caller_phone_masked == "139****5678"
    assert case.caller_phone_digest == pii.digest(PHONE) and pii.decrypt(case.caller_phone_cipher) == PHONE
    with connection.cursor() as cursor:  # the plain number is in no column of the row
        cursor.execute("SELECT row_to_json(c)::text FROM cases_case c WHERE id = %s", [case.pk])
        assert PHONE not in cursor.fetchone()[0]
    page = browser(desk).get(f"/desk/cases/{case.pk}/").content.decode()
    assert "139****5678" in page and PHONE not in page and "李女士" in page
    assert f'href="/map/?case={case.pk}"' in page


def test_a_retry_with_the_same_client_uuid_makes_one_case(geo):
    desk = client_of(dispatcher(geo.offices["W"]))
    body = intake_body(geo)
    first, second = (desk.post("/api/v1/cases", body, format="json") for _ in range(2))
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"] and Case.objects.count() == 1
    other = desk.post("/api/v1/cases", {**body, "caller_phone": "13800000000"}, format="json")
    assert other.status_code == 409 and Case.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"caller_phone": "12345"}, "caller_phone"),
        ({"category": ""}, "category"),
        ({"lon": 100.0, "lat": 20.0}, "location"),
        ({"source": "pigeon"}, "source"),
    ],
)
def test_bad_intake_names_the_field_and_writes_nothing(geo, change, field):
    response = client_of(dispatcher(geo.offices["W"])).post("/api/v1/cases", intake_body(geo, **change), format="json")
    assert response.status_code == 400 and field in response.content.decode()
    assert not Case.objects.exists()


def test_the_callers_phone_is_revealed_with_a_reason_and_logged(geo):
    desk = dispatcher(geo.offices["W"])
    case = Case.objects.get(pk=client_of(desk).post("/api/v1/cases", intake_body(geo), format="json").json()["id"])
    url = f"/api/v1/cases/{case.pk}/caller/reveal"
    assert client_of(desk).post(url, {"reason": "回访来电人"}, format="json").status_code == 403  # no permission
    desk = with_reveal(desk)
    page = browser(desk).get(f"/desk/cases/{case.pk}/").content.decode()
    assert 'id="caller-reveal"' in page
    assert client_of(desk).post(url, {"reason": ""}, format="json").status_code == 400
    assert not AuditEntry.objects.filter(action=AuditAction.REVEAL).exists()
    response = client_of(desk).post(url, {"reason": "回访来电人"}, format="json")
    assert response.status_code == 200 and response.json() == {"phone": PHONE}
    entry = AuditEntry.objects.get(action=AuditAction.REVEAL)
    assert entry.target == f"cases.case:{case.pk}" and entry.detail["reason"] == "回访来电人"
    east = with_reveal(dispatcher(geo.offices["E"]))
    assert client_of(east).post(url, {"reason": "回访来电人"}, format="json").status_code == 404
    manager = with_reveal(person(Role.MANAGER))
    assert client_of(manager).post(url, {"reason": "回访来电人"}, format="json").status_code == 403
    manager_page = browser(manager).get(f"/desk/cases/{case.pk}/").content.decode()
    assert "李女士" not in manager_page and "139****5678" not in manager_page


def test_the_intake_page_speaks_english_too(geo):
    client = browser(dispatcher(geo.offices["W"]))
    client.cookies["django_language"] = "en"
    page = client.get("/desk/new", headers={"accept-language": "en"}).content.decode()
    assert "Take and save" in page and "Routing preview" in page and "受理并保存" not in page


def test_the_intake_page_is_for_desks_not_managers(geo):
    assert browser(dispatcher(geo.offices["W"])).get("/desk/new").status_code == 200
    assert browser(person(Role.MANAGER)).get("/desk/new").status_code == 403
    assert browser(person(Role.WORKER, grids=[geo.grids["W1"]])).get("/desk/new").status_code == 302


# --- Find by number ------------------------------------------------------------------------------------------------


def test_a_case_number_opens_the_case_only_for_those_who_may_see_it(geo):
    case = report(geo.point("W1", "N"), "SJ0101", source=Source.HOTLINE)
    west, east = browser(dispatcher(geo.offices["W"])), browser(dispatcher(geo.offices["E"]))
    response = west.post("/desk/find", {"q": case.number.lower().replace("-", "")})
    assert response.status_code == 302 and response["Location"] == f"/desk/cases/{case.pk}/"
    hidden = east.post("/desk/find", {"q": case.number})
    missing = east.post("/desk/find", {"q": "XQ-20000101-99999"})
    assert hidden.status_code == missing.status_code == 404

    def message(response):
        return re.search(r'id="find-message"[^>]*>([^<]+)<', response.content.decode()).group(1)

    assert message(hidden) == message(missing)
    assert west.post("/desk/find", {"q": "垃圾"}).status_code == 400
    assert west.get("/desk/find?q=" + case.number).status_code == 200  # the form; a query string finds nothing


def resident(geo: Geography):
    point = geo.point("W1", "N")
    building = BuildingFactory(footprint=square(point.x, point.y, 0.0003), name="7栋", address="西街道7号")
    return PersonFactory(household=HouseholdFactory(building=building), name="王芳")


def test_an_id_number_finds_the_resident_masked_and_the_search_is_logged(geo):
    someone = resident(geo)
    plain = pii.decrypt(someone.id_number_cipher)
    west = browser(dispatcher(geo.offices["W"]))
    response = west.post("/desk/find", {"q": plain})
    page = response.content.decode()
    assert response.status_code == 200 and "王芳" in page and someone.id_number_masked in page and plain not in page
    entry = AuditEntry.objects.get(action=AuditAction.REVEAL)
    assert entry.detail == {"search": "id_number", "term": someone.id_number_masked, "found": [someone.pk]}
    by_phone = west.post("/desk/find", {"q": pii.decrypt(someone.phone_cipher)}).content.decode()
    assert "王芳" in by_phone and pii.decrypt(someone.phone_cipher) not in by_phone
    # Outside the unit's area: not found, and still logged.
    east = browser(dispatcher(geo.offices["E"])).post("/desk/find", {"q": plain}).content.decode()
    assert "王芳" not in east and AuditEntry.objects.filter(action=AuditAction.REVEAL).count() == 3


def test_a_manager_cannot_search_residents(geo):
    someone = resident(geo)
    response = browser(person(Role.MANAGER)).post("/desk/find", {"q": pii.decrypt(someone.id_number_cipher)})
    assert response.status_code == 403 and "王芳" not in response.content.decode()
    assert not AuditEntry.objects.filter(action=AuditAction.REVEAL).exists()


# --- The queue line ------------------------------------------------------------------------------------------------


def test_each_queued_case_says_what_it_waits_for_who_holds_it_and_the_hours_left(geo):
    west = dispatcher(geo.offices["W"])
    case = report(geo.point("W1", "N"), "SJ0101", source=Source.HOTLINE)
    act(case, west, "register")
    page = browser(west).get("/desk/").content.decode()
    line = re.search(r'<td class="waits">([^<]+)</td>', page).group(1)
    assert re.fullmatch(rf"待派遣 · {geo.offices['W'].name} · (剩余|超时) \d+\.\d 工作小时", line), line
    act(case, west, "dispatch", unit=geo.committees["W1"].pk)
    case = Case.objects.select_related("responsible_unit", "assigned_by_unit", "grid").get(pk=case.pk)
    assert case.state == State.DISPATCHED
    assert waits_line(case, 3.46) == f"待处置 · {geo.committees['W1'].name} · 剩余 3.5 工作小时"
    assert waits_line(case, -2.0) == f"待处置 · {geo.committees['W1'].name} · 超时 2.0 工作小时"


def test_a_phone_finds_the_cases_its_caller_reported_among_those_one_may_see(geo):
    west_user = dispatcher(geo.offices["W"])
    response = client_of(west_user).post("/api/v1/cases", intake_body(geo), format="json")
    case = Case.objects.get(pk=response.json()["id"])
    page = browser(west_user).post("/desk/find", {"q": "139-1234-5678"}).content.decode()
    assert f'href="/desk/cases/{case.pk}/"' in page and PHONE not in page and "139****5678" in page
    assert AuditEntry.objects.get(action=AuditAction.REVEAL).detail["cases"] == [case.pk]
    east = browser(dispatcher(geo.offices["E"])).post("/desk/find", {"q": PHONE}).content.decode()
    assert case.number not in east


def test_searches_by_number_are_limited_per_account_and_a_refused_one_is_not_run(geo, settings):
    settings.CONTACT_SEARCHES_PER_HOUR = 2
    someone = resident(geo)
    west = browser(dispatcher(geo.offices["W"]))
    plain = pii.decrypt(someone.id_number_cipher)
    assert [west.post("/desk/find", {"q": plain}).status_code for _ in range(2)] == [200, 200]
    refused = west.post("/desk/find", {"q": plain})
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0 and "王芳" not in refused.content.decode()
    assert AuditEntry.objects.filter(action=AuditAction.REVEAL).count() == 2
    assert browser(dispatcher(geo.offices["W"])).post("/desk/find", {"q": plain}).status_code == 200  # per account
