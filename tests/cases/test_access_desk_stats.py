"""The access matrix (tests/access) on the desk and the statistics, with their classification
(tests/cases/access_endpoints.py): every role, in and out of scope, no leaks."""

import pytest

from tests.access.endpoints import ENDPOINTS
from tests.access.matrix import run_matrix
from tests.access.world import build_world
from tests.cases.access_endpoints import CASES_ENDPOINTS


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def test_desk_and_statistics_as_every_role(db, media):
    world = build_world()
    result = run_matrix(world, {**ENDPOINTS, **CASES_ENDPOINTS}, only=set(CASES_ENDPOINTS))
    problems = [p for p in result.problems if not p.startswith("unclassified endpoint")]
    assert result.endpoints == len(CASES_ENDPOINTS)
    assert not problems, "\n" + "\n".join(problems)
