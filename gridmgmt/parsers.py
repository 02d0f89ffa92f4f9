"""Request bodies read with bounded work: JSON no deeper than MAX_JSON_DEPTH, uploads no larger than declared limits.

Python's json module recurses once per nesting level, so a body of a thousand `[` ends in a RecursionError (a
500) after the worker has spent its stack; the depth is counted first, without decoding, and refused as a 400.
"""

import codecs
import json
import re

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser, MultiPartParser

MAX_JSON_DEPTH = 64
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
TOO_DEEP = f"JSON 嵌套超过 {MAX_JSON_DEPTH} 层。The JSON is nested more than {MAX_JSON_DEPTH} levels deep."


class JsonTooDeep(ValueError):
    pass


def too_large_message(limit: int) -> str:
    return f"请求体超过 {limit // 1024 // 1024} MB。The request body is larger than {limit // 1024 // 1024} MB."


def check_json_depth(raw: bytes) -> None:
    """Raise JsonTooDeep when `raw` opens more than MAX_JSON_DEPTH arrays/objects inside each other."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return
    brackets = _JSON_STRING.sub(b'""', raw).translate(None, _NOT_BRACKETS)
    depth = 0
    for byte in brackets:
        depth += 1 if byte in b"[{" else -1
        if depth > MAX_JSON_DEPTH:
            raise JsonTooDeep(TOO_DEEP)


def loads_json(raw: bytes):
    """json.loads with the depth checked first (raises ValueError for bad or too deep JSON)."""
    check_json_depth(raw)
    return json.loads(raw)


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, refusing bodies nested deeper than MAX_JSON_DEPTH with a 400 before decoding them."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read() if stream is not None else b""
        try:
            check_json_depth(raw)
            text = codecs.decode(raw, encoding)
            if self.strict:
                return json.loads(text, parse_constant=_refuse_constant)
            return json.loads(text)
        except JsonTooDeep:
            raise ParseError(TOO_DEEP) from None
        except (ValueError, UnicodeDecodeError) as error:
            raise ParseError(f"请求体不是合法的 JSON。JSON parse error - {error}") from None


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


class LimitedMultiPartParser(MultiPartParser):
    """A multipart parser that refuses a body whose declared Content-Length exceeds `max_body` (413), before
    reading a byte of it. Subclasses set `max_body`, the `field` the error names and its `message`."""

    max_body = 0
    field = "file"
    message = ""

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        try:
            length = int(declared or 0)
        except ValueError:
            raise ParseError("Content-Length 无效。Invalid Content-Length.") from None
        if length > self.max_body:
            raise BodyTooLarge({self.field: [self.message or too_large_message(self.max_body)]})
        return super().parse(stream, media_type, parser_context)
