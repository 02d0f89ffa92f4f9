"""Open311 GeoReport v2 bodies as JSON or XML, and errors in the spec's format.

JSON is the data as given; XML wraps it in the spec's elements: a list becomes `<root><item>…</item>…</root>`,
a dict `<root><field>…</field>…</root>`, lists inside a dict repeat the singular of their name (`endpoints` →
`<endpoint>`). `None` is an empty element, booleans are `true`/`false`.
"""

import json
import re
from xml.etree import ElementTree as ET

from django.http import HttpResponse

CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
# Characters XML 1.0 cannot carry at all (a description may hold them): dropped, so the document stays well-formed.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
ITEM_OF = {"endpoints": "endpoint", "formats": "format", "attributes": "attribute", "values": "value"}


class Open311Error(Exception):
    """Answered as `[{"code": status, "description": …}, …]` (XML `<errors><error>…`) with that HTTP status."""

    def __init__(self, status: int, *descriptions: str, headers: dict | None = None):
        super().__init__("; ".join(descriptions))
        self.status = status
        self.descriptions = descriptions
        self.headers = headers or {}


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(element: ET.Element, value) -> None:
    if isinstance(value, dict):
        for name, child in value.items():
            _fill(ET.SubElement(element, name), child)
    elif isinstance(value, list | tuple):
        item = ITEM_OF.get(element.tag, "item")
        for child in value:
            _fill(ET.SubElement(element, item), child)
    else:
        element.text = _text(value)


def to_xml(data, *, root: str, item: str | None = None) -> bytes:
    element = ET.Element(root)
    if isinstance(data, list | tuple):
        for row in data:
            _fill(ET.SubElement(element, item or "item"), row)
    else:
        _fill(element, data)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def render(data, *, fmt: str, root: str, item: str | None = None, status: int = 200) -> HttpResponse:
    if fmt == "xml":
        body = to_xml(data, root=root, item=item)
    else:
        body = json.dumps(data, ensure_ascii=False).encode()
    return HttpResponse(body, status=status, content_type=CONTENT_TYPES.get(fmt, CONTENT_TYPES["json"]))


def error_response(error: Open311Error, *, fmt: str) -> HttpResponse:
    rows = [{"code": error.status, "description": text} for text in error.descriptions]
    response = render(rows, fmt=fmt, root="errors", item="error", status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


def error_for_path(path: str, status: int, description: str, *, headers: dict | None = None) -> HttpResponse:
    """An error noticed before an Open311 view runs (a body too large, a NUL, the database away), in the format the
    path's extension asks for."""
    fmt = "xml" if path.lower().endswith(".xml") else "json"
    return error_response(Open311Error(status, description, headers=headers), fmt=fmt)
