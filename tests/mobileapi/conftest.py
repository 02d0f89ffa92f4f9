from tests.cases.conftest import fast_password_hashing, geo, reference_data  # noqa: F401 - shared fixtures
