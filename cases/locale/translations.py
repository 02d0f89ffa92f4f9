"""English for the cases catalogue (desk, statistics, messages): `python cases/locale/translations.py` fills
en/LC_MESSAGES/django.po (made by `cd cases && manage.py makemessages -l en`) with these strings; then
`msgfmt` (or `manage.py compilemessages`) makes the .mo. Strings not listed stay Chinese (or come from another
app's catalogue, e.g. the state and action labels in the maps')."""

import re
import sys
from pathlib import Path

EN = {
    # Desk
    "办理台": "Desk",
    "全部案件": "All cases",
    "只读": "read-only",
    "在办案件": "Open cases",
    "全部": "All",
    "状态": "State",
    "亮灯": "Light",
    "类别": "Category",
    "等级": "Level",
    "街道": "Street",
    "网格": "Grid",
    "起始日期": "From",
    "截止日期": "To",
    "筛选": "Filter",
    "重置": "Reset",
    "已忽略无效的筛选条件": "Invalid filter ignored",
    "共 %(n)s 件": "%(n)s cases",
    "案件编号": "Case number",
    "地址": "Address",
    "主办单位": "Responsible unit",
    "协办单位": "Co-handling units",
    "协办": "co-handling",
    "疑似重复": "Likely duplicate",
    "环节剩余（工作小时）": "Step time left (working hours)",
    "接收时间": "Received",
    "没有符合条件的案件": "No cases match",
    "上一页": "Previous",
    "下一页": "Next",
    "返回案件队列": "Back to the queue",
    "案件信息": "Case",
    "来源": "Source",
    "描述": "Description",
    "上报人": "Reporter",
    "采集时间": "Captured",
    "派遣单位": "Dispatched by",
    "派遣依据": "Routing",
    "当前环节": "Current step",
    "期限": "deadline",
    "剩余 %(h)s 工作小时": "%(h)s working hours left",
    "案件期限": "Case deadline",
    "挂账时间": "Suspended at",
    "待批延时": "Extension requested",
    "工作小时": "working hours",
    "结案时间": "Closed",
    "评价": "Evaluation",
    "位置": "Location",
    "照片": "Photos",
    "处置前": "before",
    "处置后": "after",
    "可执行操作": "Actions",
    "办理意见": "Note",
    "派遣至": "Dispatch to",
    "本单位（或按派遣规则）": "Own unit (or by the routing rules)",
    "申请延时（工作小时）": "Extension (working hours)",
    "评分": "Score",
    "同意延时": "Approve extension",
    "不同意延时": "Refuse extension",
    "当前没有您可以执行的操作": "Nothing for you to do on this case now",
    "办理环节及责任主体": "Steps and responsible units",
    "办理环节图": "Chart of the steps",
    "环节": "Step",
    "责任单位": "Unit",
    "开始": "Started",
    "结束": "Ended",
    "用时（工作小时）": "Time taken (working hours)",
    "时限": "Limit",
    "按时": "On time",
    "超时": "Late",
    "进行中": "running",
    "办理过程": "History",
    "操作成功": "Done",
    "操作失败": "Failed",
    "操作未执行": "Not done",
    "案件已更新，正在刷新…": "The case has changed; reloading…",
    "自上报起（小时）": "Hours since the report",
    "案件位置": "Case location",
    "上报": "Report",
    "案件不存在或您无权查看": "No such case, or you may not see it",
    # Statistics
    "上报数": "Reports",
    "有效上报数": "Valid reports",
    "立案数": "Registered",
    "不予立案数": "Rejected",
    "派遣数": "Dispatches",
    "结案数": "Closed",
    "按期结案数": "Closed on time",
    "按期结案率": "Closed on time (%)",
    "结案率": "Closure rate (%)",
    "就地解决数": "Solved on the spot",
    "在办案件数": "Open cases",
    "绿灯": "Green",
    "黄灯": "Yellow",
    "红灯": "Red",
    "有效上报率": "Valid reports (%)",
    "核查数": "Verifications",
    "按时核查数": "Verified on time",
    "按时核查率": "Verified on time (%)",
    "应处置数": "To handle",
    "已处置数": "Handled",
    "按时处置数": "Handled on time",
    "按时处置率": "Handled on time (%)",
    "超时数": "Overdue",
    "在办未超时数": "Running, not overdue",
    "回退数": "Returned",
    "返工数": "Reworked",
    "平均处置用时（工作小时）": "Mean time to handle (working hours)",
    "按时派遣数": "Dispatched on time",
    "按时派遣率": "Dispatched on time (%)",
    "准确派遣数": "Accurate dispatches",
    "准确派遣率": "Accurate dispatches (%)",
    "按时立案数": "Registered on time",
    "按时立案率": "Registered on time (%)",
    "次数": "Count",
    "平均用时（工作小时）": "Mean (working hours)",
    "用时中位数（工作小时）": "Median (working hours)",
    "平均时限（工作小时）": "Mean limit (working hours)",
    "按时数": "On time",
    "按时率": "On time (%)",
    "12345热线": "12345 hotline",
    "网格员上报": "Grid worker",
    "窗口受理": "Desk",
    "系统": "System",
    "区划或网格编码，例如 510403001": "Region or grid code, e.g. 510403001",
    "起始日期（含），默认本月1日；趋势默认12个月": "First day (included); default the 1st of this month, "
    "for the trend the past 12 months",
    "截止日期（含），默认今天": "Last day (included); default today",
    "按编号指定区域时需给出层级 level": "Give the level with an id",
    "region 与 id 只能给一种": "Give region or id, not both",
    "日期应在2000年至2100年之间": "Dates must lie between 2000 and 2100",
    "统计期间不能超过三年": "The period may not exceed three years",
    "结束日期不能早于开始日期": "The end date may not be before the start date",
}
# Steps (环节), as distinct from the actions of the same name.
EN_STEP = {"立案": "Registration", "派遣": "Dispatch", "处置": "Handling", "核查": "Verification", "结案": "Closing",
           "挂账": "Suspended"}  # fmt: skip


def fill(path: Path) -> int:
    text = path.read_text(encoding="utf-8")
    count = 0

    def replace(match: re.Match) -> str:
        nonlocal count
        context, msgid, plural = match.group(1), match.group(2), match.group(3)
        english = EN_STEP.get(msgid) if context == "step" else EN.get(msgid)
        if english is None:
            return match.group(0)
        count += 1
        escaped = english.replace("\\", "\\\\").replace('"', '\\"')
        head = f'msgctxt "{context}"\n' if context else ""
        if plural is not None:
            return f'{head}msgid "{msgid}"\nmsgid_plural "{plural}"\nmsgstr[0] "{escaped}"\nmsgstr[1] "{escaped}"'
        return f'{head}msgid "{msgid}"\nmsgstr "{escaped}"'

    text = re.sub(
        r'(?:msgctxt "([^"]*)"\n)?msgid "((?:[^"\\]|\\.)+)"\n(?:msgid_plural "((?:[^"\\]|\\.)*)"\n)?'
        r'msgstr(?:\[0\])? "[^\n]*"(?:\nmsgstr\[1\] "[^\n]*")?',
        replace,
        text,
    )
    text = text.replace(
        '"Plural-Forms: nplurals=INTEGER; plural=EXPRESSION;\\n"', '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"'
    )
    text = text.replace("#, fuzzy\n", "", 1)
    path.write_text(text, encoding="utf-8")
    return count


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "en" / "LC_MESSAGES" / "django.po"
    print(f"{fill(target)} strings filled in {target}")
