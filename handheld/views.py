"""The grid workers' phone app at /m/: its page, manifest and service worker.

The app itself is static (handheld/static/handheld/*.js) and talks only to the handheld API. The page carries no
personal data and no per-user content, so the service worker may keep it for offline starts.
"""

import hashlib
import json
from functools import lru_cache

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import get_template
from django.templatetags.static import static
from django.views.decorators.http import require_safe

# The app's modules import one another by relative path, so they are fetched under their plain names.
MODULES = ["app.js", "i18n.js", "store.js", "api.js", "outbox.js", "vault.js", "gridmap.js", "screens.js"]
MODULES += ["geo.js", "collect.js"]
# Fetched by the page through {% static %} (hashed names once collectstatic has run).
PAGE_ASSETS = ["handheld/app.css", "vendor/leaflet/leaflet.css", "vendor/leaflet/leaflet.js"]
ICONS = {192: "handheld/icons/icon-192.png", 512: "handheld/icons/icon-512.png"}


def _module_url(name: str) -> str:
    return f"{settings.STATIC_URL}handheld/{name}"


@lru_cache(maxsize=1)
def _cached_version(_debug: bool) -> str:
    return _content_version()


def _content_version() -> str:
    """A digest of everything the service worker keeps: a new release of any of them installs a new worker."""
    digest = hashlib.sha256()
    paths = [finders.find(name) for name in [f"handheld/{m}" for m in MODULES] + PAGE_ASSETS + list(ICONS.values())]
    paths.append(get_template("handheld/shell.html").origin.name)
    for path in paths:
        with open(path, "rb") as file:
            digest.update(file.read())
    return digest.hexdigest()[:16]


def shell_version() -> str:
    # While developing, files change under a running server: recompute each time.
    return _content_version() if settings.DEBUG else _cached_version(False)


def shell_urls() -> list[str]:
    """What the service worker stores on install: the page, the manifest, the icons, styles and scripts."""
    return [
        "/m/",
        "/m/manifest.webmanifest",
        *(static(name) for name in PAGE_ASSETS),
        *(static(name) for name in ICONS.values()),
        *(_module_url(name) for name in MODULES),
    ]


@require_safe
def shell(request):
    response = render(
        request,
        "handheld/shell.html",
        {
            "app_js": _module_url("app.js"),
            "language_cookie": settings.LANGUAGE_COOKIE_NAME,
            "icon": static(ICONS[192]),
            "notice_poll_ms": int(settings.NOTICE_POLL_SECONDS * 1000),
        },
    )
    response["Cache-Control"] = "no-cache"
    return response


@require_safe
def manifest(request):
    body = {
        "name": "网格员手持终端 · Grid worker",
        "short_name": "网格通",
        "description": "网格员上报、任务、巡查与信息采集。Reports, tasks, patrols and registry collection.",
        "lang": "zh-CN",
        "start_url": "/m/",
        "scope": "/m/",
        "id": "/m/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#f6f7f9",
        "theme_color": "#166534",
        "icons": [
            {"src": static(path), "sizes": f"{size}x{size}", "type": "image/png", "purpose": "any maskable"}
            for size, path in ICONS.items()
        ],
    }
    response = HttpResponse(json.dumps(body, ensure_ascii=False), content_type="application/manifest+json")
    response["Cache-Control"] = "no-cache"
    return response


@require_safe
def service_worker(request):
    """The classic worker, or with ?type=module the module worker that also sends the outbox (Background Sync)."""
    response = render(
        request,
        "handheld/sw.js",
        {
            "version": shell_version(),
            "shell_urls": json.dumps(shell_urls()),
            "module": request.GET.get("type") == "module",
            "outbox_js": _module_url("outbox.js"),
        },
        content_type="text/javascript; charset=utf-8",
    )
    # The browser checks for a new worker on each start; it must never be served from an HTTP cache.
    response["Cache-Control"] = "no-cache, no-store"
    return response
