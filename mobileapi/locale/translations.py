"""English for mobileapi's catalogue (model and field names, shown in the admin):
`python mobileapi/locale/translations.py` fills en/LC_MESSAGES/django.po (made by
`cd mobileapi && manage.py makemessages -l en`) with these strings; then `msgfmt` (or `manage.py compilemessages`)
makes the .mo. Strings not listed stay Chinese (or come from another app's catalogue)."""

import sys
from pathlib import Path

EN = {
    "账号": "User",
    "令牌摘要": "Digest",
    "设备": "Device",
    "创建时间": "Created at",
    "过期时间": "Expires at",
    "吊销时间": "Revoked at",
    "最近使用时间": "Last used at",
    "访问令牌": "Access token",
    "内容哈希（SHA-256）": "SHA-256",
    "图像": "Image",
    "缩略图": "Thumbnail",
    "文件类型": "Content type",
    "宽度": "Width",
    "高度": "Height",
    "大小（字节）": "Size bytes",
    "拍摄时间（相机）": "Taken at (camera)",
    "拍摄位置": "Camera position",
    "上传人": "Uploaded by",
    "照片": "Photo",
    "终端请求编号": "Client UUID",
    "内容指纹": "Fingerprint",
    "网格员": "Worker",
    "轨迹": "Track",
    "开始时间": "Started at",
    "结束时间": "Ended at",
    "长度（米）": "Length m",
    "覆盖率": "Coverage",
    "巡查": "Patrol",
    "照片类型": "Kind",
    "距上报位置（米）": "Distance from the report (m)",
    "距上报时间（小时）": "Time from the report (h)",
    "位置或时间与上报相差较远": "Position or time far from the report",
    "案件照片": "Case photo",
    "任务类型": "Kind",
    "结果": "Result",
    "说明": "Note",
    "任务完成记录": "Task completion",
    "客户端名称": "Client name",
    "密钥摘要": "Digest",
    "密钥开头": "Key begins with",
    "Open311 接口密钥": "Open311 API key",
    "计数桶": "Bucket",
    "窗口开始": "Window start",
    "次数": "Hits",
}


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from gridmgmt.translations import fill_catalogue

    filled, _untranslated = fill_catalogue(Path(__file__).parent / "en" / "LC_MESSAGES" / "django.po", EN)
    print(f"{filled} strings filled")
