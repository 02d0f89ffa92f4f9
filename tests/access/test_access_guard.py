"""The access matrix fails on a deliberately unscoped endpoint: first as unclassified, then, once classified
naively (200 for everyone), with a leak naming the endpoint and every role it leaks to."""

import pytest
from django.urls import clear_url_caches

from tests.access.endpoints import ENDPOINTS, Call, Endpoint, const, expect
from tests.access.leaky_urls import LEAKY_ROUTE
from tests.access.matrix import run_matrix, url_routes
from tests.access.world import ROLES, build_world


@pytest.fixture
def leaky_urlconf(settings):
    settings.ROOT_URLCONF = "tests.access.leaky_urls"
    clear_url_caches()
    yield
    clear_url_caches()


@pytest.fixture
def world(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return build_world()


def test_a_new_endpoint_fails_until_it_is_classified(leaky_urlconf, world):
    assert LEAKY_ROUTE in url_routes()
    result = run_matrix(world, only=set())  # classification only: no calls
    assert result.problems == [
        f"unclassified endpoint {LEAKY_ROUTE!r}: add it to tests/access/endpoints.py "
        "(how to call it, what each role gets)"
    ]


def test_a_naively_classified_unscoped_endpoint_fails_with_leaks(leaky_urlconf, world):
    naive = {**ENDPOINTS, LEAKY_ROUTE: Endpoint([Call(const(f"/{LEAKY_ROUTE}"), expect(200))])}
    result = run_matrix(world, naive, only={LEAKY_ROUTE})
    print(f"\n{result.summary()}")
    assert result.calls == len(ROLES) and result.leaks > 0
    assert all(problem.startswith(f"LEAK GET /{LEAKY_ROUTE} [{LEAKY_ROUTE}]") for problem in result.problems)

    def leaks_of(role: str) -> list[str]:
        return [problem for problem in result.problems if f" as {role} " in problem]

    for role in ("worker", "dispatcher", "police"):  # names of residents outside their scope
        assert any("out-of-scope resident canary '居民E2S甲哨兵'" in leak for leak in leaks_of(role)), role
    for role in ("manager", "anonymous"):  # any resident's name at all
        assert any("resident data '居民W1N甲哨兵' shown to a" in leak for leak in leaks_of(role)), role
    for role in ROLES:  # full ID numbers, even to the administrator
        assert any(f"full ID number {world.id_numbers[0]}" in leak for leak in leaks_of(role)), role
    # The command centre and the administrator may see every name: only the ID numbers are leaks for them.
    for role in ("centre", "admin"):
        assert all("full ID number" in leak for leak in leaks_of(role)), role
