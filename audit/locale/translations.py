"""English for audit's catalogue (the audit log's model and field names, shown in the admin):
`python audit/locale/translations.py` fills en/LC_MESSAGES/django.po (made by `cd audit && manage.py makemessages -l
en`) with these strings; then `msgfmt` (or `manage.py compilemessages`) makes the .mo. Strings not listed stay
Chinese (or come from another app's catalogue)."""

import sys
from pathlib import Path

EN = {
    "时间": "Time",
    "操作人": "Actor",
    "操作": "Action",
    "对象": "Target",
    "来源地址": "Address",
    "详情": "Detail",
    "链中位置": "Position in the chain",
    "签名密钥": "Signing key",
    "前一条校验码": "Previous MAC",
    "位置校验码": "Position MAC",
    "校验码": "MAC",
    "审计记录": "Audit entry",
    "审计日志": "Audit log",
}


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from gridmgmt.translations import fill_catalogue

    filled, _untranslated = fill_catalogue(Path(__file__).parent / "en" / "LC_MESSAGES" / "django.po", EN)
    print(f"{filled} strings filled")
