"""Every endpoint that takes a date window or a page size refuses past its bound with a 400 naming the limit."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("path", "field", "limit"),
    [
        ("/api/v1/streets?page_size=5001", "page_size", "5000"),
        ("/api/v1/buildings?page_size=5001", "page_size", "5000"),
        ("/api/v1/cases?page_size=1001", "page_size", "1000"),
        ("/api/v1/stats/summary?from=2020-01-01", "from", "1098"),
        ("/api/v1/stats/trend?from=2020-01-01&to=2024-06-30", "from", "1098"),
        ("/api/v1/dashboard/summary?date_from=2020-01-01", "date_from", "1098"),
        ("/api/v1/grid-figures?date_from=2021-01-01&date_to=2024-12-31", "date_from", "1098"),
    ],
)
def test_past_the_bound_is_a_400_naming_the_limit(client_for, path, field, limit):
    response = client_for("manager").get(path)
    assert response.status_code == 400, response.content[:300]
    assert limit in str(response.json()["errors"][field]), response.json()


def test_the_longest_allowed_windows_are_answered(client_for):
    manager = client_for("manager")
    assert manager.get("/api/v1/stats/summary?from=2022-01-02&to=2024-12-31").status_code == 200
    assert manager.get("/api/v1/dashboard/summary?date_from=2022-01-02&date_to=2024-12-31").status_code == 200
