"""The attempt counters a rate limit books on (gridmgmt/counters.py), without the login lockout's failures."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from gridmgmt import counters
from gridmgmt.counters import Limit

pytestmark = pytest.mark.django_db

MINUTE = timedelta(seconds=60)


def test_a_key_passes_its_limit_in_a_window_and_again_once_the_window_is_over():
    per_key = [Limit("open311-key:1", 3)]
    with time_machine.travel(datetime(2026, 12, 3, 9, 0, tzinfo=UTC), tick=False) as clock:
        assert [counters.book(per_key, window=MINUTE) for _ in range(3)] == [0, 0, 0]
        clock.shift(20)
        assert counters.book(per_key, window=MINUTE) == 40  # the window began with the first attempt
        assert counters.book([Limit("open311-key:2", 3)], window=MINUTE) == 0  # another key counts alone
        clock.shift(40)
        assert counters.book(per_key, window=MINUTE) == 0


def test_the_tightest_of_several_limits_refuses_and_nothing_stays_counted():
    key, address = Limit("open311-key:1", 100), Limit("open311-address:x", 2)
    with time_machine.travel(datetime(2026, 12, 3, 9, 0, tzinfo=UTC), tick=False):
        assert [counters.book([key, address], window=MINUTE) for _ in range(3)] == [0, 0, 60]
        # The refused attempt was given back on both keys: the key alone has used two of its hundred.
        assert [counters.book([Limit("open311-key:1", 3)], window=MINUTE) for _ in range(2)] == [0, 60]
