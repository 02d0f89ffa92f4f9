"""POST bodies of the Open311 endpoint read strictly in their declared charset.

Form bodies (`application/x-www-form-urlencoded`, the spec's) and multipart bodies are decoded with the
`charset` of their Content-Type (UTF-8 when none is given), e.g. `charset=gbk` from older hotline systems
(GB2312 and GBK labels are read as GB18030, their superset).
Bytes that are not text in that charset are refused, never stored as U+FFFD; an unknown charset is refused
too. Multipart fields are read by Django's parser as Latin-1 (every byte maps to one character, nothing is
lost) and then decoded strictly here; a multipart body is refused by its declared length before it is read.
"""

import codecs
from urllib.parse import parse_qsl

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, QueryDict
from django.http.multipartparser import MultiPartParser

from mobileapi import photos
from mobileapi.open311.renderers import Open311Error

# A photo and the form around it.
MAX_MULTIPART_BYTES = photos.MAX_BYTES + 1024 * 1024
TOO_MANY = "表单字段过多。Too many form fields."
_LOSSLESS = "iso-8859-1"


def charset_of(request: HttpRequest) -> str:
    charset = request.content_params.get("charset", "utf-8").strip().strip('"') or "utf-8"
    try:
        name = codecs.lookup(charset).name
        # As browsers do (WHATWG Encoding): systems labelled GB2312 send GBK (朱镕基's 镕 is not in GB2312), and
        # GB18030 reads both.
        return "gb18030" if name in ("gb2312", "gbk") else name
    except LookupError:
        raise Open311Error(
            400, f"不支持的字符集 {charset}（请用 UTF-8 或 GBK）。Unknown charset {charset}; use UTF-8 or GBK."
        ) from None


def undecodable(charset: str) -> Open311Error:
    return Open311Error(
        400,
        f"请求体不是有效的 {charset} 文本（请检查 Content-Type 的 charset）。"
        f"The body is not valid {charset} text; check the charset of its Content-Type.",
    )


def form_data(request: HttpRequest) -> QueryDict:
    """An `application/x-www-form-urlencoded` body (or an empty one) as a QueryDict."""
    charset = charset_of(request)
    fields = QueryDict(mutable=True)
    try:
        text = request.body.decode(charset)
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            encoding=charset,
            errors="strict",
            max_num_fields=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS,
        )
    except UnicodeDecodeError:
        raise undecodable(charset) from None
    except ValueError:
        raise Open311Error(400, TOO_MANY) from None
    for name, value in pairs:
        fields.appendlist(name, value)
    return fields


def multipart_data(request: HttpRequest) -> QueryDict:
    """A `multipart/form-data` body: its text fields (decoded strictly) and its files, in one QueryDict."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_MULTIPART_BYTES:
        raise Open311Error(413, photos.TOO_LARGE)
    charset = charset_of(request)
    try:
        raw_fields, files = MultiPartParser(request.META, request, request.upload_handlers, _LOSSLESS).parse()
    except (TooManyFieldsSent, TooManyFilesSent):
        raise Open311Error(400, TOO_MANY) from None
    fields = QueryDict(mutable=True)
    try:
        for name, values in raw_fields.lists():
            for value in values:
                fields.appendlist(name.encode(_LOSSLESS).decode(charset), value.encode(_LOSSLESS).decode(charset))
    except UnicodeDecodeError:
        raise undecodable(charset) from None
    fields.update(files)
    return fields
