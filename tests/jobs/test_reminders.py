"""Reminders on the real schedule (Celery beat and worker on this machine's Redis): a 督办 whose time limit passes
unanswered reminds the unit holding the case once, and a case whose light turns yellow, then red, tells its unit
once per change of light, however often the schedule runs."""

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from cases.models import Case
from notices.models import Kind, Notification
from notices.selectors import text_of
from tests import live
from tests.cases.geo import Geography
from tests.cases.helpers import act, dispatcher, report

pytestmark = pytest.mark.django_db(transaction=True)
NO_PHOTO_NEEDED = "SJ0502"  # 流浪乞讨


def dispatched(geo: Geography, office, grid: str) -> Case:
    case = report(geo.point(grid, "N"), NO_PHOTO_NEEDED)
    case = act(case, office, "register")
    return act(case, office, "dispatch")


def notices(kind: str, case: Case) -> list[Notification]:
    return list(Notification.objects.filter(kind=kind, case=case))


def test_the_schedule_reminds_of_a_supervision_left_unanswered_and_of_lights_once_each(geo: Geography):
    office, centre = dispatcher(geo.offices["W"], username="office-w"), dispatcher(geo.centre, username="centre")
    ignored, answered, lit = (dispatched(geo, office, grid) for grid in ("W1", "W2", "W1"))
    due = timezone.now() + timedelta(seconds=4)
    act(ignored, centre, "supervise", note="请今日处置完毕", due_at=due)
    act(answered, centre, "supervise", note="请今日处置完毕", due_at=due)
    act(answered, office, "comment", note="已安排网格员处置")  # the unit answers before the time limit
    now = timezone.now()
    Case.objects.filter(pk=lit.pk).update(  # the clock moved on: 90 % of the step's time gone
        step_yellow_at=now - timedelta(minutes=1), step_deadline_at=now + timedelta(hours=1)
    )
    db_url = live.database_url()
    schedule = {"ESCALATE_EVERY_SECONDS": "1"}
    with live.celery("worker", db_url=db_url, **schedule), live.celery("beat", db_url=db_url, **schedule):
        assert live.wait_for(lambda: notices(Kind.SUPERVISE_DUE, ignored), seconds=60)
        assert live.wait_for(lambda: notices(Kind.YELLOW, lit), seconds=60)
        now = timezone.now()
        Case.objects.filter(pk=lit.pk).update(step_deadline_at=now - timedelta(seconds=1))  # and past its limit
        assert live.wait_for(lambda: notices(Kind.OVERDUE, lit), seconds=60)
        threading.Event().wait(4)  # the schedule runs on, several times
    (reminder,) = notices(Kind.SUPERVISE_DUE, ignored)
    assert reminder.recipient_unit == geo.offices["W"]
    limit = f"{timezone.localtime(due):%Y-%m-%d %H:%M}"
    assert f"案件 {ignored.number} 的督办已到限期（{limit}）" in text_of(reminder, "zh")
    assert "time limit" in text_of(reminder, "en")
    assert notices(Kind.SUPERVISE_DUE, answered) == []
    assert [n.recipient_unit for n in notices(Kind.YELLOW, lit)] == [geo.offices["W"]]
    assert [n.recipient_unit for n in notices(Kind.OVERDUE, lit)] == [geo.offices["W"]]
