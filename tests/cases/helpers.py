"""Small helpers for case tests: people with roles, reports, actions, photos to cite."""

import secrets

from django.contrib.gis.geos import Point
from rest_framework.test import APIClient

from cases import services
from cases.models import Case, Category, Source
from grids.models import Role
from mobileapi.models import Photo
from tests.factories import StaffFactory


def person(role: str = Role.WORKER, *, unit=None, grids=(), username: str | None = None):
    fields = {"role": role, "unit": unit, "grids": list(grids)}
    if username:
        fields["user__username"] = username
    return StaffFactory(**fields).user


def dispatcher(unit, username: str | None = None):
    return person(Role.DISPATCHER, unit=unit, username=username)


def client_of(user) -> APIClient:
    """An API client acting as `user` (authentication itself is tested elsewhere)."""
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def report(point: Point, code: str = "SJ0101", *, reporter=None, source: str = Source.HANDHELD, **kwargs) -> Case:
    case, _created = services.create_case(
        category=Category.objects.get(code=code),
        point=point,
        description=kwargs.pop("description", "测试案件"),
        source=source,
        reporter=reporter,
        actor=reporter,
        **kwargs,
    )
    return case


def act(case: Case, user, action: str, **kwargs) -> Case:
    version = Case.objects.get(pk=case.pk).version
    return services.apply_transition(case_id=case.pk, actor=user, action=action, version=version, **kwargs)


def resolve(case: Case, lead, **kwargs) -> Case:
    """处置反馈 as the rules ask: the unfinished co-handling tasks released by the lead first (each a recorded
    `cohandle_release`), and an after-photo when the category requires one (`after_photo_required`)."""
    from cases.models import CoHandlingTask
    from cases.workflow import TASK_PENDING

    for task in CoHandlingTask.objects.filter(case=case, state__in=TASK_PENDING):
        case = act(case, lead, "cohandle_release", task=task.pk)
    if fresh(case).category.after_photo_required and "attachments" not in kwargs:
        kwargs["attachments"] = [uploaded_photo(lead)]
    return act(case, lead, "resolve", **kwargs)


def fresh(case: Case) -> Case:
    return Case.objects.get(pk=case.pk)


def uploaded_photo(user) -> str:
    """The content hash of a photo `user` uploaded (a row without its file: enough to cite it)."""
    sha256 = secrets.token_hex(32)
    Photo.objects.create(
        sha256=sha256,
        image=f"photos/{sha256}.jpg",
        thumbnail=f"photos/thumbs/{sha256}.jpg",
        content_type="image/jpeg",
        width=640,
        height=480,
        size_bytes=1000,
        uploaded_by=user,
    )
    return sha256
