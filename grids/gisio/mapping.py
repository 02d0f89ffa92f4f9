"""The fields of each importable layer, the column names recognised for them, and how values are read.

A field is found in a file by `--map field=COLUMN`, by the mapping file, or else by the first column whose
name (case, spaces, `_` and `-` ignored) is one of the field's usual names, English or Chinese
(编码/代码, 名称, 地址, 层数, 用途, 身份证号, 姓名, 性别, 出生日期, 电话, 户籍 …).
A field that is not in the file keeps its current value on rows that already exist; new rows get the
default. Values are converted here, and a value that cannot be converted refuses its row with the reason.
"""

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.core.exceptions import ValidationError

from grids import pii
from grids.models import BuildingUse, CareTag, HouseholdType, Residency, Sex, UnitType


class MappingError(ValueError):
    """A column cannot be found or a mapping option is wrong; the message says what to pass."""


@lru_cache(maxsize=65536)
def normalise_name(name: str) -> str:
    return re.sub(r"[\s_\-（）()]+", "", unicodedata.normalize("NFKC", str(name))).lower()


def is_blank(value: Any) -> bool:
    return (
        value is None or (isinstance(value, str) and not value.strip()) or (isinstance(value, float) and value != value)
    )


# --- Value conversion: each returns the stored value or raises ValueError(reason) ------------


def as_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()


def text(max_length: int) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        result = as_text(value)
        if len(result) > max_length:
            raise ValueError(f"{result[:20]!r}… is longer than {max_length} characters")
        return result

    def many(values: list[str]) -> list[str] | None:
        """convert() for a column of plain, non-blank strings at once; None when one fails (then value by value)."""
        result = [value.strip() for value in values]
        return None if result and max(map(len, result)) > max_length else result

    convert.many = many
    return convert


def code(pattern: str | None, max_length: int, description: str) -> Callable[[Any], str]:
    compiled = re.compile(pattern) if pattern else None

    def convert(value: Any) -> str:
        result = unicodedata.normalize("NFKC", as_text(value)).replace(" ", "")  # full-width digits too
        if len(result) > max_length or (compiled and not compiled.fullmatch(result)):
            raise ValueError(f"{result!r} is not {description}")
        return result

    def many(values: list[str]) -> list[str] | None:
        """convert() for a column of plain, non-blank strings at once: normalised in one call over the column
        joined by NUL (no character composes with NUL, so each value normalises as it would alone); None when a
        value fails (then value by value, for the message)."""
        joined = "\x00".join([value.strip() for value in values])
        if joined.count("\x00") != len(values) - 1:
            return None
        result = unicodedata.normalize("NFKC", joined).replace(" ", "").split("\x00")
        if len(result) != len(values) or (result and max(map(len, result)) > max_length):
            return None
        if compiled and not all(map(compiled.fullmatch, result)):
            return None
        return result

    convert.many = many
    return convert


def integer(minimum: int, maximum: int) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not a whole number")
        if isinstance(value, int | float):
            number = value
        else:
            cleaned = re.sub(r"[层楼F\s]", "", unicodedata.normalize("NFKC", str(value)), flags=re.IGNORECASE)
            try:
                number = float(cleaned)
            except ValueError:
                raise ValueError(f"{value!r} is not a whole number") from None
        if number != int(number):
            raise ValueError(f"{value!r} is not a whole number")
        if not minimum <= number <= maximum:
            raise ValueError(f"{int(number)} is outside {minimum}–{maximum}")
        return int(number)

    def many_ints(values: list[int]) -> list[int] | None:
        """convert() for a column of plain ints (what a GIS file's integer field gives) at once; None when one is
        out of range (then value by value, for the message)."""
        return values if values and minimum <= min(values) and max(values) <= maximum else None

    convert.many_ints = many_ints
    return convert


DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T].*)?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


