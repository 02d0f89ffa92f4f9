"""The import as an upload in the admin: the same import_layer, a dry run first, then commit.

Wire it with `register_import_view(admin.site)` (in grids/admin.py); the page is then at
/admin/grids/import/ (URL name `admin:grids_import`). Administrators only (superusers or staff with the
admin role). A Shapefile is uploaded as a .zip of its .shp, .shx, .dbf, .prj and .cpg.

A commit of IMPORT_JOB_MIN_BYTES or more is not written within the request: the upload goes to the file storage,
an ImportJob is queued for the worker (jobs.services.run_import) and the browser is sent to the job's page,
/admin/grids/import/<id>/, which shows its progress and then its report (refused rows as CSV:
/admin/grids/import/<id>/refused.csv).
"""

import csv
import io
import tempfile
from collections.abc import Callable
from pathlib import Path

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template import engines
from django.template.defaultfilters import filesizeformat
from django.urls import path
from django.utils.translation import gettext_lazy as _

from grids.gisio.importers import ImportFailure, ImportOptions, LayerImport
from grids.gisio.mapping import LAYERS, MappingError, parse_map_options
from grids.gisio.readers import SUFFIXES
from grids.gisio.report import ImportReport
from grids.models import Role
from jobs import services as jobs
from jobs.models import ImportJob, JobState

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
  <p class="help">{{ big_note }}</p>
  {% if recent %}<h2>{{ recent_title }}</h2><ul id="import-jobs">{% for job in recent %}
    <li><a href="{% url 'admin:grids_import_job' job.pk %}">{{ job.source_name }} → {{ job.layer }}</a>
      {{ job.get_state_display }} · {{ job.created_at }}</li>{% endfor %}</ul>{% endif %}
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


def options_of(form: ImportForm) -> dict:
    """The import options of a valid form, as a job keeps them."""
    data = form.cleaned_data
    return {
        "mapping": data["mapping"],
        "source_layer": data["source_layer"] or None,
        "encoding": data["encoding"] or None,
        "crs": data["crs"] or None,
        "commit": data["commit"],
        "skip_refused": data["skip_refused"],
    }


