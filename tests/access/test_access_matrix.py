"""Every endpoint of the URL configuration, called as every role, on objects inside and outside the caller's scope.

The classification is tests/access/endpoints.py; the world tests/access/world.py; the checks tests/access/matrix.py.
A new URL pattern fails this test until it is classified there.
"""

import time

import pytest

from tests.access.matrix import run_matrix
from tests.access.world import build_world


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def test_every_endpoint_as_every_role_in_and_out_of_scope(db, media):
    started = time.monotonic()
    world = build_world()
    result = run_matrix(world)
    print(f"\n{result.summary()} ({time.monotonic() - started:.1f} s)")
    assert not result.problems, "\n" + "\n".join(result.problems)
