"""The Content-Security-Policy sent with every response: scripts, styles, fonts and connections from this site
only, images also from the configured base-map tile hosts, no framing, no plugins.

No page has an inline script, style block, style attribute or event handler. The one exception is the admin's
map widget (django-leaflet), whose templates write a small inline script carrying `nonce="{{ csp_nonce }}"`:
`request.csp_nonce` makes a fresh nonce the first time a template reads it, and only a response whose page read
it allows that nonce. /api/docs is served by the split Swagger view, whose start-up script is a separate
request to the same URL, so it needs no exception.
"""

import secrets
from functools import cache
from urllib.parse import urlsplit

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

# what tile_urls() reads
TILE_SETTINGS = {"BASEMAP", "BASEMAP_CHOICES", "BASEMAP_URLS", "TIANDITU_KEY", "LEAFLET_CONFIG"}


class LazyNonce:
    """A nonce made when first rendered into a page (str()), so only pages that use one get one."""

    def __init__(self):
        self.value = ""

    def __str__(self) -> str:
        if not self.value:
            self.value = secrets.token_urlsafe(18)
        return self.value

    def __bool__(self) -> bool:
        return True


def tile_source(url: str) -> str | None:
    """The CSP source of a tile URL template: https://t{s}.tianditu.gov.cn/… → https://*.tianditu.gov.cn."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    labels = parts.hostname.split(".")
    if any("{" in label for label in labels):
        labels = ["*", *labels[next(i for i, label in enumerate(labels) if "{" in label) + 1 :]]
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{'.'.join(labels)}{port}"


def tile_urls() -> tuple[str, ...]:
    """Every tile URL template a page may draw: the maps' base maps (BASEMAP, BASEMAP_CHOICES) and the admin's."""
    from maps.basemaps import tile_urls as page_tile_urls

    urls = page_tile_urls()
    admin = settings.LEAFLET_CONFIG
    urls += [tile[1] for tile in [*admin.get("TILES", []), *admin.get("OVERLAYS", [])]]
    return tuple(urls)


@cache
def base_policy() -> str:
    """The policy without a nonce, made once from the settings (again only when a test changes them)."""
    images = sorted({source for source in map(tile_source, tile_urls()) if source})
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:", *images],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'"],
        "manifest-src": ["'self'"],
        "frame-src": ["'none'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


@receiver(setting_changed)
def _settings_changed(setting, **kwargs) -> None:
    if setting in TILE_SETTINGS:
        base_policy.cache_clear()


def policy(nonce: str = "") -> str:
    text = base_policy()
    if nonce:
        text = text.replace("script-src 'self'", f"script-src 'self' 'nonce-{nonce}'", 1)
    return text


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.csp_nonce = LazyNonce()
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy(request.csp_nonce.value)
        return response