def import_file(
    layer: str,
    path: Path,
    options: dict,
    *,
    actor: str,
    on_count: Callable[[int | None], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[ImportReport, list]:
    """Import a file (in the request, or on the worker for a job): the report and the buildings it added, with the
    grid each fell into (raises ImportFailure when it cannot start)."""
    from grids.models import Building

    before = set(Building.objects.values_list("id", flat=True)) if layer == "buildings" else None
    run = LayerImport(layer, path, ImportOptions(**options, actor=actor))
    if on_count:
        on_count(run.count)
    report = run.run(on_progress)
    placed = []
    if before is not None and report.written:
        placed = list(Building.objects.exclude(id__in=before).select_related("grid").order_by("code")[:500])
    return report, placed


def run_upload(form: ImportForm, *, actor: str) -> tuple[str, list]:
    """Run the import of a valid form's upload in the request: the summary text and the buildings it added."""
    upload = form.cleaned_data["file"]
    with tempfile.TemporaryDirectory(prefix="gridmgmt-import-") as folder:
        target = Path(folder) / Path(upload.name).name
        with target.open("wb") as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
        report, placed = import_file(form.cleaned_data["layer"], target, options_of(form), actor=actor)
    return "\n".join(report.lines(show=50)), placed


def import_view(site):
    def view(request):
        if not may_import(request.user):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        summary = error = ""
        placed: list = []
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            if jobs.import_as_job(upload, commit=form.cleaned_data["commit"]):
                job = jobs.start_import(
                    user=request.user, layer=form.cleaned_data["layer"], upload=upload, options=options_of(form)
                )
                return redirect("admin:grids_import_job", pk=job.pk)
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
            "recent": ImportJob.objects.filter(requested_by=request.user).order_by("-created_at")[:10],
            "recent_title": _("后台导入任务"),
            "big_note": _("大于 %(size)s 的文件写入时在后台进行，页面显示进度和结果。")
            % {"size": filesizeformat(settings.IMPORT_JOB_MIN_BYTES)},
        }
        template = engines["django"].from_string(TEMPLATE)
        return HttpResponse(template.render(context, request))

    return view


JOB_TEMPLATE = """{% extends "admin/base_site.html" %}
{% block title %}{{ title }} | {{ site_title|default:"Django site admin" }}{% endblock %}
{% load i18n %}
{% block extrahead %}{{ block.super }}
{% if not finished %}<meta http-equiv="refresh" content="2">{% endif %}{% endblock %}
{% block breadcrumbs %}<div class="breadcrumbs">
<a href="{% url 'admin:index' %}">{% translate "首页" %}</a> &rsaquo;
<a href="{% url 'admin:grids_import' %}">{% translate "导入图层" %}</a> &rsaquo; {{ title }}</div>
{% endblock %}
{% block content %}
<div id="content-main">
  <p>{{ job.source_name }} → {{ job.layer }} · {{ size }}</p>
  <p id="import-job-state" data-state="{{ job.state }}">{{ state_label }}：<strong>{{ job.get_state_display }}</strong>
    {% if not finished %}· {{ refresh_note }}{% endif %}</p>
  <p><progress id="import-job-progress" max="100"{% if percent is not None %} value="{{ percent }}"{% endif %}>
    </progress> <span id="import-job-rows">{{ rows }}</span></p>
  {% if job.error %}<h2>{{ error_title }}</h2>
  <pre class="errornote" id="import-job-error">{{ job.error }}</pre>{% endif %}
  {% if report %}<h2>{{ summary_title }}</h2>
  <table id="import-job-counts"><tbody>{% for label, value in counts %}
    <tr><th>{{ label }}</th><td>{{ value }}</td></tr>{% endfor %}</tbody></table>
  {% if report.refused_rows %}<p><a id="import-job-refused" href="{% url 'admin:grids_import_job_refused' job.pk %}">
    {{ refused_link }}</a></p>{% endif %}
  <pre id="import-summary">{{ summary }}</pre>
  {% if report.placed %}<h2>{{ placed_title }}</h2>
  <table id="import-placed"><thead><tr><th>{{ building_label }}</th><th>{{ grid_label }}</th></tr></thead><tbody>
  {% for building in report.placed %}<tr data-building="{{ building.code }}">
    <td>{{ building.name }} ({{ building.code }})</td>
    <td>{% if building.grid %}<a href="/map/?grid={{ building.grid.code|urlencode }}">
      {{ building.grid.name }} ({{ building.grid.code }})</a>{% else %}{{ no_grid }}{% endif %}</td></tr>{% endfor %}
  </tbody></table>{% endif %}{% endif %}
</div>
{% endblock %}
"""


def _import_job(request, pk) -> ImportJob:
    if not may_import(request.user):
        raise PermissionDenied
    job = ImportJob.objects.filter(pk=pk).first()
    if job is None or (job.requested_by_id != request.user.pk and not request.user.is_superuser):
        raise Http404(_("没有这个导入任务。"))
    return job


def import_job_view(site):
    def view(request, pk):
        job = _import_job(request, pk)
        report = job.report or {}
        finished = job.state in (JobState.DONE, JobState.FAILED)
        rows = (
            _("已读 %(done)s / %(total)s 行") % {"done": job.rows_done, "total": job.rows_total}
            if job.rows_total is not None
            else _("已读 %(done)s 行") % {"done": job.rows_done}
        )
        context = {
            **site.each_context(request),
            "title": _("导入任务"),
            "job": job,
            "finished": finished,
            "size": filesizeformat(job.upload_size),
            "percent": job.percent,
            "rows": rows,
            "state_label": _("状态"),
            "refresh_note": _("本页每 2 秒刷新一次，可离开本页，导入在后台继续。"),
            "report": report,
            "counts": [
                (_("已写入") if report.get("written") else _("未写入（有被拒绝的行）"), ""),
                (_("读取"), report.get("read")),
                (_("新增"), report.get("new")),
                (_("修改"), report.get("changed")),
                (_("未变"), report.get("unchanged")),
                (_("被拒绝"), report.get("refused")),
            ]
            if report
            else [],
            "summary": "\n".join(report.get("summary", [])),
            "summary_title": _("结果"),
            "refused_link": _("下载被拒绝的行及原因（CSV）"),
            "error_title": _("无法导入该文件"),
            "placed_title": _("新增楼栋所在网格"),
            "building_label": _("楼栋"),
            "grid_label": _("所在网格"),
            "no_grid": _("不在任何网格内"),
        }
        return HttpResponse(engines["django"].from_string(JOB_TEMPLATE).render(context, request))

    return view


def import_job_refused_view(request, pk):
    """The refused rows an import job kept, with why, as CSV (UTF-8 with a BOM, for Excel)."""
    job = _import_job(request, pk)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([_("行号"), _("原因")])
    writer.writerows((job.report or {}).get("refused_rows", []))
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="refused-{job.pk}.csv"'
    return response


def register_import_view(site) -> None:
    """Add /admin/grids/import/ (`admin:grids_import`) and the pages of its jobs to an AdminSite."""
    original = site.get_urls

    def get_urls():
        return [
            path("grids/import/", site.admin_view(import_view(site)), name="grids_import"),
            path("grids/import/<uuid:pk>/", site.admin_view(import_job_view(site)), name="grids_import_job"),
            path(
                "grids/import/<uuid:pk>/refused.csv",
                site.admin_view(import_job_refused_view),
                name="grids_import_job_refused",
            ),
            *original(),
        ]

    site.get_urls = get_urls


# Words of templates/admin/index.html (the link to this page from the admin index), listed here so that the grids
# catalogue carries their English.
ADMIN_INDEX_LABELS = [_("数据导入"), _("导入图层（区划、网格、楼栋、住户、人员、单位）"), _("首页")]
