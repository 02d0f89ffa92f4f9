# The maps' small world (a street, communities, grids, buildings and accounts) for the exports page.
# 西区 with two grids, for the import jobs.
from tests.grids.test_import import town  # noqa: F401
from tests.maps.conftest import world  # noqa: F401
