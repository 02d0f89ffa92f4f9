"""Co-handling (协办) as work, 督办, escalation that leaves the escalating unit its view, and after-photos at 处置反馈:
the rules at the service and API level (the pages are driven in test_cohandling_browser.py)."""

import time

import pytest
from django.db import transaction

from cases import selectors, services
from cases.models import Case, CaseEvent, CoHandlingTask, State, TaskState
from cases.services import InvalidInput, TransitionRefused
from tests.cases.helpers import act, client_of, dispatcher, fresh, report, uploaded_photo

pytestmark = pytest.mark.django_db

# 施工占道: the street office leads, the police station co-handles, 处置反馈 needs an after-photo.
LEAD_WITH_POLICE = "SJ0305"
NO_PHOTO_NEEDED = "SJ0502"  # 流浪乞讨: the same units, no photo required


@pytest.fixture
def people(geo):
    return {
        "office": dispatcher(geo.offices["W"], username="office-w"),
        "police": dispatcher(geo.police["N"], username="police-n"),
        "centre": dispatcher(geo.centre, username="centre"),
        "other": dispatcher(geo.offices["E"], username="office-e"),
    }


def dispatched(geo, people, code=LEAD_WITH_POLICE) -> Case:
    case = report(geo.point("W1", "N"), code)
    case = act(case, people["office"], "register")
    return act(case, people["office"], "dispatch")


def task_of(case, unit) -> CoHandlingTask:
    return CoHandlingTask.objects.get(case=case, unit=unit)


def move(case, user, action, task, **kwargs) -> Case:
    return act(case, user, action, task=task.pk, **kwargs)


# --- Tasks made at dispatch ---------------------------------------------------------------------


def test_dispatch_gives_each_co_handling_unit_a_task_with_a_due_time_and_an_event(geo, people):
    case = dispatched(geo, people)
    task = task_of(case, geo.police["N"])
    assert task.state == TaskState.OPEN
    assert task.limit_hours == case.category.time_limits["process"]
    assert task.assigned_at < task.yellow_at < task.due_at
    assert selectors.task_light(task) == "green"
    event = CaseEvent.objects.get(case=case, action="cohandle_assign")
    assert event.data["unit"] == geo.police["N"].pk and event.data["task"] == task.pk
    assert event.unit == geo.offices["W"]


def test_dispatching_again_makes_no_second_task_and_a_unit_that_takes_the_lead_has_its_task_released(geo, people):
    case = dispatched(geo, people)
    case = act(case, people["office"], "escalate")
    case = act(case, people["centre"], "dispatch", unit=geo.offices["W"].pk)
    assert CoHandlingTask.objects.filter(case=case).count() == 1
    assert CaseEvent.objects.filter(case=case, action="cohandle_assign").count() == 1

    case = act(case, people["office"], "escalate")
    case = act(case, people["centre"], "dispatch", unit=geo.police["N"].pk)
    assert fresh(case).responsible_unit == geo.police["N"]
    assert task_of(case, geo.police["N"]).state == TaskState.RELEASED
    assert CaseEvent.objects.filter(case=case, action="cohandle_release", data__unit=geo.police["N"].pk).exists()


# --- Feedback, acceptance, sending back, release --------------------------------------------------


def test_the_co_unit_answers_with_note_and_photos_and_the_lead_accepts(geo, people):
    case = dispatched(geo, people)
    task = task_of(case, geo.police["N"])
    photo = uploaded_photo(people["police"])
    version = fresh(case).version
    case = move(case, people["police"], "cohandle_feedback", task, note="已派警力维持秩序", attachments=[photo])
    assert fresh(case).version == version + 1
    task.refresh_from_db()
    assert (task.state, task.feedback_note, task.feedback_photos) == (TaskState.SUBMITTED, "已派警力维持秩序", [photo])
    assert selectors.task_light(task) is None  # the unit owes nothing now
    assert photo in selectors.photos_on_case(case.pk)  # shown on the desk with the case's photos

    case = move(case, people["office"], "cohandle_accept", task, note="收到")
    assert task_of(case, geo.police["N"]).state == TaskState.ACCEPTED
    actions = list(CaseEvent.objects.filter(case=case, action__startswith="cohandle").values_list("action", flat=True))
    assert actions == ["cohandle_assign", "cohandle_feedback", "cohandle_accept"]
    feedback = CaseEvent.objects.get(case=case, action="cohandle_feedback")
    assert feedback.unit == geo.police["N"] and feedback.attachments == [photo]
    assert feedback.data["task_from"] == "open" and feedback.data["task_to"] == "submitted"


