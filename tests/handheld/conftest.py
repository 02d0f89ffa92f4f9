from tests.maps.conftest import world  # noqa: F401 - the map tests' small world: worker t-worker owns grids[0]
