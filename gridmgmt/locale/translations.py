"""English for gridmgmt's catalogue (model and field names, shown in the admin):
`python gridmgmt/locale/translations.py` fills en/LC_MESSAGES/django.po (made by
`cd gridmgmt && manage.py makemessages -l en`) with these strings; then `msgfmt` (or `manage.py compilemessages`)
makes the .mo. Strings not listed stay Chinese (or come from another app's catalogue)."""

import sys
from pathlib import Path

EN = {
    "登录尝试计数": "Attempt counter",
    "键": "Key",
    "窗口结束": "Window ends",
    "尝试次数": "Attempts",
    "失败次数": "Failures",
    "锁定至": "Locked until",
}


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from gridmgmt.translations import fill_catalogue

    filled, _untranslated = fill_catalogue(Path(__file__).parent / "en" / "LC_MESSAGES" / "django.po", EN)
    print(f"{filled} strings filled")
