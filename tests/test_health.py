import pytest
from django.db import connection


@pytest.mark.django_db
def test_healthz_answers_200_with_postgis_version(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["postgis"].startswith("3.")


@pytest.mark.django_db(transaction=True)
def test_healthz_answers_503_json_when_database_refuses(client, settings):
    # Point the connection at a port where nothing listens, as when PostgreSQL is stopped.
    original = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = "1"
    try:
        response = client.get("/healthz")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = original
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json()["database"] == "down"
