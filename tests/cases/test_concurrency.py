"""Races between database connections: each thread has its own connection and closes it at the end."""

import threading
import time
import uuid

import pytest
from django.db import connection, transaction

from cases import services
from cases.models import Case, CaseEvent, Category, State
from tests.cases.geo import build_geography
from tests.cases.helpers import client_of, dispatcher, report

pytestmark = pytest.mark.django_db(transaction=True)


def run_threads(*targets) -> list:
    """Run each callable in its own thread (own connection); return their results or exceptions, in order."""
    results: list = [None] * len(targets)

    def runner(index, target):
        try:
            results[index] = target()
        except Exception as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i, target)) for i, target in enumerate(targets)]
    for thread in threads:
        thread.start()
    return threads, results


def test_two_conflicting_actions_from_two_connections_apply_exactly_once():
    geo = build_geography()
    case = report(geo.point("W1", "N"), "SJ0101")
    office, centre = dispatcher(geo.offices["W"]), dispatcher(geo.centre)

    def post(user, action):
        return lambda: (
            client_of(user)
            .post(f"/api/v1/cases/{case.pk}/transitions", {"action": action, "version": 1}, format="json")
            .status_code
        )

    # Hold the case row so that both requests are inside their transactions, waiting on the same lock.
    with transaction.atomic():
        Case.objects.select_for_update().get(pk=case.pk)
        threads, results = run_threads(post(office, "register"), post(centre, "reject"))
        time.sleep(1.0)
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [200, 409], results
    after = Case.objects.get(pk=case.pk)
    assert after.version == 2
    assert after.state in (State.REGISTERED, State.REJECTED)
    assert CaseEvent.objects.filter(case=case).exclude(action="report").count() == 1


def test_case_numbers_stay_unique_and_gapless_under_concurrent_intake():
    geo = build_geography()
    category = Category.objects.get(code="SJ0104")

    def make_five():
        made = []
        for _ in range(5):
            case, _created = services.create_case(
                category=category, point=geo.point("E1", "S"), description="并发", source="desk"
            )
            made.append(case.number)
        return made

    threads, results = run_threads(*[make_five for _ in range(6)])
    for thread in threads:
        thread.join(timeout=60)
    numbers = [number for result in results for number in result]
    assert len(numbers) == 30 and len(set(numbers)) == 30, results
    assert sorted(int(number.rsplit("-", 1)[1]) for number in numbers) == list(range(1, 31))


def test_concurrent_retries_with_one_client_uuid_make_one_case():
    geo = build_geography()
    key = uuid.uuid4()
    category = Category.objects.get(code="SJ0102")

    def submit():
        case, created = services.create_case(
            category=category,
            point=geo.point("W2", "S"),
            description="重试",
            source="handheld",
            client_uuid=key,
        )
        return case.pk, created

    threads, results = run_threads(*[submit for _ in range(5)])
    for thread in threads:
        thread.join(timeout=60)
    assert not [result for result in results if isinstance(result, Exception)], results
    assert len({pk for pk, _created in results}) == 1
    assert sum(created for _pk, created in results) == 1
    assert Case.objects.filter(client_uuid=key).count() == 1
