"""The base maps a page may draw under the registry's own layers (settings BASEMAP, BASEMAP_CHOICES, BASEMAP_URLS,
TIANDITU_KEY; maps/README.md says how to configure each).

`none` is always offered: no tiles, the registry's outlines and labels alone, so every page works offline.
"""

from django.conf import settings
from django.utils.translation import gettext as _

NAMES = ("none", "tianditu", "osm", "amap")

# Per base map: its layers (a URL template from settings.BASEMAP_URLS, with 天地图's {layer}), whether its tiles
# are drawn in GCJ-02, and the options Leaflet's tile layer gets.
SPECS = {
    "osm": {
        "gcj02": False,
        "layers": [{"options": {"maxZoom": 19, "attribution": "© OpenStreetMap contributors"}}],
    },
    "tianditu": {
        "gcj02": False,
        "layers": [
            {"layer": layer, "options": {"subdomains": "01234567", "maxZoom": 18, "attribution": "© 天地图"}}
            for layer in ("vec", "cva")  # the vector map, then its annotation (place names) above it
        ],
    },
    "amap": {
        "gcj02": True,
        "layers": [{"options": {"subdomains": "1234", "maxZoom": 18, "attribution": "© 高德地图 (GCJ-02)"}}],
    },
}


def _label(name: str) -> str:
    return {"none": _("无底图"), "tianditu": _("天地图"), "osm": "OpenStreetMap", "amap": _("高德地图")}[name]


def usable(name: str) -> bool:
    return name == "none" or (name in SPECS and (name != "tianditu" or bool(settings.TIANDITU_KEY)))


def choice(name: str) -> dict:
    """One base map as the pages draw it: name, label, gcj02 and its tile layers (URL + Leaflet options)."""
    if name == "none":
        return {"name": "none", "label": _label("none"), "gcj02": False, "layers": []}
    spec = SPECS[name]
    layers = []
    for layer in spec["layers"]:
        url = settings.BASEMAP_URLS[name].replace("{key}", settings.TIANDITU_KEY)
        layers.append({"url": url.replace("{layer}", layer.get("layer", "")), "options": dict(layer["options"])})
    return {"name": name, "label": _label(name), "gcj02": spec["gcj02"], "layers": layers}


def configured_names() -> list[str]:
    """BASEMAP first (or none when it cannot be drawn), then the other usable BASEMAP_CHOICES, then none."""
    names = [name for name in dict.fromkeys([settings.BASEMAP, *settings.BASEMAP_CHOICES]) if usable(name)]
    if "none" in names:
        names.remove("none")
    if not usable(settings.BASEMAP) or settings.BASEMAP == "none":
        return ["none", *names]
    return [*names, "none"]


def basemap_config() -> dict:
    """What a page needs: the default base map (name, gcj02, layers) and every choice for its layer control."""
    choices = [choice(name) for name in configured_names()]
    default = choices[0]
    return {
        "name": default["name"],
        "gcj02": default["gcj02"],
        "layers": default["layers"],
        "choices": choices,
    }


def tile_urls() -> list[str]:
    """Every tile URL template a page of the site may draw (for the Content-Security-Policy)."""
    return [layer["url"] for name in configured_names() for layer in choice(name)["layers"]]