def date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    cleaned = as_text(value)
    for pattern in DATE_PATTERNS:
        match = pattern.match(cleaned)
        if match:
            try:
                return dt.date(*(int(part) for part in match.groups()))
            except ValueError:
                break
    raise ValueError(f"{cleaned!r} is not a date (write it as 1980-01-31)")


def choice(choices, extra: dict[str, str] | None = None) -> Callable[[Any], str]:
    """A value of a TextChoices, from its value, its label or one of the `extra` synonyms."""
    table = {}
    for member in choices:
        table[normalise_name(member.value)] = member.value
        table[normalise_name(str(member.label))] = member.value
    for synonym, value in (extra or {}).items():
        table[normalise_name(synonym)] = value
    accepted = "、".join(str(member.label) for member in choices)

    def convert(value: Any) -> str:
        key = normalise_name(as_text(value))
        if key not in table:
            raise ValueError(f"{as_text(value)!r} is not one of {accepted}")
        return table[key]

    def many(values: list[str]) -> list[str] | None:
        """convert() for a column of non-blank strings, each distinct value once; None when one fails."""
        try:
            found = {value: convert(value) for value in set(values)}
        except ValueError:
            return None
        return list(map(found.__getitem__, values))

    convert.many = many
    return convert


care_tag = choice(
    CareTag, {"独居": "elderly_alone", "空巢": "empty_nest", "留守": "left_behind_child", "低保": "subsistence"}
)


def care_tags(value: Any) -> list[str]:
    tags = [care_tag(part) for part in re.split(r"[,，、;；/|\s]+", as_text(value)) if part]
    return sorted(set(tags))


def id_number(value: Any) -> tuple[dict[str, str], dt.date | None, str]:
    """The protected ID number fields (cipher, keyed hash, mask) with the birth date and sex the number encodes;
    the plain number goes no further."""
    if isinstance(value, float | int) and not isinstance(value, bool):
        raise ValueError("the ID number is stored as a number, which loses digits: format the column as text")
    try:
        plain = pii.normalize_id_number(unicodedata.normalize("NFKC", as_text(value)))
    except ValidationError as error:
        raise ValueError(" ".join(error.messages)) from None
    try:
        birth = pii.born_on(plain)
    except ValueError:
        raise ValueError("the ID number holds no valid birth date") from None
    return pii.protected_id_number(plain), birth, pii.sex_of(plain)


def phone(value: Any) -> dict[str, str]:
    try:
        return pii.protected_phone(unicodedata.normalize("NFKC", as_text(value)))
    except ValidationError as error:
        raise ValueError(" ".join(error.messages)) from None


# --- Layers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    name: str
    aliases: tuple[str, ...]
    convert: Callable[[Any], Any]
    required: bool = False  # the column must be in the file and the value filled in
    default: Any = None  # for a new row when the column is absent or the value blank
    cacheable: bool = True  # the same value always converts the same way (not so for protected fields)


@dataclass(frozen=True)
class Layer:
    name: str
    fields: tuple[Field, ...]
    geometry: str | None = None  # "multipolygon" or "polygon"
    parent_from_code: tuple[str, int] | None = None  # (field, prefix length) derived from the code when absent

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]


CODE = ("code", "bm", "dm", "编码", "代码", "编号")
NAME = ("name", "mc", "名称")


def _region(name: str, label: str, digits: str, parent: tuple[str, str, int, tuple[str, ...]] | None) -> Layer:
    fields = [
        Field(
            "code", (*CODE, f"{label}编码", f"{label}代码", f"{label}编号"), code(digits, 15, f"a {label} code"), True
        ),
        Field("name", (*NAME, f"{label}名称", f"{label}名"), text(64), True),
    ]
    derived = None
    if parent:
        parent_field, parent_label, prefix, parent_aliases = parent
        fields.append(
            Field(
                parent_field,
                (parent_field, *parent_aliases, f"{parent_label}编码", f"{parent_label}代码", f"所属{parent_label}"),
                code(rf"[0-9]{{{prefix}}}", prefix, f"a {parent_label} code"),
            )
        )
        derived = (parent_field, prefix)
    return Layer(name, tuple(fields), geometry="multipolygon", parent_from_code=derived)


