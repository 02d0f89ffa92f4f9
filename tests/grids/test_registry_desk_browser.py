"""The registry queue on a phone-sized screen (390×844, touch) in Debian's Chromium: a worker's request sent over
the handheld API is approved at the desk, and the building's households then show the person, masked."""

import json
import uuid
from datetime import timedelta

import pytest

from grids import pii
from grids.models import Person
from mobileapi.models import AccessToken
from tests.browser import ARTIFACTS, plain_http_settings
from tests.cases.helpers import dispatcher, person
from tests.factories import BuildingFactory, HouseholdFactory, fake_id_number, square

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "desk-test-password-1"
NEW_ID = fake_id_number(124, birth="19900215")


@pytest.fixture
def phone(live_server, chromium):
    errors: list[str] = []
    with plain_http_settings():
        context = chromium.new_context(
            base_url=live_server.url,
            viewport={"width": 390, "height": 844},
            is_mobile=True,
            has_touch=True,
            device_scale_factor=2,
            locale="zh-CN",
        )
        tab = context.new_page()
        tab.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
        tab.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
        yield tab
        context.close()
    assert not errors, "\n".join(errors)


def shot(tab, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def fits_the_screen(tab) -> bool:
    """Nothing wider than the phone (a mobile browser would otherwise widen its layout viewport to the page)."""
    return tab.evaluate("document.documentElement.scrollWidth <= 390")


def test_a_committee_approves_a_new_person_on_a_phone(phone, geo):
    building = BuildingFactory(footprint=square(101.604, 26.589, 0.0003), name="攀钢2栋")
    household = HouseholdFactory(building=building, unit_no="1", floor=3, room="301")
    worker = person(grids=[geo.grids["W1"]], username="wang")
    _token, key = AccessToken.issue(user=worker, device_id="phone", lifetime=timedelta(hours=1))
    desk = dispatcher(geo.committees["W1"], username="w1-desk")
    desk.set_password(PASSWORD)
    desk.save()

    request = {
        "client_uuid": str(uuid.uuid4()),
        "kind": "add_person",
        "building": building.pk,
        "household": household.pk,
        "captured_at": "2026-12-01T09:30:00+08:00",
        "proposed": {
            "name": "李娟",
            "sex": "F",
            "birth_date": "1990-02-15",
            "id_number": NEW_ID,
            "phone": "13912345678",
            "residency": "floating",
        },
    }
    api = phone.context.request
    sent = api.post(
        "/api/mobile/v1/registry-changes",
        data=json.dumps(request),
        headers={"Authorization": f"Token {key}", "Content-Type": "application/json"},
    )
    assert sent.status == 201, sent.text()

    phone.goto("/accounts/login/?next=/desk/")
    phone.fill("input[name=username]", "w1-desk")
    phone.fill("input[name=password]", PASSWORD)
    phone.click("button.primary")
    phone.wait_for_url("**/desk/")
    phone.click("#menu a[data-page=registry]")
    phone.wait_for_url("**/desk/registry/")
    card = phone.locator("article.change")
    assert card.count() == 1 and phone.inner_text("#pending-count") == "1"
    assert "新增人员" in card.inner_text() and "攀钢2栋" in card.inner_text()
    assert pii.mask_id_number(NEW_ID) in card.inner_text() and NEW_ID not in phone.content()
    assert fits_the_screen(phone)
    approve = card.locator("button.approve")
    box = approve.bounding_box()
    assert box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= 390
    shot(phone, "registry-01-pending")

    card.locator("textarea[name=note]").fill("已入户核实")
    approve.tap()
    phone.wait_for_selector(".flash.success")
    assert "已通过" in phone.inner_text(".flash.success")
    assert phone.locator("article.change").count() == 0 and phone.inner_text("#pending-count") == "0"
    shot(phone, "registry-02-approved")
    phone.click("text=已处理")
    assert "已入户核实" in phone.inner_text("article.change") and fits_the_screen(phone)

    added = Person.objects.get(household=household)
    households = api.get(
        f"/api/v1/buildings/{building.pk}/households", headers={"Authorization": f"Token {key}"}
    ).json()
    assert households[0]["people"] == [
        {
            "id": added.pk,
            "name": "李娟",
            "sex": "F",
            "age": households[0]["people"][0]["age"],
            "relation": "",
            "residency": "floating",
            "care_tags": [],
            "id_number": pii.mask_id_number(NEW_ID),
            "phone": "139****5678",
        }
    ]
