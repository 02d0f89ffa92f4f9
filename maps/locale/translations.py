"""English for the maps' catalogue: `python maps/locale/translations.py` rewrites en/LC_MESSAGES/django.po from
`makemessages` output with these strings; then `msgfmt` (or `manage.py compilemessages`) makes the .mo."""

import re
import sys
from pathlib import Path

EN = {
    "指挥地图": "Command map",
    "领导看板": "Dashboard",
    "政务公开": "Open data",
    "系统管理": "Administration",
    "街道": "Street",
    "社区": "Community",
    "网格": "Grid",
    "派出所辖区": "Police precincts",
    "楼栋": "Buildings",
    "案件": "Cases",
    "人口": "People",
    "户数": "Households",
    "关爱对象": "Care-tagged people",
    "在办案件": "Open cases",
    "每千人案件": "Cases per 1,000 residents",
    "没有找到结果": "Nothing found",
    "加载中…": "Loading…",
    "该楼栋没有登记住户": "No households registered in this building",
    "您无权查看该楼栋的住户": "You may not see the residents of this building",
    "房号": "Room",
    "楼层": "Floor",
    "姓名": "Name",
    "性别": "Sex",
    "年龄": "Age",
    "身份证号": "ID number",
    "电话": "Phone",
    "户籍": "Residency",
    "关爱标签": "Care tags",
    "户籍人口": "Registered",
    "流动人口": "Floating",
    "男": "M",
    "女": "F",
    "人员": "Person",
    "住户": "Household",
    "办理过程": "Timeline",
    "照片": "Photos",
    "可执行操作": "Actions",
    "办理意见": "Note",
    "单位": "Unit",
    "操作成功": "Done",
    "操作失败": "Failed",
    "状态": "State",
    "类别": "Category",
    "等级": "Level",
    "亮灯": "Light",
    "绿灯": "Green",
    "黄灯": "Yellow",
    "红灯": "Red",
    "已办结": "Finished",
    "接收时间": "Received",
    "期限": "Deadline",
    "地址": "Address",
    "描述": "Description",
    "主办单位": "Responsible unit",
    "案件数": "Cases",
    "每千人": "Per 1,000",
    "月份": "Month",
    "受理": "Received",
    "办结": "Closed",
    "按时办结": "Closed on time",
    "按时办结率": "On-time rate",
    "合计": "Total",
    "新案件": "New cases",
    "关闭": "Close",
    "全部": "All",
    "图例": "Legend",
    "网格化管理系统": "Grid Management System",
    "一图网尽社区情": "the whole community on one map",
    "退出": "Log out",
    "登录": "Log in",
    "起始日期": "From",
    "截止日期": "To",
    "热力指标": "Heat measure",
    "导出 CSV": "Export CSV",
    "导出 Excel": "Export Excel",
    "亮灯情况（在办案件）": "Lights (open cases)",
    "月度趋势": "Trend by month",
    "街道按时办结率排名": "Streets by on-time rate",
    "单位按时办结率排名": "Units by on-time rate",
    "无权访问": "Not allowed",
    "您的角色不能打开此页面。": "Your role cannot open this page.",
    "返回首页": "Back to your start page",
    "搜索": "Search",
    "姓名、房号、地址或楼栋编码": "Name, room, address or building code",
    "查找": "Find",
    "图层": "Layers",
    "社区专题": "Community figures",
    "全区": "Whole district",
    "全部社区": "All communities",
    "全部网格": "All grids",
    "网格着色": "Shade grids by",
    "不着色": "No shading",
    "任一标签": "Any tag",
    "案件筛选": "Case filters",
    "政务公开：案件受理与办结情况": "Open data: cases received and closed",
    "按街道、月份和类别汇总近12个月的案件；不公开任何个人信息、照片或具体位置。": (
        "Cases of the last 12 months by street, month and category group; no personal data, photo or exact "
        "location is published."
    ),
    "全部街道": "All streets",
    "人到户、户入楼、楼上图": "People to households, households to buildings, buildings on the map",
    "用户名或密码不正确，请重试。": "Wrong user name or password; please try again.",
    "您的账号无权访问该页面。": "Your account may not open that page.",
    "用户名": "User name",
    "密码": "Password",
    "政务公开：各街道案件办理情况": "Open data: how each street handles cases",
    "结束日期不能早于开始日期": "The end date cannot be before the start date",
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
    "网格员": "Grid worker",
    "办理端口": "Dispatcher",
    "管理人员": "Manager",
    "系统管理员": "Administrator",
    "已上报": "Reported",
    "已立案": "Registered",
    "已派遣": "Dispatched",
    "处置中": "Processing",
    "已处置": "Resolved",
    "已核查": "Verified",
    "已结案": "Closed",
    "不予立案": "Rejected",
    "已回退": "Returned",
    "挂账": "Suspended",
    "立案": "Register",
    "派遣": "Dispatch",
    "开始处置": "Start handling",
    "处置反馈": "Report handled",
    "核查通过": "Verified",
    "核查不通过，返工": "Not verified: rework",
    "结案": "Close",
    "回退": "Return",
    "恢复办理": "Resume",
    "申请延时": "Request extension",
    "审批延时": "Approve extension",
    "评价": "Evaluate",
    "就地解决": "Solved on the spot",
    "合并重复案件": "Merge as duplicate",
    "确认不是重复案件": "Not a duplicate",
    "上报": "Report",
    "按派遣规则（或原单位）": "By the routing rules (or the current unit)",
    "工作小时": "Working hours",
    "单元": "-",
    "名称": "Name",
    "人": "people",
    "照片不存在或您无权查看": "No such photo, or you may not see it",
    "已上报上级": "Escalated",
}


def escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def main() -> int:
    po = Path(__file__).parent / "en" / "LC_MESSAGES" / "django.po"
    text = po.read_text()
    entries = re.split(r"\n\n", text.strip())
    header = entries[0].replace("charset=CHARSET", "charset=UTF-8").replace("#, fuzzy\n", "")
    header = header.replace('"Language: \\n"', '"Language: en\\n"')
    out, missing = [header], []
    for entry in entries[1:]:
        match = re.search(r'msgid ((?:".*"\n?)+)msgstr', entry)
        if not match:
            out.append(entry)
            continue
        msgid = "".join(re.findall(r'"(.*)"', match.group(1)))
        english = EN.get(msgid)
        if english is None:
            missing.append(msgid)
            out.append(entry)
            continue
        head = entry[: entry.index("msgstr")]
        head = head.replace("#, fuzzy\n", "")
        out.append(head + f'msgstr "{escape(english)}"')
    po.write_text("\n\n".join(out) + "\n")
    for msgid in missing:
        print("untranslated:", msgid, file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