def test_the_lead_sends_feedback_back_with_a_reason_and_the_unit_answers_again(geo, people):
    case = dispatched(geo, people)
    task = task_of(case, geo.police["N"])
    case = move(case, people["police"], "cohandle_feedback", task, note="已处理")
    with pytest.raises(InvalidInput) as no_reason:
        move(case, people["office"], "cohandle_return", task)
    assert "note" in no_reason.value.errors
    case = move(case, people["office"], "cohandle_return", task, note="请补充现场照片")
    task.refresh_from_db()
    assert task.state == TaskState.RETURNED and task.decision_note == "请补充现场照片"
    assert selectors.task_light(task) == "green"  # owed again, on the same due time
    case = move(case, people["police"], "cohandle_feedback", task, note="已补充")
    assert task_of(case, geo.police["N"]).state == TaskState.SUBMITTED


@pytest.mark.parametrize(
    ("who", "action"),
    [
        ("office", "cohandle_feedback"),  # feedback is the co-handling unit's
        ("other", "cohandle_feedback"),
        ("police", "cohandle_release"),  # accepting, sending back and releasing are the lead's
        ("other", "cohandle_release"),
    ],
)
def test_only_the_task_s_unit_answers_and_only_the_lead_decides(geo, people, who, action):
    case = dispatched(geo, people)
    task = task_of(case, geo.police["N"])
    before = fresh(case).version
    with pytest.raises(TransitionRefused) as refused:
        move(case, people[who], action, task, note="x")
    assert refused.value.reason == "actor_not_allowed"
    assert task_of(case, geo.police["N"]).state == TaskState.OPEN and fresh(case).version == before


def test_moves_the_table_does_not_allow_from_the_task_s_state_are_refused(geo, people):
    case = dispatched(geo, people)
    task = task_of(case, geo.police["N"])
    with pytest.raises(TransitionRefused) as refused:
        move(case, people["office"], "cohandle_accept", task)  # nothing submitted yet
    assert refused.value.reason == "action_not_allowed"
    with pytest.raises(InvalidInput) as empty:
        move(case, people["police"], "cohandle_feedback", task, note="  ")
    assert "note" in empty.value.errors
    assert task_of(case, geo.police["N"]).state == TaskState.OPEN


def test_feedback_may_cite_only_the_unit_s_own_photos(geo, people):
    case = dispatched(geo, people)
    task = task_of(case, geo.police["N"])
    someone_elses = uploaded_photo(people["other"])
    with pytest.raises(InvalidInput) as refused:
        move(case, people["police"], "cohandle_feedback", task, note="x", attachments=[someone_elses])
    assert "attachments" in refused.value.errors
    assert task_of(case, geo.police["N"]).state == TaskState.OPEN


def test_a_task_of_another_case_is_a_400_through_the_api(geo, people):
    case = dispatched(geo, people)
    other = dispatched(geo, people, code=NO_PHOTO_NEEDED)
    foreign = task_of(other, geo.police["N"])
    body = {"action": "cohandle_feedback", "version": fresh(case).version, "note": "x", "task": foreign.pk}
    response = client_of(people["police"]).post(f"/api/v1/cases/{case.pk}/transitions", body, format="json")
    assert response.status_code == 400 and "task" in response.content.decode()
    body.pop("task")
    response = client_of(people["police"]).post(f"/api/v1/cases/{case.pk}/transitions", body, format="json")
    assert response.status_code == 400 and "task" in response.content.decode()
    assert task_of(other, geo.police["N"]).state == TaskState.OPEN


# --- The lead cannot resolve while a task is open -----------------------------------------------


