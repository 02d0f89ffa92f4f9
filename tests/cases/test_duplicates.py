"""Likely duplicates: the same category within DUPLICATE_RADIUS_M (50 m) and DUPLICATE_WINDOW_HOURS (72 h) of an
open case; confirmed by merging, which keeps both reporters."""

import math

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.utils import timezone

from cases import selectors
from cases.models import Case, ClosedAs, State
from cases.services import TransitionRefused
from tests.cases.geo import Geography
from tests.cases.helpers import act, client_of, dispatcher, fresh, person, report

pytestmark = pytest.mark.django_db


def east_of(point: Point, metres: float) -> Point:
    return Point(point.x + metres / (111_320 * math.cos(math.radians(point.y))), point.y, srid=4326)


def test_a_report_20_m_away_is_a_likely_duplicate_80_m_is_not(geo: Geography):
    here = geo.point("W1", "N")
    first = report(here, "SJ0101", reporter=person(username="li"))
    near = report(east_of(here, 20), "SJ0101", reporter=person(username="wang"))
    far = report(east_of(here, 80), "SJ0101")
    other_kind = report(east_of(here, 5), "SJ0104")
    assert near.duplicate_of == first
    assert near.events.get(action="report").data["likely_duplicate_of"]["number"] == first.number
    assert far.duplicate_of is None and other_kind.duplicate_of is None
    assert first.duplicate_of is None


def test_radius_window_and_state_decide_what_counts(geo: Geography, settings):
    here = geo.point("E1", "S")
    old = report(here, "SJ0101", received_at=timezone.now() - timezone.timedelta(hours=80))

    def close(case):
        Case.objects.filter(pk=case.pk).update(state=State.CLOSED)

    newer = report(east_of(here, 10), "SJ0101")
    assert newer.duplicate_of is None  # the old case is beyond the 72 h window
    close(newer)
    settings.DUPLICATE_WINDOW_HOURS = 100
    settings.DUPLICATE_RADIUS_M = 5
    narrow = report(east_of(here, 10), "SJ0101")
    assert narrow.duplicate_of is None  # within the window now, but 10 m is beyond a 5 m radius
    close(narrow)
    settings.DUPLICATE_RADIUS_M = 50
    assert report(east_of(here, 10), "SJ0101").duplicate_of == old
    Case.objects.update(state=State.CLOSED)
    assert report(east_of(here, 10), "SJ0101").duplicate_of is None  # nothing open any more


def test_the_nearest_open_original_is_chosen(geo: Geography):
    here = geo.point("E2", "N")
    report(east_of(here, 40), "SJ0101")
    nearest = report(east_of(here, -30), "SJ0101")  # 70 m from the first: not its duplicate
    assert nearest.duplicate_of is None
    assert report(east_of(here, -25), "SJ0101").duplicate_of == nearest


def test_the_duplicate_search_uses_the_geography_index(geo: Geography):
    """With a few thousand cases of many categories spread over the district, the search is an index scan."""
    import random

    from cases.models import Category

    template = report(geo.point("W2", "S"), "SJ0101")
    leaves = list(Category.objects.filter(children__isnull=True))
    rng = random.Random(7)
    clones = []
    for n in range(3000):
        clone = Case(
            **{f.attname: getattr(template, f.attname) for f in Case._meta.concrete_fields if not f.primary_key}
        )
        clone.number = f"XQ-TEST-{n:05d}"
        clone.point = Point(101.60 + rng.random() * 0.04, 26.58 + rng.random() * 0.04, srid=4326)
        clone.category_id = rng.choice(leaves).pk
        clone.client_uuid = None
        clone.received_at = timezone.now() - timezone.timedelta(hours=rng.random() * 24 * 365)
        clones.append(clone)
    Case.objects.bulk_create(clones, batch_size=1000)
    here = geo.point("W2", "S")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cases_case")
        cursor.execute(
            "EXPLAIN " + selectors.DUPLICATE_SQL,
            {
                "category": template.category_id,
                "lon": here.x,
                "lat": here.y,
                "radius": 50,
                "since": timezone.now() - selectors.duplicate_window(),
            },
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "case_point_geog" in plan, plan


def test_merging_closes_the_duplicate_and_keeps_both_reporters(geo: Geography):
    here = geo.point("W1", "N")
    li, wang = person(username="li", grids=[geo.grids["W1"]]), person(username="wang")
    original = report(here, "SJ0101", reporter=li)
    duplicate = report(east_of(here, 20), "SJ0101", reporter=wang)
    office = dispatcher(geo.offices["W"])
    original_version = fresh(original).version
    response = client_of(office).get("/api/v1/cases", {"duplicate": "true"})
    assert [f["properties"]["number"] for f in response.json()["features"]] == [duplicate.number]
    response = client_of(office).post(
        f"/api/v1/cases/{duplicate.pk}/transitions",
        {"action": "merge", "version": duplicate.version, "note": "同一处违建"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "closed" and response.json()["closed_as"] == "merged"
    duplicate, original = fresh(duplicate), fresh(original)
    assert duplicate.state == State.CLOSED and duplicate.closed_as == ClosedAs.MERGED
    assert original.state == State.REPORTED and original.version == original_version + 1
    assert list(original.extra_reporters.all()) == [wang] and original.reporter == li
    assert duplicate.events.last().action == "merge" and duplicate.events.last().data["into"]["id"] == original.pk
    merged_event = original.events.last()
    assert merged_event.action == "merge" and merged_event.data["merged"]["number"] == duplicate.number
    assert merged_event.data["reporters"] == ["wang"]
    # wang now follows the original case too
    assert original.number in {
        f["properties"]["number"] for f in client_of(wang).get("/api/v1/cases").json()["features"]
    }
    detail = client_of(office).get(f"/api/v1/cases/{original.pk}").json()
    assert detail["reporter"] == "li" and detail["extra_reporters"] == ["wang"]


def test_not_a_duplicate_clears_the_mark_and_merge_needs_an_open_original(geo: Geography):
    here = geo.point("E1", "N")
    office = dispatcher(geo.offices["E"])
    original = report(here, "SJ0101")
    duplicate = report(east_of(here, 10), "SJ0101")
    duplicate = act(duplicate, office, "not_duplicate", note="两处不同的违建")
    assert duplicate.duplicate_of is None and duplicate.state == State.REPORTED
    with pytest.raises(TransitionRefused) as refused:
        act(duplicate, office, "not_duplicate")
    assert refused.value.reason == "not_marked_duplicate"
    # an explicit target works too, but not into a closed case
    act(original, office, "register")
    act(original, office, "reject", note="已拆除")
    with pytest.raises(TransitionRefused) as refused:
        act(duplicate, office, "merge", target=original.pk)
    assert refused.value.reason == "merge_target_closed"
    assert fresh(duplicate).state == State.REPORTED
