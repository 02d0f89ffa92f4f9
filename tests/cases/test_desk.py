"""The dispatcher desk (/desk/) with Django's test client: who may open it, the unit's queue and its filters, a
case page with only the actions this user may take, its photos and the timeline of its steps."""

import io
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image

from cases import services
from cases.desk_views import NOT_AT_DESK, PAGE_SIZE, timeline
from cases.models import Case, CaseEvent, Source
from grids.models import Role
from tests.cases.geo import Geography
from tests.cases.helpers import act, dispatcher, person, report, resolve, uploaded_photo

pytestmark = pytest.mark.django_db


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def listed(response) -> list[str]:
    return re.findall(r'<tr data-case="\d+"[^>]*>.*?>(XQ-\d{8}-\d{5})</a>', response.content.decode(), re.S)


def buttons(response) -> set[str]:
    return set(re.findall(r'<button type="button" data-action="([a-z_]+)"', response.content.decode()))


@pytest.fixture
def desk(geo: Geography):
    """Dispatchers of the west street office and the east one, a committee, the command centre, a manager, a
    worker; cases in both streets."""
    people = {
        "west": dispatcher(geo.offices["W"], username="desk-w"),
        "east": dispatcher(geo.offices["E"], username="desk-e"),
        "committee": dispatcher(geo.committees["W1"], username="desk-w1"),
        "centre": dispatcher(geo.centre, username="centre"),
        "manager": person(Role.MANAGER, unit=geo.centre, username="boss"),
        "worker": person(grids=[geo.grids["W1"]], username="wang"),
    }
    cases = {
        "west": report(geo.point("W1", "N"), "SJ0101", reporter=people["worker"]),  # 私搭乱建 → west office
        "west_grid2": report(geo.point("W2", "S"), "SH0105"),  # 土地房屋纠纷, level 3 → west office
        "east": report(geo.point("E1", "N"), "SJ0101", source=Source.HOTLINE),  # → east office
        "garbage": report(geo.point("W1", "S"), "SJ0102"),  # 暴露垃圾, level 1 → committee W1
    }
    return {"geo": geo, "people": people, "cases": cases}


# --- Who may open the desk ------------------------------------------------------------------------------


def test_login_required(desk):
    response = Client().get("/desk/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=/desk/")


def test_workers_go_to_their_phone_app_and_accounts_without_a_role_are_refused(desk):
    assert browser(desk["people"]["worker"]).get("/desk/")["Location"] == "/m/"
    from django.contrib.auth import get_user_model

    nobody = get_user_model().objects.create_user("nobody", password="x-long-password-1")
    assert browser(nobody).get("/desk/").status_code == 403


# --- The queue ----------------------------------------------------------------------------------------


def test_a_dispatcher_sees_the_queue_of_their_unit_only(desk):
    cases = desk["cases"]
    response = browser(desk["people"]["west"]).get("/desk/")
    assert response.status_code == 200
    numbers = listed(response)
    assert cases["west"].number in numbers and cases["west_grid2"].number in numbers
    assert cases["east"].number not in numbers  # another unit's case is not listed
    assert cases["garbage"].number not in numbers  # the committee's
    assert "共 2 件" in response.content.decode()
    east = listed(browser(desk["people"]["east"]).get("/desk/"))
    assert east == [cases["east"].number]


def test_the_command_centre_and_managers_see_every_case(desk):
    for who in ("centre", "manager"):
        numbers = listed(browser(desk["people"][who]).get("/desk/"))
        assert len(numbers) == 4, who


def test_co_handled_cases_are_listed_and_marked(desk):
    geo = desk["geo"]
    case = report(geo.point("E2", "N"), "SJ0303")  # 道路遗撒: east office, co-handled by the north police station
    police = dispatcher(geo.police["N"], username="police-n")
    response = browser(police).get("/desk/")
    assert listed(response) == [case.number]
    assert "协办" in response.content.decode()


