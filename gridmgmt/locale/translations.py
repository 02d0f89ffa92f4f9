"""English for gridmgmt's catalogue: model and field names shown in the admin, and the error answers of
gridmgmt/problems.py and the middleware. `python gridmgmt/locale/translations.py` fills en/LC_MESSAGES/django.po
(made by `cd gridmgmt && ../manage.py makemessages -l en`) with these strings; then `manage.py compilemessages` makes
the .mo."""

import sys
from pathlib import Path

EN = {
    "登录尝试计数": "Attempt counter",
    "键": "Key",
    "窗口结束": "Window ends",
    "尝试次数": "Attempts",
    "失败次数": "Failures",
    "锁定至": "Locked until",
    # Titles of the HTTP statuses (RFC 9110's reason phrases)
    "请求有误": "Bad Request",
    "未登录": "Unauthorized",
    "无权操作": "Forbidden",
    "未找到": "Not Found",
    "不支持该请求方法": "Method Not Allowed",
    "无法提供所要的格式": "Not Acceptable",
    "与当前状态冲突": "Conflict",
    "请求体过大": "Content Too Large",
    "请求地址过长": "URI Too Long",
    "不支持的请求体格式": "Unsupported Media Type",
    "请求过多": "Too Many Requests",
    "服务器内部错误": "Internal Server Error",
    "服务暂时不可用": "Service Unavailable",
    # Titles of the project's own kinds of problem
    "输入有误": "Invalid input",
    "client_uuid 已用于其他内容": "client_uuid already used for other content",
    "任务已不再等待办理": "Task no longer open",
    "不能执行该操作": "Action refused",
    "登录已暂时锁定": "Login locked for a while",
    "服务器繁忙": "Server busy",
    "查询超出单次请求的上限": "Query past a request's limit",
    "数据库暂时不可用": "Database unavailable",
    # Details
    "输入有误：%(fields)s。": "Invalid input: %(fields)s.",
    "、": ", ",
    "没有这个接口。": "No such API path.",
    "接口地址不以斜杠结尾，请用 %(location)s。": "API paths have no trailing slash: %(location)s",
    "服务器内部错误。": "Internal server error.",
}


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from gridmgmt.translations import fill_catalogue

    _filled, missing = fill_catalogue(Path(__file__).parent / "en" / "LC_MESSAGES" / "django.po", EN)
    for msgid in missing:
        print("untranslated:", msgid, file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
