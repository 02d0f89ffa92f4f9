"""The OpenAPI 3.0 definition of /ogc/ (the landing page's `service-desc`), generated from the same constants the
views check, so the documented limits and CRSs are the served ones."""

from ogc import crs, params
from ogc.documents import GEOJSON, JSON, Urls
from ogc.selectors import COLLECTIONS

PROBLEM = "application/problem+json"


def _parameter(name: str, description: str, schema: dict, **extra) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema, **extra}


def _responses(ok: str, media_type: str, *errors: int) -> dict:
    responses = {"200": {"description": ok, "content": {media_type: {"schema": {"type": "object"}}}}}
    reasons = {
        400: "参数错误 A bad query parameter (named in `errors`)",
        401: "未登录 Not authenticated",
        404: "没有这个图层或要素 No such collection or feature",
    }
    problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
    for status in (*errors, 401):
        content = {PROBLEM: problem}
        if status == 400:
            content[JSON] = problem  # a NUL byte anywhere in the request is refused site-wide, before /ogc/
        responses[str(status)] = {"description": reasons[status], "content": content}
    # gunicorn answers a request line over its limit (4094 bytes) itself, as a short HTML page, before the
    # application sees the request.
    responses["414"] = {
        "description": "请求地址过长 The request line is longer than the server reads (4094 bytes)",
        "content": {"text/html": {"schema": {"type": "string"}}},
    }
    return responses


def definition(urls: Urls) -> dict:
    crs_schema = {"type": "string", "format": "uri", "enum": list(crs.SUPPORTED), "default": crs.CRS84.uri}
    f = _parameter("f", "表示形式 Representation: JSON only", {"type": "string", "enum": sorted(params.FORMATS)})
    collection_id = {
        "name": "collectionId",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "enum": list(COLLECTIONS)},
    }
    crs_param = _parameter(
        "crs",
        "响应坐标参照系；EPSG:4326 与 EPSG:4490 为纬度在前。CRS of the geometry in the response; EPSG:4326 and "
        "EPSG:4490 put latitude first. The Content-Crs header names it.",
        crs_schema,
    )
    items_params = [
        collection_id,
        _parameter(
            "limit",
            f"每页要素数，默认 {params.DEFAULT_LIMIT}，超过 {params.MAX_LIMIT} 按 {params.MAX_LIMIT}。"
            f"Features per page: default {params.DEFAULT_LIMIT}; more than {params.MAX_LIMIT} is served as "
            f"{params.MAX_LIMIT}. Follow the `next` link for the rest.",
            {"type": "integer", "minimum": 1, "maximum": params.MAX_LIMIT, "default": params.DEFAULT_LIMIT},
        ),
        _parameter(
            "bbox",
            "范围：下角、上角，按 bbox-crs 的轴序（CRS84 经度在前）。Lower and upper corner in the axis order of "
            "bbox-crs (CRS84: longitude first); 4 numbers, or 6 with heights (ignored).",
            {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
            style="form",
            explode=False,
        ),
        _parameter("bbox-crs", "bbox 的坐标参照系 CRS of bbox", crs_schema),
        crs_param,
        _parameter(
            "datetime",
            "RFC 3339 时刻或区间（.. 为开放端），楼栋按更新时间；其他图层无时间，全部符合。An RFC 3339 instant or "
            "interval (`..` for an open end): buildings by `updated_at`; other layers have no time and all match.",
            {"type": "string"},
        ),
        _parameter(
            "after",
            "翻页游标：id 大于此值的要素（见 next 链接）。Keyset cursor: features with a greater id (next links).",
            {"type": "integer", "minimum": 1},
        ),
        _parameter(
            "before",
            "翻页游标：id 小于此值的要素（见 prev 链接）。Keyset cursor: features with a smaller id (prev links).",
            {"type": "integer", "minimum": 1},
        ),
        f,
    ]
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "gridmgmt OGC API – Features",
            "version": "1.0.0",
            "description": "基础图层（不含人员信息），按 id 排序分页。Registry layers, no personal data; pages in id "
            "order. Authentication: `Authorization: Token <key>` (POST /api/v1/auth/token) or a session.",
        },
        "servers": [{"url": urls.of().rstrip("/")}],
        "components": {
            "securitySchemes": {
                "token": {"type": "apiKey", "in": "header", "name": "Authorization"},
                "session": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
            },
            "schemas": {
                "Problem": {
                    "type": "object",
                    "required": ["code"],
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "code": {"type": "string"},
                        "description": {"type": "string"},
                        "errors": {
                            "type": "object",
                            "additionalProperties": {"type": "array", "items": {"type": "string"}},
                        },
                    },
                }
            },
        },
        "security": [{"token": []}, {"session": []}],
        "paths": {
            "/": {
                "get": {
                    "operationId": "getLandingPage",
                    "parameters": [f],
                    "responses": _responses("落地页 Landing page", JSON, 400),
                }
            },
            "/conformance": {
                "get": {
                    "operationId": "getConformance",
                    "parameters": [f],
                    "responses": _responses("符合的标准 Conformance", JSON, 400),
                }
            },
            "/api": {
                "get": {
                    "operationId": "getApiDefinition",
                    "parameters": [f],
                    "responses": _responses("本文档 This document", JSON, 400),
                }
            },
            "/collections": {
                "get": {
                    "operationId": "getCollections",
                    "parameters": [f],
                    "responses": _responses("图层 Collections", JSON, 400),
                }
            },
            "/collections/{collectionId}": {
                "get": {
                    "operationId": "describeCollection",
                    "parameters": [collection_id, f],
                    "responses": _responses("图层说明 Collection", JSON, 400, 404),
                }
            },
            "/collections/{collectionId}/items": {
                "get": {
                    "operationId": "getFeatures",
                    "parameters": items_params,
                    "responses": _responses("要素一页 A page of features", GEOJSON, 400, 404),
                }
            },
            "/collections/{collectionId}/items/{featureId}": {
                "get": {
                    "operationId": "getFeature",
                    "parameters": [
                        collection_id,
                        {"name": "featureId", "in": "path", "required": True, "schema": {"type": "integer"}},
                        crs_param,
                        f,
                    ],
                    "responses": _responses("要素 A feature", GEOJSON, 400, 404),
                }
            },
        },
    }
