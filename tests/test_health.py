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


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/api/v1/streets", "/admin/", "/api/mobile/v1/me"])
def test_every_page_answers_503_json_while_the_database_is_down(path):
    from django.test import Client

    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = "a-session-the-database-would-have-to-look-up"
    original = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = "1"
    try:
        response = client.get(path, HTTP_AUTHORIZATION="Token 0123456789abcdef")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = original
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"
    # And it answers again as soon as the database is back.
    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "method, path, body, content_type",
    [
        ("get", "/api/v1/route?lon=101.6&lat=26.6&category=%00BJ", None, None),
        ("post", "/api/v1/cases", '{"category": "\\u0000BJ0101"}', "application/json"),
        ("post", "/api/v1/cases", "category=%00x&lon=101.6", "application/x-www-form-urlencoded"),
    ],
)
def test_a_nul_character_anywhere_is_a_clear_400(client_for, method, path, body, content_type):
    client = client_for("admin")
    kwargs = {"data": body, "content_type": content_type} if body is not None else {}
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == 400
    assert response.json()["code"] == "nul"


@pytest.mark.django_db
def test_percent_zero_zero_in_a_json_body_is_text_not_a_nul(client_for, geo):
    from cases.models import Case
    from grids.models import Role

    point = geo.point("E1", "N")
    description = "横幅写着 100%00 的字样"
    body = {
        "category": "BJ0101",
        "description": description,
        "location": {"type": "Point", "coordinates": [point.x, point.y]},
    }
    response = client_for(Role.DISPATCHER, unit=geo.centre).post("/api/v1/cases", body, format="json")
    assert response.status_code == 201
    assert Case.objects.get().description == description
