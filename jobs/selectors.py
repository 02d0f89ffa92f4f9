from jobs.models import ExportJob

RECENT = 20


def jobs_of(user) -> list[ExportJob]:
    return list(ExportJob.objects.filter(requested_by=user)[:RECENT])


def job_for(user, pk) -> ExportJob | None:
    """The job if `user` asked for it (an administrator sees every job)."""
    jobs = ExportJob.objects.select_related("requested_by")
    if not user.is_superuser:
        jobs = jobs.filter(requested_by=user)
    return jobs.filter(pk=pk).first()
