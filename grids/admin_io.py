"""The import as an upload in the admin: the same import_layer, a dry run first, then commit.

Wire it with `register_import_view(admin.site)` (in grids/admin.py); the page is then at
/admin/grids/import/ (URL name `admin:grids_import`). Administrators only (superusers or staff with the
admin role). A Shapefile is uploaded as a .zip of its .shp, .shx, .dbf, .prj and .cpg.
"""

import tempfile
from pathlib import Path

from django import forms
from django.core.exceptions import PermissionDenied
from django.template import engines
from django.urls import path
from django.utils.translation import gettext_lazy as _

from grids.gisio.importers import ImportFailure, ImportOptions, LayerImport
from grids.gisio.mapping import LAYERS, MappingError, parse_map_options
from grids.gisio.readers import SUFFIXES
from grids.models import Role

TEMPLATE = """{% extends "admin/base_site.html" %}
{% block title %}{{ title }} | {{ site_title|default:"Django site admin" }}{% endblock %}
{% load i18n %}{% block breadcrumbs %}<div class="breadcrumbs">
<a href="{% url 'admin:index' %}">{% translate "首页" %}</a> &rsaquo; {{ title }}</div>
{% endblock %}
{% block content %}
<div id="content-main">
  <p>{{ help }}</p>
  <form method="post" enctype="multipart/form-data">{% csrf_token %}
    <fieldset class="module aligned">{% for field in form %}
      <div class="form-row">{{ field.errors }}{{ field.label_tag }} {{ field }}
        {% if field.help_text %}<div class="help">{{ field.help_text }}</div>{% endif %}</div>{% endfor %}
    </fieldset>
    <div class="submit-row"><input type="submit" class="default" value="{{ submit }}"></div>
  </form>
  {% if error %}<h2>{{ error_title }}</h2><pre class="errornote">{{ error }}</pre>{% endif %}
  {% if summary %}<h2>{{ summary_title }}</h2><pre id="import-summary">{{ summary }}</pre>{% endif %}
  {% if placed %}<h2>{{ placed_title }}</h2>
  <table id="import-placed"><thead><tr><th>{{ building_label }}</th><th>{{ grid_label }}</th></tr></thead><tbody>
  {% for building in placed %}<tr data-building="{{ building.code }}"><td>{{ building.name }} ({{ building.code }})</td>
    <td>{% if building.grid %}<a href="/map/?grid={{ building.grid.code|urlencode }}">
      {{ building.grid.name }} ({{ building.grid.code }})</a>{% else %}{{ no_grid }}{% endif %}</td></tr>{% endfor %}
  </tbody></table>{% endif %}
</div>
{% endblock %}
"""


class ImportForm(forms.Form):
    layer = forms.ChoiceField(label=_("图层"), choices=[(name, name) for name in LAYERS])
    file = forms.FileField(
        label=_("文件"),
        help_text=_(".gpkg、.geojson、.csv、.xlsx，或装有 Shapefile（.shp .dbf .prj .cpg）的 .zip"),
    )
    mapping = forms.CharField(
        label=_("字段对应"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 40}),
        help_text=_("每行一个 字段=列名，例如 code=BM（常用列名会自动识别）"),
    )
    crs = forms.CharField(
        label=_("坐标系"), required=False, help_text=_("EPSG:4490、EPSG:4543、gcj02 …（默认：文件自带）")
    )
    encoding = forms.CharField(label=_("编码"), required=False, help_text=_("GBK、UTF-8 …（默认：自动识别）"))
    source_layer = forms.CharField(label=_("文件中的图层或工作表"), required=False)
    commit = forms.BooleanField(label=_("写入（否则只试运行）"), required=False)
    skip_refused = forms.BooleanField(label=_("即使有行被拒绝，也写入其余正确的行"), required=False)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        suffix = Path(upload.name).suffix.lower()
        if suffix not in SUFFIXES or suffix in (".shp",):
            raise forms.ValidationError(_("请上传 .gpkg、.geojson、.csv、.xlsx 文件，或打包为 .zip 的 Shapefile。"))
        return upload

    def clean_mapping(self):
        lines = [line.strip() for line in self.cleaned_data["mapping"].splitlines() if line.strip()]
        try:
            return parse_map_options(lines)
        except MappingError as error:
            raise forms.ValidationError(str(error)) from error


def may_import(user) -> bool:
    if user.is_superuser:
        return True
    staff = getattr(user, "staff", None)
    return staff is not None and staff.role == Role.ADMIN


def run_upload(form: ImportForm, *, actor: str) -> tuple[str, list]:
    """Run the import of a valid form's upload: the summary text and the buildings it added, with the grid each fell
    into (raises ImportFailure when it cannot start)."""
    from grids.models import Building

    data = form.cleaned_data
    before = set(Building.objects.values_list("id", flat=True)) if data["layer"] == "buildings" else None
    upload = data["file"]
    with tempfile.TemporaryDirectory(prefix="gridmgmt-import-") as folder:
        target = Path(folder) / Path(upload.name).name
        with target.open("wb") as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
        options = ImportOptions(
            mapping=data["mapping"],
            source_layer=data["source_layer"] or None,
            encoding=data["encoding"] or None,
            crs=data["crs"] or None,
            commit=data["commit"],
            skip_refused=data["skip_refused"],
            actor=actor,
        )
        report = LayerImport(data["layer"], target, options).run()
    placed = []
    if before is not None and report.written:
        placed = list(Building.objects.exclude(id__in=before).select_related("grid").order_by("code")[:500])
    return "\n".join(report.lines(show=50)), placed


def import_view(site):
    def view(request):
        if not may_import(request.user):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        summary = error = ""
        placed: list = []
        if request.method == "POST" and form.is_valid():
            try:
                summary, placed = run_upload(form, actor=request.user.get_username())
            except ImportFailure as failure:
                error = str(failure)
        context = {
            **site.each_context(request),
            "title": _("导入图层"),
            "help": _(
                "试运行显示将会发生的变化（新增、修改、未变、被拒绝的行及原因）；勾选“写入”才会提交。"
                "按编码匹配各行；全部在一个事务中写入。"
            ),
            "submit": _("导入"),
            "form": form,
            "summary": summary,
            "summary_title": _("结果"),
            "error": error,
            "error_title": _("无法导入该文件"),
            "placed": placed,
            "placed_title": _("新增楼栋所在网格"),
            "building_label": _("楼栋"),
            "grid_label": _("所在网格"),
            "no_grid": _("不在任何网格内"),
        }
        template = engines["django"].from_string(TEMPLATE)
        from django.http import HttpResponse

        return HttpResponse(template.render(context, request))

    return view


def register_import_view(site) -> None:
    """Add /admin/grids/import/ (`admin:grids_import`) to an AdminSite."""
    original = site.get_urls

    def get_urls():
        return [path("grids/import/", site.admin_view(import_view(site)), name="grids_import"), *original()]

    site.get_urls = get_urls


# Words of templates/admin/index.html (the link to this page from the admin index), listed here so that the grids
# catalogue carries their English.
ADMIN_INDEX_LABELS = [_("数据导入"), _("导入图层（区划、网格、楼栋、住户、人员、单位）"), _("首页")]
