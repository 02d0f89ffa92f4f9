# The maps' small world (a street, communities, grids, buildings and accounts) for the exports page.
from tests.maps.conftest import world  # noqa: F401
