"""Errors under /api/ as RFC 9457 problem details: one body, one media type (application/problem+json).

Every error answer under /api/ is made here, whoever notices the error (DRF's exception handler, the 404 and 500
handlers, the middleware refusing a body, a busy or stopped query, a view's 409):

    {"type": "about:blank", "title": "未找到", "status": 404, "detail": "没有这个接口。"}
    {"type": "tag:gridmgmt,2026:problems/validation", "title": "输入有误", "status": 400,
     "detail": "输入有误：location.lon。", "errors": {"location.lon": ["该字段是必填项。"]}}

- `type` is `about:blank` when the HTTP status says it all (its `title` is then the status's name); a kind of our
  own has a `tag:` URI (RFC 4151; an identifier, not a page to fetch) listed in KINDS.
- `title`, `detail` and the messages in `errors` are in the request's language: Chinese unless the request asks
  for English (Accept-Language: en, or the language switch's cookie). The project writes many messages as one
  string, Chinese first and English after (`请求体超过 1 MB。The request body is larger than 1 MB.`); the half in
  the request's language is the one answered (`in_language`).
- `errors` (validation only) maps each field to its messages. Fields of nested objects and list items are
  flattened to dotted paths: `location.lon`, `attachments.0.url`. Messages that belong to no field
  (`non_field_errors`) are the `detail`.
- Other members a client uses stay as extension members beside these: `code` (what went wrong, for programs),
  `reason`, `allowed_actions`, `state`, `version` on a refused transition, `existing` on a reused client UUID.

Open311 (/open311/v2/) keeps its own specification's error format (mobileapi/open311/renderers.py); /ogc/ answers
problem details of its own, with OGC's members and bilingual messages (ogc/views.py).
"""

import json
import re
from http import HTTPStatus

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy

MEDIA_TYPE = "application/problem+json"
API_PREFIX = "/api/"
TYPE_PREFIX = "tag:gridmgmt,2026:problems/"

# The title of each status when the type is about:blank (RFC 9110's reason phrases, in Chinese and English).
TITLES = {
    400: gettext_lazy("请求有误"),
    401: gettext_lazy("未登录"),
    403: gettext_lazy("无权操作"),
    404: gettext_lazy("未找到"),
    405: gettext_lazy("不支持该请求方法"),
    406: gettext_lazy("无法提供所要的格式"),
    409: gettext_lazy("与当前状态冲突"),
    413: gettext_lazy("请求体过大"),
    414: gettext_lazy("请求地址过长"),
    415: gettext_lazy("不支持的请求体格式"),
    429: gettext_lazy("请求过多"),
    500: gettext_lazy("服务器内部错误"),
    503: gettext_lazy("服务暂时不可用"),
}

# Kinds of our own: `code` → title. Their type is TYPE_PREFIX + the code with dashes.
KINDS = {
    "validation": gettext_lazy("输入有误"),
    "client_uuid_conflict": gettext_lazy("client_uuid 已用于其他内容"),
    "task_closed": gettext_lazy("任务已不再等待办理"),
    "transition_refused": gettext_lazy("不能执行该操作"),
    "login_locked": gettext_lazy("登录已暂时锁定"),
    "busy": gettext_lazy("服务器繁忙"),
    "query_limit": gettext_lazy("查询超出单次请求的上限"),
    "database_unavailable": gettext_lazy("数据库暂时不可用"),
}

NON_FIELD_KEYS = ("non_field_errors", "detail")

# A CJK character or full-width punctuation; a bilingual message's Chinese half ends with one of SENTENCE_ENDS.
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
SENTENCE_ENDS = "。！？）；"


def type_of(kind: str | None) -> str:
    return TYPE_PREFIX + kind.replace("_", "-") if kind in KINDS else "about:blank"