def test_filters(desk):
    geo, cases, client = desk["geo"], desk["cases"], browser(desk["people"]["centre"])
    west, grid2 = cases["west"], cases["west_grid2"]
    act(west, desk["people"]["west"], "register")

    def numbers(**params):
        response = client.get("/desk/", params)
        assert response.status_code == 200
        return set(listed(response))

    assert numbers(state="registered") == {west.number}
    assert numbers(state="reported") == {grid2.number, cases["east"].number, cases["garbage"].number}
    assert numbers(category="SJ0102") == {cases["garbage"].number}
    assert numbers(category="SJ01") == {west.number, cases["east"].number, cases["garbage"].number}  # a group
    assert numbers(level="1") == {cases["garbage"].number}
    assert numbers(street=geo.streets["E"].code) == {cases["east"].number}
    assert numbers(grid=geo.grids["W2"].code) == {grid2.number}
    today = timezone.localdate()
    assert len(numbers(**{"from": today.isoformat(), "to": today.isoformat()})) == 4
    assert numbers(**{"to": (today - timedelta(days=1)).isoformat()}) == set()
    # Lights: let the west case's step run out.
    Case.objects.filter(pk=west.pk).update(
        step_deadline_at=timezone.now() - timedelta(hours=1), step_yellow_at=timezone.now() - timedelta(hours=2)
    )
    assert numbers(light="red") == {west.number}
    assert west.number not in numbers(light="green")
    # Closed cases leave the default (open) queue but stay under 全部.
    Case.objects.filter(pk=grid2.pk).update(state="closed", step_deadline_at=None, step_yellow_at=None)
    assert grid2.number not in numbers()
    assert grid2.number in numbers(state="all")
    # Red first.
    assert listed(client.get("/desk/"))[0] == west.number
    # A bad value is ignored with a message, not a 500.
    response = client.get("/desk/", {"level": "9", "category": "XX99"})
    assert response.status_code == 200 and "已忽略无效的筛选条件" in response.content.decode()


def test_pages(desk):
    geo = desk["geo"]
    for i in range(PAGE_SIZE + 3):
        report(geo.point("W2", "N"), "SH0105", description=f"第{i}件")
    client = browser(desk["people"]["west"])
    first = client.get("/desk/")
    assert len(listed(first)) == PAGE_SIZE and 'rel="next"' in first.content.decode()
    second = client.get("/desk/", {"page": 2})
    assert len(listed(second)) == 5 and not set(listed(first)) & set(listed(second))
    assert client.get("/desk/", {"page": 99}).status_code == 200  # the last page


# --- A case ----------------------------------------------------------------------------------------


def test_the_case_page_offers_only_the_actions_this_user_may_take(desk):
    people, case = desk["people"], desk["cases"]["west"]
    response = browser(people["west"]).get(f"/desk/cases/{case.pk}/")
    assert response.status_code == 200
    expected = set(services.allowed_actions(case, services.actor_for(people["west"]))) - NOT_AT_DESK
    assert buttons(response) == expected
    assert {"register", "reject"} <= expected and "dispatch" not in expected and "close" not in expected
    assert f'data-version="{case.version}"' in response.content.decode()
    # After registering, dispatch is offered with the units it may go to (the office and the committees below).
    case = act(case, people["west"], "register")
    response = browser(people["west"]).get(f"/desk/cases/{case.pk}/")
    assert "dispatch" in buttons(response) and "register" not in buttons(response)
    page = response.content.decode()
    assert (
        desk["geo"].committees["W1"].name in page
        and desk["geo"].committees["E1"].name not in page.split('id="action-unit"')[1].split("</select>")[0]
    )


def test_another_units_case_is_not_found(desk):
    east = desk["cases"]["east"]
    assert browser(desk["people"]["west"]).get(f"/desk/cases/{east.pk}/").status_code == 404
    assert browser(desk["people"]["west"]).get("/desk/cases/999999/").status_code == 404