BUILDING_CODE = (
    "building_code",
    "building",
    "楼栋编码",
    "楼栋代码",
    "楼栋编号",
    "建筑编码",
    "建筑物编码",
    "楼编码",
    "所属楼栋",
)
DWELLING = (
    Field("unit_no", ("unit_no", "unit", "单元", "单元号"), text(8), default=""),
    Field("floor", ("floor", "楼层", "所在楼层", "所在层"), integer(-10, 200), True),
    Field("room", ("room", "room_no", "房号", "房间号", "室号", "门牌号", "户号"), text(16), True),
)

LAYERS: dict[str, Layer] = {
    "districts": _region("districts", "区县", r"[0-9]{6}", None),
    "streets": _region("streets", "街道", r"[0-9]{9}", ("district_code", "区县", 6, ("district", "区编码", "区县"))),
    "communities": _region(
        "communities", "社区", r"[0-9]{12}", ("street_code", "街道", 9, ("street", "街道", "所属街道编码"))
    ),
    "grids": _region(
        "grids", "网格", r"[0-9]{14,15}", ("community_code", "社区", 12, ("community", "社区", "所属社区编码"))
    ),
    "buildings": Layer(
        "buildings",
        (
            Field("code", (*CODE, *BUILDING_CODE[2:]), code(None, 32, "a building code"), True),
            Field("name", (*NAME, "楼栋名称", "建筑名称", "建筑物名称", "楼名", "楼栋名"), text(128)),
            Field(
                "address", ("address", "addr", "dz", "地址", "门牌地址", "楼栋地址", "详细地址"), text(255), default=""
            ),
            Field(
                "floors", ("floors", "cs", "层数", "楼层数", "总层数", "地上层数", "floor_count"), integer(1, 200), True
            ),
            Field(
                "use",
                ("use", "yt", "用途", "建筑用途", "房屋用途", "使用性质"),
                choice(
                    BuildingUse,
                    {
                        "居住": "residential",
                        "住": "residential",
                        "商住": "mixed",
                        "商住两用": "mixed",
                        "公建": "public",
                        "公共": "public",
                        "公共建筑": "public",
                        "厂房": "industrial",
                    },
                ),
                default=BuildingUse.RESIDENTIAL.value,
            ),
        ),
        geometry="polygon",
    ),
    "households": Layer(
        "households",
        (
            Field("building_code", BUILDING_CODE, code(None, 32, "a building code"), True),
            *DWELLING,
            Field(
                "type",
                ("type", "户类型", "住户类型", "户别", "类型"),
                choice(HouseholdType, {"家庭": "family", "集体": "collective", "出租": "rental", "空置户": "vacant"}),
                default=HouseholdType.FAMILY.value,
            ),
        ),
    ),
    "persons": Layer(
        "persons",
        (
            Field(
                "id_number",
                (
                    "id_number",
                    "idno",
                    "idcard",
                    "id_card",
                    "sfzh",
                    "身份证号",
                    "身份证号码",
                    "公民身份号码",
                    "证件号码",
                ),
                id_number,
                True,
                cacheable=False,
            ),
            Field("name", ("name", "xm", "姓名"), text(64), True),
            Field(
                "sex", ("sex", "gender", "xb", "性别"), choice(Sex, {"1": "M", "2": "F", "male": "M", "female": "F"})
            ),
            Field("birth_date", ("birth_date", "birthday", "csrq", "出生日期", "出生年月日", "生日"), date),
            Field(
                "phone",
                ("phone", "mobile", "tel", "dh", "电话", "联系电话", "手机", "手机号", "手机号码"),
                phone,
                cacheable=False,
            ),
            Field(
                "residency",
                ("residency", "hj", "户籍", "户籍类型", "人口类型", "户籍性质"),
                choice(
                    Residency,
                    {
                        "户籍": "registered",
                        "本地": "registered",
                        "常住": "registered",
                        "流动": "floating",
                        "外来": "floating",
                        "暂住": "floating",
                        "暂住人口": "floating",
                    },
                ),
                default=Residency.REGISTERED.value,
            ),
            Field("relation", ("relation", "yhzgx", "与户主关系", "关系"), text(16), default=""),
            Field(
                "care_tags", ("care_tags", "tags", "标签", "关爱标签", "特殊人群", "人员类别"), care_tags, default=[]
            ),
            Field("building_code", BUILDING_CODE, code(None, 32, "a building code"), True),
            *DWELLING,
        ),
    ),
    "units": Layer(
        "units",
        (
            Field("code", (*CODE, "单位编码", "单位代码", "机构代码"), code(None, 32, "a unit code"), True),
            Field("name", (*NAME, "单位名称", "机构名称"), text(128), True),
            Field(
                "type",
                ("type", "单位类型", "机构类型", "类型"),
                choice(
                    UnitType,
                    {
                        "居委会": "community",
                        "社区": "community",
                        "街道办": "street_office",
                        "街道": "street_office",
                        "公安": "police_station",
                        "职能部门": "department",
                        "部门": "department",
                    },
                ),
                True,
            ),
            Field(
                "parent_code",
                ("parent_code", "parent", "上级单位编码", "上级编码", "上级单位代码", "上级单位"),
                code(None, 32, "a unit code"),
            ),
            Field("phone", ("phone", "duty_phone", "tel", "值班电话", "电话", "联系电话"), text(32), default=""),
        ),
        geometry="multipolygon",
    ),
}


