# ruff: noqa: E501 (a table of translations: one pair a line)
"""English for the grids catalogue (the desk's registry queue and the registry's choice labels not already in the
maps catalogue, whose English serves every page):
`python grids/locale/translations.py` fills en/LC_MESSAGES/django.po (made by `cd grids && manage.py makemessages
-l en`) with these strings; then `msgfmt` (or `manage.py compilemessages`) makes the .mo. Strings not listed stay
Chinese (or come from another app's catalogue)."""

import sys
from pathlib import Path

EN = {
    # The registry queue at /desk/registry/
    "信息采集审核": "Registry requests",
    "全部辖区": "All areas",
    "申请": "Requests",
    "待审核": "Pending",
    "已处理": "Decided",
    "已通过": "Approved",
    "已驳回": "Rejected",
    "所在楼栋": "Building",
    "%(unit)s 单元": "unit %(unit)s",
    "%(floor)s 层": "floor %(floor)s",
    "新增住户申请": "Request adding the household",
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
    "住户类型": "Household type",
    "出生日期": "Birth date",
    "与户主关系": "Relation to head",
    "人口类型": "Residency",
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
    # Model and field names (admin)
    "编码": "Code",
    "边界": "Boundary",
    "区县": "District",
    "所属区县": "District",
    "所属街道": "Street",
    "所属社区": "Community",
    "楼栋编码": "Code",
    "层数": "Floors",
    "用途": "Use",
    "轮廓": "Footprint",
    "所在网格": "Grid",
    "更新时间": "Updated at",
    "所在住户": "Household",
    "身份证号密文": "ID number (encrypted)",
    "身份证号摘要": "ID number (keyed hash)",
    "电话密文": "Phone (encrypted)",
    "电话摘要": "Phone (keyed hash)",
    "单位编码": "Code",
    "单位类型": "Type",
    "辖区": "Jurisdiction",
    "值班电话": "Duty phone",
    "账号": "User",
    "角色": "Role",
    "所属单位": "Unit",
    "负责网格": "Grids",
    "管辖街道": "Street",
    "管辖社区": "Community",
    "工作人员": "Staff",
    "终端请求编号": "Client UUID",
    "内容指纹": "Fingerprint",
    "变更类型": "Kind",
    "拟变更内容": "Proposed fields",
    "变更前内容": "Previous fields",
    "网格员说明": "Worker's note",
    "采集时间（设备）": "Captured at (device)",
    "审核人": "Decided by",
    "审核单位": "Decided unit",
    "审核时间": "Decided at",
    "信息采集变更": "Registry change",
    # The import page (admin)
    "首页": "Home",
    "新增楼栋所在网格": "The grid each new building fell into",
    "不在任何网格内": "In no grid",
    "图层": "Layer",
    "文件": "File",
    ".gpkg、.geojson、.csv、.xlsx，或装有 Shapefile（.shp .dbf .prj .cpg）的 .zip": ".gpkg, .geojson, .csv, .xlsx, or a .zip holding a Shapefile (.shp .dbf .prj .cpg)",
    "字段对应": "Columns",
    "每行一个 字段=列名，例如 code=BM（常用列名会自动识别）": "One field=COLUMN per line, e.g. code=BM (columns with usual names are found by themselves)",
    "坐标系": "CRS",
    "EPSG:4490、EPSG:4543、gcj02 …（默认：文件自带）": "EPSG:4490, EPSG:4543, gcj02 … (default: the file's)",
    "GBK、UTF-8 …（默认：自动识别）": "GBK, UTF-8 … (default: detected)",
    "文件中的图层或工作表": "Layer or sheet in the file",
    "写入（否则只试运行）": "Write (otherwise a dry run)",
    "即使有行被拒绝，也写入其余正确的行": "Write the good rows even if some are refused",
    "请上传 .gpkg、.geojson、.csv、.xlsx 文件，或打包为 .zip 的 Shapefile。": "Upload a .gpkg, .geojson, .csv, .xlsx file, or a Shapefile as a .zip.",
    "导入图层": "Import a layer",
    "试运行显示将会发生的变化（新增、修改、未变、被拒绝的行及原因）；勾选“写入”才会提交。按编码匹配各行；全部在一个事务中写入。": "A dry run shows what would change (new, changed, unchanged, refused rows and why); tick “write” to commit. Rows are matched by code; everything is written in one transaction.",
    "导入": "Import",
    "结果": "Summary",
    "无法导入该文件": "The file cannot be imported",
    "数据导入": "Import",
    "导入图层（区划、网格、楼栋、住户、人员、单位）": (
        "Import a layer (regions, grids, buildings, households, people, units)"
    ),
}


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from gridmgmt.translations import fill_catalogue

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "en" / "LC_MESSAGES" / "django.po"
    filled, _untranslated = fill_catalogue(target, EN)
    print(f"{filled} strings filled in {target}")