def test_resolve_is_refused_while_a_task_is_open_and_allowed_after_its_release(geo, people):
    case = dispatched(geo, people, code=NO_PHOTO_NEEDED)
    task = task_of(case, geo.police["N"])
    assert "resolve" not in services.allowed_actions(fresh(case), services.actor_for(people["office"]))
    with pytest.raises(TransitionRefused) as refused:
        act(case, people["office"], "resolve")
    assert refused.value.reason == "cohandling_open" and geo.police["N"].name in refused.value.message
    assert fresh(case).state == State.DISPATCHED

    case = move(case, people["police"], "cohandle_feedback", task, note="已处理")
    with pytest.raises(TransitionRefused):  # submitted is not accepted yet
        act(case, people["office"], "resolve")

    case = move(case, people["office"], "cohandle_release", task, note="不再需要协办")
    release = CaseEvent.objects.get(case=case, action="cohandle_release")
    assert release.note == "不再需要协办" and release.data["task_to"] == "released"
    case = act(case, people["office"], "resolve")
    assert case.state == State.RESOLVED
    with pytest.raises(TransitionRefused):  # the case is no longer worked: tasks do not move
        move(case, people["police"], "cohandle_feedback", task, note="迟到的反馈")


def test_resolve_after_the_lead_accepted_the_feedback(geo, people):
    case = dispatched(geo, people, code=NO_PHOTO_NEEDED)
    task = task_of(case, geo.police["N"])
    case = move(case, people["police"], "cohandle_feedback", task, note="已处理")
    case = move(case, people["office"], "cohandle_accept", task)
    assert act(case, people["office"], "resolve").state == State.RESOLVED


# --- After-photos at 处置反馈 ----------------------------------------------------------------------


def settled(geo, people, code) -> Case:
    case = dispatched(geo, people, code=code)
    return move(case, people["office"], "cohandle_release", task_of(case, geo.police["N"]))


def test_a_category_marked_so_refuses_resolve_without_an_after_photo(geo, people):
    case = settled(geo, people, LEAD_WITH_POLICE)
    assert case.category.after_photo_required
    with pytest.raises(InvalidInput) as refused:
        act(case, people["office"], "resolve")
    assert "attachments" in refused.value.errors and fresh(case).state == State.DISPATCHED
    response = client_of(people["office"]).post(
        f"/api/v1/cases/{case.pk}/transitions", {"action": "resolve", "version": fresh(case).version}, format="json"
    )
    assert response.status_code == 400 and "attachments" in response.content.decode()
    photo = uploaded_photo(people["office"])
    case = act(case, people["office"], "resolve", attachments=[photo])
    assert case.state == State.RESOLVED
    assert CaseEvent.objects.get(case=case, action="resolve").data["after_photos"] == [photo]


def test_other_categories_resolve_without_a_photo(geo, people):
    case = settled(geo, people, NO_PHOTO_NEEDED)
    assert not case.category.after_photo_required
    assert act(case, people["office"], "resolve").state == State.RESOLVED


# --- Escalation keeps the escalating unit's view ----------------------------------------------------


def queue_table(page: str) -> str:
    """The queue's table of a desk page (none when the queue is empty), without the header around it."""
    start = page.find('id="queue"')
    return "" if start < 0 else page[start : page.index("</table>", start)]


def test_the_escalating_unit_keeps_a_read_only_view_of_the_case(geo, people, client):
    case = report(geo.point("W1", "N"), NO_PHOTO_NEEDED)
    case = act(case, people["office"], "register")
    assert not selectors.case_visible(case.pk, people["other"])
    case = act(case, people["office"], "escalate")
    assert case.responsible_unit == geo.centre
    assert selectors.case_visible(case.pk, people["office"])
    assert not selectors.working_cases(people["office"]).filter(pk=case.pk).exists()
    assert services.allowed_actions(fresh(case), services.actor_for(people["office"])) == []
    api = client_of(people["office"]).get(f"/api/v1/cases/{case.pk}")
    assert api.status_code == 200 and api.json()["allowed_actions"] == []

    client.force_login(people["office"])
    page = client.get(f"/desk/cases/{case.pk}/")
    assert page.status_code == 200 and "已上报上级 · 只读" in page.content.decode()
    own_queue = queue_table(client.get("/desk/").content.decode())  # the header's notices may name the case
    escalated_tab = queue_table(client.get("/desk/", {"tab": "escalated"}).content.decode())
    assert case.number not in own_queue and case.number in escalated_tab

    case = act(case, people["centre"], "dispatch", unit=geo.offices["E"].pk)  # progress stays in sight
    escalated_tab = client.get("/desk/", {"tab": "escalated"}).content.decode()
    assert case.number in escalated_tab and geo.offices["E"].name in escalated_tab


