"""Escalation, 督办 and co-handling driven through the desk in Chromium, as a street office's dispatcher, a police
station and the district command centre would: the office escalates and keeps a read-only view; `command` dispatches
and supervises; the police answer their co-handling task with a note and a photo; the office sends it back, accepts
it, releases the other unit's task, resolves with an after-photo; a grid worker verifies on the handheld API; the
office closes the case. A photo the server flagged shows its reason. Screenshots go to test-artifacts/."""

import io
import uuid

import pytest
from PIL import ExifTags, Image
from rest_framework.test import APIClient

from cases.models import CaseEvent, Category, CoHandlingTask, RoutingRule, RuleRole, Source, State, TaskState
from grids.models import Role, UnitType
from tests.browser import ARTIFACTS, plain_http_settings
from tests.cases.helpers import act, dispatcher, fresh, person, report

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "cohandle-test-password-1"


def jpeg(colour=(90, 140, 60), *, lon=None, lat=None) -> bytes:
    image = Image.new("RGB", (320, 240), colour)
    exif = Image.Exif()
    if lon is not None:

        def dms(value: float):
            degrees = int(value)
            minutes = int((value - degrees) * 60)
            return (float(degrees), float(minutes), round(((value - degrees) * 60 - minutes) * 60, 3))

        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", dms(lat)
        gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "E", dms(lon)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def upload(name: str, data: bytes) -> dict:
    return {"name": name, "mimeType": "image/jpeg", "buffer": data}


@pytest.fixture
def desks(live_server, chromium, settings, tmp_path):
    """A logged-in page per account; no console error is allowed beyond the refusals the test provokes."""
    settings.MEDIA_ROOT = str(tmp_path)
    errors: list[str] = []
    expected = ["status of 400", "status of 409"]
    contexts = []

    def open_as(username: str):
        context = chromium.new_context(
            base_url=live_server.url, viewport={"width": 1400, "height": 1000}, locale="zh-CN"
        )
        contexts.append(context)
        tab = context.new_page()
        tab.on("console", lambda m: errors.append(f"{username} console: {m.text}") if m.type == "error" else None)
        tab.on("pageerror", lambda e: errors.append(f"{username} pageerror: {e}"))
        tab.goto("/accounts/login/?next=/desk/")
        tab.fill("input[name=username]", username)
        tab.fill("input[name=password]", PASSWORD)
        tab.click("button.primary")
        tab.wait_for_url("**/desk/")
        return tab

    with plain_http_settings():
        yield open_as
        for context in contexts:
            context.close()
    unexpected = [error for error in errors if not any(text in error for text in expected)]
    assert not unexpected, "\n".join(unexpected)


def account(staff_user):
    staff_user.set_password(PASSWORD)
    staff_user.save()
    return staff_user


