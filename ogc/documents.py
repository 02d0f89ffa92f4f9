"""The JSON documents of /ogc/: landing page, conformance, collection descriptions, links and the OpenAPI."""

from django.urls import reverse

from ogc import crs
from ogc.selectors import COLLECTIONS, BBox, Collection, Page

GEOJSON = "application/geo+json"
JSON = "application/json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
]
OGC_REL = "http://www.opengis.net/def/rel/ogc/1.0/"


class Urls:
    """Absolute links for one request (the host and scheme the client used)."""

    def __init__(self, request):
        self.request = request
        self.base = request.build_absolute_uri(reverse("ogc:landing"))

    def of(self, path: str = "") -> str:
        return self.base + path

    def link(self, path: str, rel: str, media_type: str, title: str) -> dict:
        return {"href": self.of(path), "rel": rel, "type": media_type, "title": title}

    def with_params(self, **changes) -> str:
        """This request's URL with some query parameters replaced (None removes one)."""
        query = self.request.query_params.copy()
        for name, value in changes.items():
            query.pop(name, None)
            if value is not None:
                query[name] = str(value)
        encoded = query.urlencode(safe=":/,")
        return self.request.build_absolute_uri(self.request.path) + (f"?{encoded}" if encoded else "")


def landing(urls: Urls) -> dict:
    return {
        "title": "网格化管理系统 基础图层 gridmgmt registry layers",
        "description": "街道、社区、网格、楼栋和办理单位，OGC API – Features（GeoJSON），不含人员信息。"
        "Streets, communities, grids, buildings and units as OGC API – Features (GeoJSON); no personal data.",
        "links": [
            urls.link("", "self", JSON, "本页 This document"),
            urls.link("api", "service-desc", OPENAPI, "接口定义 API definition (OpenAPI 3.0)"),
            urls.link("conformance", "conformance", JSON, "符合的标准 Conformance classes"),
            urls.link("conformance", OGC_REL + "conformance", JSON, "符合的标准 Conformance classes"),
            urls.link("collections", "data", JSON, "图层 Collections"),
            urls.link("collections", OGC_REL + "data", JSON, "图层 Collections"),
        ],
    }


def collections(urls: Urls, extents: dict[str, BBox | None]) -> dict:
    return {
        "links": [urls.link("collections", "self", JSON, "图层 Collections")],
        "collections": [collection(urls, layer, extents[layer.id]) for layer in COLLECTIONS.values()],
    }


def collection(urls: Urls, layer: Collection, extent: BBox | None) -> dict:
    document = {
        "id": layer.id,
        "title": layer.title,
        "description": layer.description,
        "itemType": "feature",
        "crs": list(crs.SUPPORTED),
        "storageCrs": crs.STORAGE.uri,
        "links": [
            urls.link(f"collections/{layer.id}", "self", JSON, layer.title),
            urls.link(f"collections/{layer.id}/items", "items", GEOJSON, layer.title),
        ],
    }
    if extent is not None:
        document["extent"] = {"spatial": {"bbox": [list(extent)], "crs": crs.CRS84.uri}}
    return document


def _this_resource(urls: Urls, rel: str, title: str, **changes) -> dict:
    """A GeoJSON link to this request's resource, some query parameters replaced."""
    return {"href": urls.with_params(**changes), "rel": rel, "type": GEOJSON, "title": title}


def items_links(urls: Urls, layer: Collection, page: Page) -> list[dict]:
    links = [
        _this_resource(urls, "self", "本页 This page"),
        urls.link(f"collections/{layer.id}", "collection", JSON, layer.title),
    ]
    if page.has_next:
        links.append(_this_resource(urls, "next", "下一页 Next page", after=page.last_id, before=None))
    if page.has_prev:
        links.append(_this_resource(urls, "prev", "上一页 Previous page", before=page.first_id, after=None))
    return links


def item_links(urls: Urls, layer: Collection) -> list[dict]:
    return [
        _this_resource(urls, "self", "本要素 This feature"),
        urls.link(f"collections/{layer.id}", "collection", JSON, layer.title),
    ]