def test_managers_read_only_but_may_evaluate_a_closed_case(desk):
    people, case = desk["people"], desk["cases"]["west"]
    manager = browser(people["manager"])
    response = manager.get(f"/desk/cases/{case.pk}/")
    assert response.status_code == 200 and buttons(response) == set()
    assert "当前没有您可以执行的操作" in response.content.decode()
    for user, action in [
        (people["west"], "register"),
        (people["west"], "dispatch"),
        (people["west"], "resolve"),
        (people["worker"], "verify"),
        (people["west"], "close"),
    ]:
        case = resolve(case, user) if action == "resolve" else act(case, user, action)
    assert buttons(manager.get(f"/desk/cases/{case.pk}/")) == {"evaluate"}


def test_the_timeline_has_each_step_with_its_unit_and_time(desk):
    geo, people, case = desk["geo"], desk["people"], desk["cases"]["west"]
    client = browser(people["west"])

    def rows():
        response = client.get(f"/desk/cases/{case.pk}/")
        page = response.content.decode()
        assert 'id="timeline-table"' in page, (
            response.status_code,
            case.pk,
            case.responsible_unit,
            Case.objects.values_list("pk", "responsible_unit__name"),
        )
        table = page.split('id="timeline-table"')[1].split("</table>")[0]
        return re.findall(r'<tr data-step="(\w+)"', table), page

    steps, page = rows()
    assert steps == ["register"] and "进行中" in page
    case = act(case, people["west"], "register")
    case = act(case, people["west"], "dispatch", unit=geo.committees["W1"].pk)
    steps, page = rows()
    assert steps == ["register", "dispatch", "process", "cohandle"]  # the department's co-handling task too
    segments = timeline(case, list(case.events.all()))
    assert [s.unit_name for s in segments] == [
        geo.offices["W"].name,
        geo.offices["W"].name,
        geo.committees["W1"].name,
        geo.department.name,
    ]
    assert segments[0].on_time is True and segments[0].hours is not None and not segments[0].running
    assert segments[2].running and segments[2].limit_hours == case.category.time_limits["process"]
    assert segments[3].running and segments[3].label == "协办（待反馈）"
    # A suspension is a bar of its own.
    committee = people["committee"]
    case = act(case, committee, "suspend")
    case = act(case, committee, "resume")
    keys = [s.key for s in timeline(case, list(case.events.all()))]
    assert keys == ["register", "dispatch", "process", "cohandle", "suspended"]
    assert '"segments"' in client.get(f"/desk/cases/{case.pk}/").content.decode()  # the chart's data


def test_photos_are_thumbnails_from_the_events(desk, settings, tmp_path):
    from mobileapi.services import attach_photo

    settings.MEDIA_ROOT = str(tmp_path)
    people, case = desk["people"], desk["cases"]["west"]
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (120, 160, 90)).save(buffer, format="JPEG")
    attached, _created = attach_photo(case=case, data=buffer.getvalue(), kind="before", uploader=people["worker"])
    act(case, people["west"], "comment", attachments=[attached.photo.sha256])  # cited again: shown once
    # written before attachments were checked: a reference with no stored photo, a photo not on the case
    others = uploaded_photo(people["committee"])
    CaseEvent.objects.create(case=case, actor=people["west"], action="comment", attachments=["f" * 64, others])
    page = browser(people["west"]).get(f"/desk/cases/{case.pk}/").content.decode()
    photos = page.split('id="photos"')[1].split("</div>")[0]
    assert photos.count(f"/api/v1/case-photos/{attached.photo.sha256}?thumb=1") == 1
    assert "f" * 64 not in photos and others not in photos
    thumb = browser(people["west"]).get(f"/api/v1/case-photos/{attached.photo.sha256}?thumb=1")
    assert thumb.status_code == 200


def test_english(desk):
    client = browser(desk["people"]["west"])
    client.cookies["django_language"] = "en"
    page = client.get("/desk/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<h1>Desk" in page and "Responsible unit" in page
    case = desk["cases"]["west"]
    page = client.get(f"/desk/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Steps and responsible units" in page and "Registration" in page