# --- Finding the columns -----------------------------------------------------------------------


def parse_map_options(items: list[str] | None) -> dict[str, str]:
    """`--map field=COLUMN` options as a dict."""
    result = {}
    for item in items or []:
        field_name, sep, column = item.partition("=")
        if not sep or not field_name.strip() or not column.strip():
            raise MappingError(f"--map {item!r}: write it as --map field=COLUMN, e.g. --map code=BM")
        result[field_name.strip()] = column.strip()
    return result


def resolve_columns(layer: Layer, columns: list[str], overrides: dict[str, str], *, reserved=()) -> dict[str, str]:
    """field -> column of the file for every field found; raises MappingError naming what to pass."""
    from grids.gisio.readers import GEOMETRY_KEYS

    unknown = sorted(set(overrides) - set(layer.field_names) - set(GEOMETRY_KEYS))
    if unknown:
        raise MappingError(
            f"{layer.name} has no field {', '.join(unknown)}; its fields: {', '.join(layer.field_names)}"
        )
    lookup: dict[str, str] = {}
    for column in columns:
        lookup.setdefault(normalise_name(column), column)
    taken = set(reserved)
    found: dict[str, str] = {}
    for field_spec in layer.fields:
        if field_spec.name in overrides:
            column = overrides[field_spec.name]
            if column not in columns:
                raise MappingError(
                    f"--map {field_spec.name}={column}: the file has no column {column!r}; "
                    f"its columns: {', '.join(columns)}"
                )
            found[field_spec.name] = column
            taken.add(column)
    for field_spec in layer.fields:
        if field_spec.name in found:
            continue
        for alias in field_spec.aliases:
            column = lookup.get(normalise_name(alias))
            if column is not None and column not in taken:
                found[field_spec.name] = column
                taken.add(column)
                break
    missing = [f for f in layer.fields if f.required and f.name not in found]
    if missing:
        lines = [
            f"{layer.name}: the file has no column for "
            + ", ".join(f"{f.name} (looked for {', '.join(f.aliases[:6])})" for f in missing)
            + ".",
            f"Columns found: {', '.join(columns) or '(none)'}.",
            "Name them with " + " ".join(f"--map {f.name}=COLUMN" for f in missing) + " or a mapping file (--mapping).",
        ]
        raise MappingError("\n".join(lines))
    return found