def shot(tab, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def open_case(tab, case) -> None:
    tab.goto(f"/desk/cases/{case.pk}/")
    tab.wait_for_function("() => document.documentElement.dataset.readyDesk !== undefined")


def act_on_page(tab, action: str, note: str = "") -> None:
    if note:
        tab.fill("#action-note", note)
    with tab.expect_navigation():  # the page reloads with the case as it now is
        tab.click(f"#action-buttons button[data-action={action}]")
    tab.wait_for_selector("#flash:not([hidden])")


def task_row(tab, unit_name: str):
    return tab.locator(f'#cohandling tr[data-unit="{unit_name}"]').first


def task_act(tab, task_id: int, action: str, note: str = "", photo: bytes | None = None) -> None:
    row = tab.locator(f"#cohandling tr.task-actions[data-task='{task_id}']")
    if note:
        row.locator(".task-note").fill(note)
    if photo is not None:
        row.locator(".task-photos").set_input_files(upload("feedback.jpg", photo))
    with tab.expect_navigation():
        row.locator(f"button[data-task-action={action}]").click()
    tab.wait_for_selector("#flash:not([hidden])")


def events(tab) -> list[str]:
    return tab.eval_on_selector_all("#events li", "items => items.map(li => li.dataset.action)")


def test_escalate_dispatch_supervise_co_handle_resolve_verify_close(desks, geo):
    office = account(dispatcher(geo.offices["W"], username="desk-west"))
    account(dispatcher(geo.police["N"], username="police-north"))
    account(dispatcher(geo.centre, username="command"))
    worker = account(person(Role.WORKER, unit=geo.committees["W1"], grids=[geo.grids["W1"]], username="wang"))
    # 施工占道: the street office leads, the police co-handle; a rule adds the district department as well.
    category = Category.objects.get(code="SJ0305")
    RoutingRule.objects.create(category=category, unit_type=UnitType.DEPARTMENT, role=RuleRole.CO_HANDLING)
    case = report(geo.point("W1", "N"), "SJ0305", source=Source.HOTLINE, description="工地围挡占用人行道")
    case = act(case, office, "register")
    police, department = geo.police["N"], geo.department

    # The street office escalates and keeps the case in sight, read-only, under 已上报上级.
    west = desks("desk-west")
    open_case(west, case)
    act_on_page(west, "escalate", "占道范围超出街道协调能力，请区指挥中心协调")
    assert west.inner_text("#case-state") == "已上报上级"
    assert west.is_visible("#follows-only") and west.locator("#action-form").count() == 0
    assert "Not Found" not in west.content()
    west.goto("/desk/")
    assert west.locator(f"#queue tr[data-case='{case.pk}']").count() == 0  # not the office's to work now
    west.click("#queue-tabs a[data-tab=escalated]")
    west.wait_for_selector("#queue")
    assert case.number in west.inner_text("#queue") and geo.centre.name in west.inner_text("#queue")
    shot(west, "cohandle-01-escalated-tab")

    # `command` dispatches it back to the street office; both co-handling units get their tasks.
    command = desks("command")
    open_case(command, case)
    command.select_option("#action-unit", str(geo.offices["W"].pk))
    act_on_page(command, "dispatch", "请清香坪街道牵头处置，派出所协助")
    assert command.inner_text("#case-state") == "已派遣"
    assert task_row(command, police.name).locator(".task-state").inner_text() == "待反馈"
    assert task_row(command, department.name).locator(".task-state").inner_text() == "待反馈"
    act_on_page(command, "supervise", "请今日内清除占道围挡")
    assert "supervise" in events(command)
    shot(command, "cohandle-02-command")

    # The escalating office follows the progress from its tab; the case is back in its own queue, marked 督办.
    west.goto("/desk/")
    row = west.locator(f"#queue tr[data-case='{case.pk}']")
    assert row.locator(".tag.supervised").inner_text() == "督办"
    open_case(west, case)
    assert "请今日内清除占道围挡" in west.inner_text("#events li[data-action=supervise]")
    # Tasks open: no 处置反馈 offered, and the API refuses it.
    assert west.locator("#action-buttons button[data-action=resolve]").count() == 0
    csrf = next(c["value"] for c in west.context.cookies() if c["name"] == "csrftoken")
    refused = west.request.post(
        f"/api/v1/cases/{case.pk}/transitions",
        data={"action": "resolve", "version": fresh(case).version},
        headers={"X-CSRFToken": csrf, "Referer": west.url},
    )
    assert refused.status == 409 and refused.json()["reason"] == "cohandling_open"

    # A grid worker's photo taken 1 km away is flagged by the server; the desk shows why.
    from mobileapi.services import attach_photo

    attach_photo(
        case=fresh(case), data=jpeg((200, 30, 30), lon=geo.point("W1", "N").x + 0.01, lat=geo.point("W1", "N").y),
        kind="before", uploader=worker,
    )  # fmt: skip

    # The police answer with a note and a photo.
    north = desks("police-north")
    open_case(north, case)
    police_task = CoHandlingTask.objects.get(case=case, unit=police)
    assert north.locator(f"#cohandling tr.task-actions[data-task='{police_task.pk}'] button").all_inner_texts() == [
        "协办反馈"
    ]
    task_act(north, police_task.pk, "cohandle_feedback", "已派民警现场疏导交通", jpeg((40, 90, 160)))
    assert task_row(north, police.name).locator(".task-state").inner_text() == "已反馈"
    assert north.locator("#cohandling .task-thumb").count() == 1

    # The office sends it back, the police answer again, the office accepts; it releases the department's task.
    west.reload()
    west.wait_for_function("() => document.documentElement.dataset.readyDesk !== undefined")
    task_act(west, police_task.pk, "cohandle_return", "请说明疏导持续到何时")
    assert task_row(west, police.name).locator(".task-state").inner_text() == "已退回"
    open_case(north, case)
    task_act(north, police_task.pk, "cohandle_feedback", "疏导至围挡拆除完毕")
    open_case(west, case)
    task_act(west, police_task.pk, "cohandle_accept", "收到")
    assert task_row(west, police.name).locator(".task-state").inner_text() == "已验收"
    department_task = CoHandlingTask.objects.get(case=case, unit=department)
    assert west.locator("#action-buttons button[data-action=resolve]").count() == 0  # the department's is open
    task_act(west, department_task.pk, "cohandle_release", "围挡由施工方自行拆除，无需住建协办")
    assert task_row(west, department.name).locator(".task-state").inner_text() == "已解除"
    assert [a for a in events(west) if a.startswith("cohandle")] == [
        "cohandle_assign",
        "cohandle_assign",
        "cohandle_feedback",
        "cohandle_return",
        "cohandle_feedback",
        "cohandle_accept",
        "cohandle_release",
    ]
    # The step chart has a bar per co-handling unit.
    units = west.eval_on_selector_all(
        "#timeline-table tbody tr[data-step=cohandle] td:nth-child(3)", "cells => cells.map(c => c.textContent)"
    )
    assert sorted(units) == sorted([police.name, department.name])
    # The flagged photo is marked with its reason.
    assert "拍摄位置距案发点" in west.inner_text("#photos figure.flagged .flag")
    shot(west, "cohandle-03-tasks-settled")

    # 处置反馈 needs an after-photo for this category: refused without one, done with one.
    west.fill("#action-note", "围挡已拆除，人行道恢复通行")
    west.click("#action-buttons button[data-action=resolve]")
    west.wait_for_selector("#action-error:not([hidden])")
    assert "attachments" in west.inner_text("#action-error")
    assert fresh(case).state == State.DISPATCHED
    west.set_input_files("#action-photos", upload("after.jpg", jpeg((120, 120, 120))))
    with west.expect_navigation():
        west.click("#action-buttons button[data-action=resolve]")
    west.wait_for_selector("#flash:not([hidden])")
    assert west.inner_text("#case-state") == "已处置"
    assert "处置后" in west.inner_text("#photos")
    assert CaseEvent.objects.get(case=case, action="resolve").data["after_photos"]

    # The grid worker verifies on the handheld API; the office closes the case.
    handheld = APIClient()
    token = handheld.post(
        "/api/mobile/v1/auth/token",
        {"username": "wang", "password": PASSWORD, "device_id": "test-device"},
        format="json",
    )
    assert token.status_code in (200, 201), token.content
    handheld.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    body = {"client_uuid": str(uuid.uuid4()), "result": "pass", "note": "人行道已恢复"}
    done = handheld.post(f"/api/mobile/v1/tasks/{case.pk}/complete", body, format="json")
    assert done.status_code == 201, done.content
    open_case(west, case)
    act_on_page(west, "close", "结案")
    assert west.inner_text("#case-state") == "已结案"
    shot(west, "cohandle-04-closed")

    # The escalated tab still shows the case, now closed.
    west.goto("/desk/?tab=escalated&state=all")
    assert case.number in west.inner_text("#queue") and "已结案" in west.inner_text("#queue")
    assert fresh(case).state == State.CLOSED
    assert CoHandlingTask.objects.get(pk=police_task.pk).state == TaskState.ACCEPTED
