"""The app's own files: page, manifest and service worker, served without login and without inline code."""

import json
import re

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


def served(client, url: str) -> bool:
    """A page of the app answers 200; a static file exists for the static files' finders (the test client does not
    serve /static/)."""
    if url.startswith(settings.STATIC_URL):
        return finders.find(url.removeprefix(settings.STATIC_URL)) is not None
    return client.get(url).status_code == 200


def test_shell_page_loads_scripts_from_files_only(client):
    response = client.get("/m/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<link rel="manifest" href="/m/manifest.webmanifest">' in html
    assert re.search(r'<script type="module" src="/static/handheld/app.js">', html)
    # A strict CSP allows no inline code: every script has a src, no style attribute, no on… handlers.
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", html))
    assert not re.search(r"\sstyle=|\son[a-z]+=", html)
    assert "<style" not in html


def test_manifest_makes_the_app_installable(client):
    response = client.get("/m/manifest.webmanifest")
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["start_url"] == "/m/" and manifest["scope"] == "/m/"
    assert manifest["display"] == "standalone"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        assert served(client, icon["src"]), icon


def test_service_worker_keeps_the_shell_and_is_never_cached_by_http(client):
    response = client.get("/m/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "no-store" in response["Cache-Control"]
    body = response.content.decode()
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", body).group(1))
    assert "/m/" in shell and "/static/handheld/app.js" in shell
    for url in shell:
        assert served(client, url), url


def test_module_form_of_the_service_worker_also_sends_the_outbox(client):
    """Where the browser has Background Sync the page registers /m/sw.js?type=module: the same worker, which imports
    the page's outbox module and sends it on the `sync` event. The classic form imports nothing (a classic worker
    cannot), so browsers without module workers keep working as before."""
    classic = client.get("/m/sw.js").content.decode()
    module = client.get("/m/sw.js?type=module")
    assert module.status_code == 200 and "no-store" in module["Cache-Control"]
    body = module.content.decode()
    assert 'import { sendInBackground } from "/static/handheld/outbox.js";' in body
    assert 'addEventListener("sync"' in body and "event.waitUntil(sendInBackground())" in body
    assert "import " not in classic and '"sync"' not in classic
    shell = re.compile(r"const SHELL = (\[.*?\]);")
    assert shell.search(body).group(1) == shell.search(classic).group(1)
