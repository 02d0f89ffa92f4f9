import pytest
from django.core.cache import cache

from ogc import selectors
from tests.factories import BuildingFactory, HouseholdFactory, PersonFactory, square

X0, Y0 = 101.60, 26.58  # tests/cases/geo.py: west street 101.60–101.62, east street 101.62–101.64


@pytest.fixture(autouse=True)
def fresh_extents(request):
    """Extents are cached for minutes; each test sees its own data's."""
    if request.node.get_closest_marker("django_db") or {"db", "transactional_db"} & set(request.fixturenames):
        request.getfixturevalue("db")
        cache.delete(selectors.EXTENTS_KEY)


@pytest.fixture
def town(geo):
    """The case geography with seven buildings: four in the west street, three in the east, and residents whose
    names must never appear under /ogc/."""
    buildings = [
        BuildingFactory(code=f"OGC-{n}", footprint=square(X0 + 0.002 + n * 0.005, Y0 + 0.003 + n * 0.004, 0.0005))
        for n in range(7)
    ]
    PersonFactory(household=HouseholdFactory(building=buildings[0]), name="居民哨兵甲")
    return geo, buildings