def test_an_automatic_escalation_counts_for_the_unit_that_let_the_step_run_out(geo, people):
    case = report(geo.point("W1", "N"), NO_PHOTO_NEEDED)
    case = act(case, people["office"], "register")
    services.apply_transition(case_id=case.pk, actor=services.SYSTEM, action="escalate", version=fresh(case).version)
    assert selectors.case_visible(case.pk, people["office"])


# --- 督办 ---------------------------------------------------------------------------------------------


def test_the_command_centre_supervises_the_handling_unit_and_its_queue_shows_it(geo, people, client):
    case = dispatched(geo, people, code=NO_PHOTO_NEEDED)
    with pytest.raises(TransitionRefused) as refused:
        act(case, people["office"], "supervise", note="自己督办自己")  # the handler cannot
    assert refused.value.reason == "actor_not_allowed"
    with pytest.raises(InvalidInput) as empty:
        act(case, people["centre"], "supervise")
    assert "note" in empty.value.errors
    case = act(case, people["centre"], "supervise", note="请于今日下班前处置完毕")
    event = CaseEvent.objects.get(case=case, action="supervise")
    assert event.data["to_unit"] == geo.offices["W"].pk and event.unit == geo.centre
    assert case.state == State.DISPATCHED

    client.force_login(people["office"])
    row = client.get("/desk/").content.decode()
    assert 'class="tag supervised"' in row
    page = client.get(f"/desk/cases/{case.pk}/").content.decode()
    assert "请于今日下班前处置完毕" in page and 'data-action="supervise"' in page


def test_the_unit_that_dispatched_the_case_on_may_supervise_it(geo, people):
    case = report(geo.point("W1", "N"), NO_PHOTO_NEEDED)
    case = act(case, people["office"], "register")
    case = act(case, people["office"], "dispatch", unit=geo.committees["W1"].pk)
    assert act(case, people["office"], "supervise", note="请尽快").state == State.DISPATCHED


# --- Two dispatchers at once ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_feedback_and_a_resolve_at_the_same_moment_do_not_both_apply(people_tx):
    from tests.cases.test_concurrency import run_threads

    geo, people = people_tx
    case = dispatched(geo, people, code=NO_PHOTO_NEEDED)
    task = task_of(case, geo.police["N"])
    case = move(case, people["police"], "cohandle_feedback", task, note="已处理")
    version = fresh(case).version

    def accept():
        return services.apply_transition(
            case_id=case.pk, actor=people["office"], action="cohandle_accept", version=version, task=task.pk
        )

    def release():
        return services.apply_transition(
            case_id=case.pk, actor=people["centre"], action="cohandle_release", version=version, task=task.pk
        )

    with transaction.atomic():
        Case.objects.select_for_update().get(pk=case.pk)
        threads, results = run_threads(accept, release)
        time.sleep(1.0)
    for thread in threads:
        thread.join(timeout=30)
    refused = [r for r in results if isinstance(r, TransitionRefused)]
    assert len(refused) == 1, results
    assert task_of(case, geo.police["N"]).state in (TaskState.ACCEPTED, TaskState.RELEASED)
    assert CaseEvent.objects.filter(case=case, action__in=["cohandle_accept", "cohandle_release"]).count() == 1


@pytest.fixture
def people_tx(transactional_db):
    from tests.cases.geo import build_geography

    geo = build_geography()
    return geo, {
        "office": dispatcher(geo.offices["W"], username="office-w"),
        "police": dispatcher(geo.police["N"], username="police-n"),
        "centre": dispatcher(geo.centre, username="centre"),
        "other": dispatcher(geo.offices["E"], username="office-e"),
    }


def test_the_case_page_in_english_names_the_tasks_and_their_bars(geo, people, client):
    case = dispatched(geo, people, code=NO_PHOTO_NEEDED)
    client.force_login(people["police"])
    client.cookies["django_language"] = "en"
    page = client.get(f"/desk/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Co-handling tasks" in page and "Awaiting feedback" in page and "Co-handling feedback" in page
    assert "Co-handling (Awaiting feedback)" in page  # the step chart's bar of the police's task
