"""English for the grids catalogue (the desk's registry queue and the registry's choice labels):
`python grids/locale/translations.py` fills en/LC_MESSAGES/django.po (made by `cd grids && manage.py makemessages
-l en`) with these strings; then `msgfmt` (or `manage.py compilemessages`) makes the .mo. Strings not listed stay
Chinese (or come from another app's catalogue)."""

import sys
from pathlib import Path

EN = {
    # The registry queue at /desk/registry/
    "信息采集审核": "Registry requests",
    "网格化管理系统": "Grid Management System",
    "全部辖区": "All areas",
    "申请": "Requests",
    "待审核": "Pending",
    "已处理": "Decided",
    "已通过": "Approved",
    "已驳回": "Rejected",
    "所在楼栋": "Building",
    "住户": "Household",
    "人员": "Person",
    "网格员": "Grid worker",
    "%(unit)s 单元": "unit %(unit)s",
    "%(floor)s 层": "floor %(floor)s",
    "新增住户申请": "Request adding the household",
    "采集时间": "Taken down",
    "接收时间": "Received",
    "采集说明": "Worker's note",
    "项目": "Field",
    "原值": "Now",
    "新值": "Proposed",
    "审核意见": "Decision note",
    "驳回时必填": "Required to reject",
    "通过": "Approve",
    "驳回": "Reject",
    "还没有处理过的申请": "No request decided yet",
    "没有待审核的采集申请": "No request is waiting",
    "没有这项采集申请，或不在您单位的辖区内。": "No such request in your unit's area.",
    "请选择通过或驳回。": "Choose approve or reject.",
    "已通过，登记信息已更新": "Approved; the registry is updated",
    "已驳回，登记信息未变": "Rejected; the registry is unchanged",
    # Fields of a request
    "单元号": "Unit",
    "楼层": "Floor",
    "房号": "Room",
    "住户类型": "Household type",
    "姓名": "Name",
    "性别": "Sex",
    "出生日期": "Birth date",
    "身份证号": "ID number",
    "电话": "Phone",
    "与户主关系": "Relation to head",
    "人口类型": "Residency",
    "关爱标签": "Care tags",
    # Kinds of request
    "新增住户": "Add household",
    "更正住户": "Correct household",
    "新增人员": "Add person",
    "更正人员": "Correct person",
    "人员迁出": "Person moved out",
    "人员死亡": "Person deceased",
    # Choices of the registry
    "家庭户": "Family",
    "集体户": "Collective",
    "出租户": "Rented",
    "空置": "Vacant",
    "男": "M",
    "女": "F",
    "户籍人口": "Registered",
    "流动人口": "Floating",
    "独居老人": "Elderly living alone",
    "空巢老人": "Empty-nest elderly",
    "留守儿童": "Left-behind child",
    "残疾人": "Disabled",
    "低保对象": "Subsistence allowance",
    "特困人员": "Extreme poverty",
    "社区矫正对象": "Community correction",
    "刑满释放人员": "Released prisoner",
    "吸毒人员": "Drug user",
    "严重精神障碍患者": "Severe mental disorder",
    "重点青少年": "Youth at risk",
    "退役军人": "Veteran",
}


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from gridmgmt.translations import fill_catalogue

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "en" / "LC_MESSAGES" / "django.po"
    filled, _untranslated = fill_catalogue(target, EN)
    print(f"{filled} strings filled in {target}")