def in_language(text, language: str | None = None) -> str:
    """The half of a bilingual message (Chinese first, then English) in `language` (the active one by default).

    A message in one language only comes back whole, whatever is asked."""
    text = str(text)
    last = next(reversed(list(_CJK.finditer(text))), None)
    if last is None or last.group() not in SENTENCE_ENDS:
        return text
    chinese, english = text[: last.end()].strip(), text[last.end() :].strip()
    if not re.search(r"[A-Za-z]{2}", english):
        return text
    language = language or translation.get_language() or "zh-hans"
    return english if language.lower().startswith("en") else chinese


def flatten(errors, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested validation errors as {dotted path: [messages]}; `non_field_errors` of a nested object are its
    own path's."""
    flat: dict[str, list[str]] = {}

    def walk(value, path: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, path if key in NON_FIELD_KEYS else f"{path}.{key}" if path else str(key))
        elif isinstance(value, list | tuple):
            if all(not isinstance(item, dict | list | tuple) for item in value):
                if value:
                    flat.setdefault(path, []).extend(in_language(item) for item in value)
                return
            for index, item in enumerate(value):
                if item:  # DRF answers `{}` for the valid items of a list
                    walk(item, f"{path}.{index}" if path else str(index))
        elif value is not None:
            flat.setdefault(path, []).append(in_language(value))

    walk(errors, prefix)
    return flat


def problem_body(status: int, *, detail=None, kind: str | None = None, errors=None, **extensions) -> dict:
    title = KINDS.get(kind) or TITLES.get(status) or HTTPStatus(status).phrase
    body = {"type": type_of(kind), "title": in_language(title), "status": status}
    body["detail"] = in_language(detail) if detail is not None else body["title"]
    if errors:
        body["errors"] = errors
    if kind and "code" not in extensions and kind != "validation":
        extensions["code"] = kind
    body.update(extensions)
    return body


def problem(status: int, *, detail=None, kind: str | None = None, errors=None, headers=None, **extensions):
    """An error answer: `status`, what went wrong (`detail`), field messages (`errors`), extension members."""
    body = problem_body(status, detail=detail, kind=kind, errors=errors, **extensions)
    return HttpResponse(
        json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False),
        status=status,
        content_type=MEDIA_TYPE,
        headers=headers,
    )


def validation_problem(data, *, status: int = 400, headers=None, **extensions):
    """A 400 from DRF's validation errors (a dict of fields or a list of messages); another status (a 413 naming
    the upload field) keeps its own type and title."""
    if isinstance(data, dict):
        general = [m for key in NON_FIELD_KEYS if key in data for m in flatten(data[key]).get("", [])]
        fields = flatten({key: value for key, value in data.items() if key not in NON_FIELD_KEYS})
    else:
        general, fields = flatten(data).get("", []), {}
    if general:
        detail = " ".join(general)
    elif status == 400:
        detail = gettext("输入有误：%(fields)s。") % {"fields": gettext("、").join(fields)}
    else:
        detail = " ".join(messages[0] for messages in fields.values())
    kind = "validation" if fields and status == 400 else None
    return problem(status, detail=detail, kind=kind, errors=fields, headers=headers, **extensions)


def from_data(status: int, data, *, headers=None):
    """A problem from an error body in the older shapes (`{"detail": …, "code": …}` or `{field: [messages]}`)."""
    if isinstance(data, dict) and "detail" in data and not isinstance(data["detail"], list | dict):
        extensions = {key: value for key, value in data.items() if key not in ("detail", "type", "title", "status")}
        code = extensions.get("code")
        return problem(status, detail=data["detail"], kind=code if code in KINDS else None, headers=headers,
                       **extensions)  # fmt: skip
    if data in (None, "", {}, []):
        return problem(status, headers=headers)
    if isinstance(data, str):
        return problem(status, detail=data, headers=headers)
    return validation_problem(data, status=status, headers=headers)


def is_problem(response) -> bool:
    return response.get("Content-Type", "").partition(";")[0].strip() == MEDIA_TYPE


def under_api(request) -> bool:
    return request.path_info.startswith(API_PREFIX)
