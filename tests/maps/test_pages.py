"""Login, the menu each role sees, `/` per role, and pages served without any CDN."""

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def menu_of(html: str) -> list[str]:
    nav = re.search(r'<nav class="menu".*?</nav>', html, re.S).group(0)
    return re.findall(r'data-page="([a-z]+)"', nav)


def test_login_page_is_chinese_first_with_an_english_switch(client):
    page = client.get("/accounts/login/").content.decode()
    assert "登录" in page and "网格化管理系统" in page
    assert 'action="/i18n/setlang/"' in page and 'value="en"' in page
    client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    english = client.get("/accounts/login/").content.decode()
    assert "Log in" in english and "Grid Management System" in english


def test_root_sends_each_role_to_its_page(world, client):
    assert client.get("/")["Location"].startswith("/accounts/login/")
    expected = {"worker": "/map/", "dispatcher": "/map/", "manager": "/dashboard/", "admin": "/map/"}
    for role, url in expected.items():
        assert logged_in(world.accounts[role]).get("/")["Location"] == url, role


def test_menu_shows_each_role_only_its_pages(world):
    expected = {
        "worker": ["map", "public"],
        "dispatcher": ["map", "public"],
        "manager": ["map", "dashboard", "public"],
        "admin": ["map", "dashboard", "public", "admin"],
    }
    for role, pages in expected.items():
        response = logged_in(world.accounts[role]).get("/map/")
        assert response.status_code == 200, role
        assert menu_of(response.content.decode()) == pages, role
    assert logged_in(world.accounts["worker"]).get("/dashboard/").status_code == 403
    assert logged_in(world.accounts["dispatcher"]).get("/dashboard/").status_code == 403
    assert logged_in(world.accounts["manager"]).get("/dashboard/").status_code == 200
    assert Client().get("/map/")["Location"].startswith("/accounts/login/")
    assert Client().get("/public/").status_code == 200


def test_map_layers_per_role(world):
    def layers(role):
        html = logged_in(world.accounts[role]).get("/map/").content.decode()
        return re.findall(r'data-layer="([a-z]+)"', html)

    assert layers("worker") == ["streets", "communities", "grids", "buildings", "cases"]
    assert "precincts" in layers("dispatcher") and "buildings" in layers("dispatcher")
    assert "buildings" not in layers("manager") and "precincts" in layers("manager")


def test_pages_load_only_from_our_own_server(world):
    for role, url in (("dispatcher", "/map/"), ("manager", "/dashboard/"), ("manager", "/public/")):
        html = logged_in(world.accounts[role]).get(url).content.decode()
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert sources
        for source in sources:
            assert source.startswith(("/", "#", "data:")), source


def test_logout(world):
    client = logged_in(world.accounts["worker"])
    response = client.post("/logout/")
    assert response["Location"] == "/accounts/login/"
    assert client.get("/map/").status_code == 302
