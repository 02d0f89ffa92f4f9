"""Jobs of the task queue's worker: exports (a layer written to a file, downloaded when done) and large imports
(an uploaded layer written to the database), each with its progress."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class JobState(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("进行中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


class ExportJob(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="export_jobs", verbose_name=_("申请人")
    )
    role = models.CharField(_("导出角色"), max_length=16)
    layer = models.CharField(_("图层"), max_length=32)
    fmt = models.CharField(_("格式"), max_length=8)
    filters = models.JSONField(_("筛选条件"), default=dict, blank=True)
    state = models.CharField(_("状态"), max_length=8, choices=JobState.choices, default=JobState.QUEUED)
    rows_done = models.PositiveBigIntegerField(_("已写行数"), default=0)
    rows_total = models.PositiveBigIntegerField(_("总行数"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("执行次数"), default=0)
    error = models.TextField(_("错误"), blank=True, default="")
    file_name = models.CharField(_("文件"), max_length=200, blank=True, default="")  # in the file storage
    file_size = models.PositiveBigIntegerField(_("文件大小"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    # Refreshed with each chunk of rows written: a job that stops refreshing it has lost its worker.
    heartbeat_at = models.DateTimeField(_("最近进展"), auto_now_add=True)

    class Meta:
        verbose_name = _("导出任务")
        verbose_name_plural = _("导出任务")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "heartbeat_at"], name="jobs_export_stalled")]

    def __str__(self) -> str:
        return f"{self.layer}.{self.fmt} ({self.get_state_display()})"


class ImportJob(models.Model):
    """An administrator's upload of a layer too large to write within the web request (IMPORT_JOB_MIN_BYTES): the
    worker runs the same import (grids.gisio.importers) and keeps its report."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="import_jobs", verbose_name=_("申请人")
    )
    layer = models.CharField(_("图层"), max_length=32)
    source_name = models.CharField(_("上传的文件名"), max_length=255)
    upload = models.CharField(_("上传文件"), max_length=300, blank=True, default="")  # in the file storage
    upload_size = models.PositiveBigIntegerField(_("文件大小"), default=0)
    options = models.JSONField(_("导入选项"), default=dict, blank=True)
    state = models.CharField(_("状态"), max_length=8, choices=JobState.choices, default=JobState.QUEUED)
    rows_done = models.PositiveBigIntegerField(_("已读行数"), default=0)
    rows_total = models.PositiveBigIntegerField(_("总行数"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("执行次数"), default=0)
    error = models.TextField(_("错误"), blank=True, default="")
    report = models.JSONField(_("导入结果"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("最近进展"), auto_now_add=True)

    class Meta:
        verbose_name = _("导入任务")
        verbose_name_plural = _("导入任务")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "heartbeat_at"], name="jobs_import_stalled")]

    def __str__(self) -> str:
        return f"{self.layer} ← {self.source_name} ({self.get_state_display()})"

    @property
    def percent(self) -> int | None:
        if self.state == JobState.DONE:
            return 100
        if not self.rows_total:
            return None
        return min(99, self.rows_done * 100 // self.rows_total)
