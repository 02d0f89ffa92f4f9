"""A client generated from the live OpenAPI document (openapi-python-client) imports and does a worker's and a
dispatcher's work against a real server: what a third party building on /api/schema would get."""

import importlib
import io
import json
import pkgutil
import subprocess
import sys
import urllib.request
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from openapi_python_client.strings import snake_case

from cases.models import Category
from cases.services import create_case
from grids.models import Role
from mobileapi.models import AccessToken
from tests import live
from tests.factories import StaffFactory
from tests.mobileapi.test_photos import camera_jpeg

PASSWORD = "test-password-123"  # tests.factories.UserFactory's
CONFIG = """\
package_name_override: gridmgmt_client
# Binary answers (tiles, photos) are read as bytes.
content_type_overrides:
  image/*: application/octet-stream
  application/vnd.mapbox-vector-tile: application/octet-stream
"""


def fetch_schema(base: str, key: str) -> dict:
    request = urllib.request.Request(
        f"{base}/api/schema?format=json", headers={"Authorization": f"Token {key}", "Accept": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def generate_client(schema: dict, folder) -> str:
    """Generate the client package into `folder`; answers the generator's output."""
    (folder / "schema.json").write_text(json.dumps(schema))
    (folder / "config.yaml").write_text(CONFIG)
    bin_dir = live.ROOT / ".venv/bin"
    result = subprocess.run(
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            str(folder / "schema.json"),
            "--config",
            str(folder / "config.yaml"),
            "--meta",
            "none",
            "--output-path",
            str(folder / "gridmgmt_client"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(folder)},  # its ruff post-hooks, from the venv
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


class Operations:
    """The generated client's operation modules, found by method and path as the schema spells them (a trailing
    slash or none)."""

    def __init__(self, schema: dict, modules: dict):
        self.by_path = {
            (method.upper(), path.rstrip("/")): modules[snake_case(operation["operationId"])]
            for path, methods in schema["paths"].items()
            for method, operation in methods.items()
        }

    def __call__(self, method: str, path: str):
        return self.by_path[(method, path.rstrip("/"))]


@pytest.mark.django_db(transaction=True)
def test_a_generated_client_imports_and_does_a_workers_and_a_dispatchers_work(geo, tmp_path, monkeypatch):
    grid = geo.grids["W1"]
    worker = StaffFactory(role=Role.WORKER, grids=[grid]).user
    dispatcher = StaffFactory(role=Role.DISPATCHER, unit=geo.offices["W"]).user
    # A case from the hotline in the worker's grid: a task to confirm on site, with no client_uuid.
    hotline, _ = create_case(
        category=Category.objects.get(code="BJ0101"),
        point=geo.point("W1", "N"),
        description="井盖松动",
        source="hotline",
    )
    _, schema_key = AccessToken.issue(user=dispatcher, device_id="schema", lifetime=timedelta(hours=1))

    with live.gunicorn(
        db_url=live.database_url(),
        MEDIA_ROOT=str(tmp_path / "media"),
        AUDIT_CHECKPOINT_DIR=str(tmp_path / "audit-checkpoints"),
    ) as base:
        schema = fetch_schema(base, schema_key)
        output = generate_client(schema, tmp_path)
        assert "Warning" not in output and "WARNING" not in output, output

        # Every generated module imports.
        monkeypatch.syspath_prepend(str(tmp_path))
        package = importlib.import_module("gridmgmt_client")
        modules, broken = {}, {}
        for info in pkgutil.walk_packages(package.__path__, "gridmgmt_client."):
            try:
                modules[info.name.rsplit(".", 1)[-1]] = importlib.import_module(info.name)
            except Exception as error:
                broken[info.name] = repr(error)
        assert not broken, broken
        assert len(modules) > 100
        operation = Operations(schema, modules)
        client_module, models, types = modules["client"], package.models, modules["types"]

        # A worker logs in on the handheld API.
        login = operation("POST", "/api/mobile/v1/auth/token").sync_detailed(
            client=client_module.Client(base_url=base),
            body=models.TokenRequestRequest(username=worker.username, password=PASSWORD, device_id="PDA-1"),
        )
        assert login.status_code == 200, login.content
        assert login.parsed.worker.grids[0].code == grid.code
        as_worker = client_module.AuthenticatedClient(base_url=base, token=login.parsed.token, prefix="Token")

        # …reports a problem (a nested GeoJSON location, sent as JSON)…
        point = geo.point("W1", "S")
        client_uuid = uuid.uuid4()
        report = models.ReportRequestRequest.from_dict(
            {
                "client_uuid": str(client_uuid),
                "category": "BJ0101",
                "description": "井盖缺失，有行人踏空危险",
                "location": {"type": "Point", "coordinates": [point.x, point.y]},
                "captured_at": (timezone.now() - timedelta(minutes=5)).isoformat(),
            }
        )
        posted = operation("POST", "/api/mobile/v1/reports").sync_detailed(client=as_worker, body=report)
        assert posted.status_code == 201, posted.content
        assert isinstance(posted.parsed, models.Report)
        assert posted.parsed.client_uuid == client_uuid and posted.parsed.unit.id == geo.offices["W"].pk

        # …uploads a photo of it (multipart with the file)…
        photo = camera_jpeg(lon=point.x, lat=point.y, when=timezone.localtime().strftime("%Y:%m:%d %H:%M:%S"))
        upload = models.PhotoUploadRequest(
            photo=types.File(payload=io.BytesIO(photo), file_name="p.jpg", mime_type="image/jpeg"),
            kind=models.PhotoKindEnum.BEFORE,
        )
        uploaded = operation("POST", "/api/mobile/v1/reports/{client_uuid}/photos").sync_detailed(
            client_uuid, client=as_worker, body=upload
        )
        assert uploaded.status_code == 201, uploaded.content
        assert isinstance(uploaded.parsed, models.CasePhoto) and uploaded.parsed.flagged is False
        sha256 = uploaded.parsed.sha256

        # …and lists the tasks waiting: the hotline case to confirm, which has no client_uuid.
        tasks = operation("GET", "/api/mobile/v1/tasks").sync_detailed(client=as_worker)
        assert tasks.status_code == 200, tasks.content
        assert [(task.id, task.kind, task.client_uuid) for task in tasks.parsed] == [(hotline.pk, "confirm", None)]

        # A dispatcher of the street office logs in on the web API and registers the report, citing its photo.
        desk_login = operation("POST", "/api/v1/auth/token").sync_detailed(
            client=client_module.Client(base_url=base),
            body=models.TokenRequestRequest(username=dispatcher.username, password=PASSWORD),
        )
        assert desk_login.status_code == 200, desk_login.content
        as_dispatcher = client_module.AuthenticatedClient(base_url=base, token=desk_login.parsed.token, prefix="Token")
        transitions = operation("POST", "/api/v1/cases/{id}/transitions")
        body = models.TransitionRequest.from_dict({"action": "register", "version": 1, "attachments": [sha256]})
        registered = transitions.sync_detailed(posted.parsed.id, client=as_dispatcher, body=body)
        assert registered.status_code == 200, registered.content
        case = registered.parsed
        assert isinstance(case, models.CaseDetail)
        assert case.state == models.CaseStateEnum.REGISTERED and case.version == 2
        assert case.assigned_by_unit is None and case.events[0].unit is None  # the report's event has no unit
        assert case.events[-1].action == "register" and case.events[-1].attachments == [sha256]

        # The same step again with the old version: a 409 the client reads as the workflow's refusal.
        stale = transitions.sync_detailed(posted.parsed.id, client=as_dispatcher, body=body)
        assert stale.status_code == 409 and isinstance(stale.parsed, models.TransitionRefused)
        assert "dispatch" in stale.parsed.allowed_actions

        # Bad input: a 400 read as problem details (application/problem+json), naming the field in `errors`.
        bad = models.TransitionRequest.from_dict({"action": "extend", "version": 2})
        refused = transitions.sync_detailed(posted.parsed.id, client=as_dispatcher, body=bad)
        assert refused.status_code == 400 and isinstance(refused.parsed, models.Problem)
        assert refused.parsed.status == 400 and refused.parsed.detail
        assert "hours" in refused.parsed.errors.additional_properties

    for name in [name for name in sys.modules if name.split(".")[0] == "gridmgmt_client"]:
        del sys.modules[name]
