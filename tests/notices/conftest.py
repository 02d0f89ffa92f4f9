from tests.cases.conftest import geo, reference_data  # noqa: F401  (the case tests' geography and reference data)
