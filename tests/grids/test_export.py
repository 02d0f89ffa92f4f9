"""manage.py export_layer and GET /api/v1/export/{layer}.{fmt}: files that open again, personal data masked."""

import csv
import json
import re
import zipfile
from io import BytesIO, StringIO

import geopandas as gpd
import openpyxl
import pytest
import shapely
from django.contrib.gis.geos import MultiPolygon
from django.core.management import CommandError, call_command
from django.urls import include, path

from grids import pii
from grids.models import Building, Person
from tests.factories import (
    ORIGIN,
    BuildingFactory,
    CommunityFactory,
    GridFactory,
    HouseholdFactory,
    PersonFactory,
    StreetFactory,
    UnitFactory,
    multi_square,
    rect,
    square,
)

pytestmark = pytest.mark.django_db
X, Y = ORIGIN
FULL_ID = re.compile(r"[1-9][0-9]{5}(18|19|20)[0-9]{9}[0-9X]")
MASKED_ID = re.compile(r"^[0-9]{6}\*{8}[0-9]{3}[0-9X]$")

# The API tests run against this module's URLs: the export view under /api/v1/, as grids.io_urls is meant
# to be included.
urlpatterns = [path("api/v1/", include("grids.io_urls"))]


@pytest.fixture
def town():
    """Two streets, one community and two grids each; a building with households and people in every grid."""
    grids = []
    for s in range(2):
        x0 = X + s * 0.02
        street = StreetFactory(code=f"51040300{s + 1}", boundary=multi_square(x0, Y, 0.02))
        community = CommunityFactory(street=street, code=f"{street.code}001", boundary=street.boundary)
        for g in range(2):
            grid = GridFactory(
                community=community,
                code=f"{community.code}{g + 1:02d}",
                name=f"第{s * 2 + g + 1}网格",
                boundary=MultiPolygon(rect(x0 + g * 0.01, Y, 0.01, 0.02), srid=4326),
            )
            building = BuildingFactory(footprint=square(x0 + g * 0.01 + 0.004, Y + 0.004, 0.0004))
            for _ in range(2):
                PersonFactory.create_batch(2, household=HouseholdFactory(building=building))
            grids.append(grid)
    UnitFactory(code="PS01", name="派出所", type="police_station")
    return grids


def export(layer: str, target, *args) -> str:
    out = StringIO()
    call_command("export_layer", layer, "-o", str(target), *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def read_rows(target) -> list[dict]:
    """The rows of an exported file, read back with the tools a user would use."""
    suffix = str(target).rsplit(".", 1)[-1]
    if suffix in ("gpkg", "geojson"):
        frame = gpd.read_file(target)
        return frame.drop(columns="geometry").to_dict("records")
    if suffix == "csv":
        with open(target, encoding="utf-8-sig", newline="") as handle:
            return list(csv.DictReader(handle))
    sheet = openpyxl.load_workbook(target, read_only=True).worksheets[0]
    header, *rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(header, row, strict=True)) for row in rows]


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "csv", "xlsx"])
def test_persons_export_opens_again_with_masked_personal_data_only(tmp_path, town, fmt):
    target = tmp_path / f"人口.{fmt}"
    out = export("persons", target)
    assert "Wrote 16 persons" in out
    rows = read_rows(target)
    assert len(rows) == 16
    assert all(MASKED_ID.match(row["id_number_masked"]) for row in rows)
    assert all(re.fullmatch(r"1[3-9][0-9]\*{4}[0-9]{4}", row["phone_masked"]) for row in rows)
    assert not {"id_number", "phone", "id_number_cipher", "id_number_digest", "phone_cipher"} & set(rows[0])
    raw = target.read_bytes()
    if fmt == "xlsx":
        with zipfile.ZipFile(BytesIO(raw)) as book:
            raw = b"".join(book.read(name) for name in book.namelist())
    secrets = [
        pii.decrypt(token) for pair in Person.objects.values_list("id_number_cipher", "phone_cipher") for token in pair
    ]
    assert len(secrets) == 32
    assert not any(secret.encode() in raw for secret in secrets)  # no plain ID number or phone in the file


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "csv", "xlsx"])
def test_buildings_export_filtered_by_grid_and_street(tmp_path, town, fmt):
    target = tmp_path / f"b.{fmt}"
    export("buildings", target, "--grid", town[1].code)
    rows = read_rows(target)
    assert [row["grid_code"] for row in rows] == [town[1].code]
    export("buildings", target, "--street", "510403002")
    assert sorted(row["grid_code"] for row in read_rows(target)) == [town[2].code, town[3].code]
    if fmt in ("gpkg", "geojson"):
        frame = gpd.read_file(target)
        assert frame.crs.to_epsg() == 4326 and set(frame.geom_type) == {"Polygon"}


def test_region_layers_and_units(tmp_path, town):
    export("grids", tmp_path / "g.gpkg")
    frame = gpd.read_file(tmp_path / "g.gpkg")
    assert sorted(frame["code"]) == sorted(g.code for g in town)
    assert set(frame.geom_type) == {"MultiPolygon"} and "第1网格" in set(frame["name"])
    export("units", tmp_path / "u.geojson", "--type", "police_station")
    data = json.loads((tmp_path / "u.geojson").read_text(encoding="utf-8"))
    assert [f["properties"]["code"] for f in data["features"]] == ["PS01"]
    export("households", tmp_path / "h.csv", "--community", "510403001001")
    rows = read_rows(tmp_path / "h.csv")
    assert len(rows) == 4 and all(row["people"] == "2" for row in rows) and rows[0]["lon"].startswith("101.")


def test_an_exported_layer_imports_back_unchanged(tmp_path, town):
    target = tmp_path / "buildings.gpkg"
    export("buildings", target)
    out = StringIO()
    call_command("import_layer", "buildings", str(target), "--no-progress", stdout=out)
    assert re.search(r"new\s+0\b", out.getvalue()) and re.search(r"changed\s+0\b", out.getvalue())
    assert re.search(rf"unchanged\s+{Building.objects.count()}\b", out.getvalue())


def test_export_errors_say_what_is_wrong(tmp_path, town):
    with pytest.raises(CommandError, match="streets cannot be filtered by grid"):
        export("streets", tmp_path / "s.csv", "--grid", town[0].code)
    with pytest.raises(CommandError, match="cannot tell the format"):
        export("streets", tmp_path / "s.txt")


# --- The API -----------------------------------------------------------------------------------------


@pytest.mark.urls(__name__)
def test_api_streams_an_attachment_to_administrators(client_for, town):
    client = client_for("admin")
    response = client.get("/api/v1/export/persons.csv", {"grid": town[0].code})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="persons.csv"'
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(StringIO(text)))
    assert len(rows) == 4 and all(MASKED_ID.match(row["id_number_masked"]) for row in rows)
    assert not FULL_ID.search(text)

    response = client.get("/api/v1/export/grids.gpkg")
    assert response.status_code == 200 and response["Content-Type"] == "application/geopackage+sqlite3"
    assert b"".join(response.streaming_content).startswith(b"SQLite format 3")


@pytest.mark.urls(__name__)
def test_api_export_is_for_administrators_and_managers_only(api_client, client_for, town):
    assert api_client.get("/api/v1/export/buildings.csv").status_code == 401
    assert client_for("worker", grids=[town[0]]).get("/api/v1/export/buildings.csv").status_code == 403
    manager = client_for("manager")
    assert manager.get("/api/v1/export/buildings.xlsx").status_code == 200
    assert manager.get("/api/v1/export/persons.xlsx").status_code == 403  # managers: figures, not residents
    assert manager.get("/api/v1/export/nothing.csv").status_code == 404
    assert manager.get("/api/v1/export/buildings.shp").status_code == 404
    response = manager.get("/api/v1/export/streets.csv", {"grid": town[0].code})
    assert response.status_code == 400 and "cannot be filtered by grid" in response.json()["detail"]


# --- Cases with their events ------------------------------------------------------------------------


@pytest.fixture
def cases(town):
    from django.contrib.gis.geos import Point
    from django.utils import timezone

    from cases.models import Case, CaseEvent, Category

    category = Category.objects.create(code="ZZ99", name_zh="测试类别", kind="event")
    unit = UnitFactory(code="SO01", name="炳草岗街道办", type="street_office")
    made = []
    for n, grid in enumerate(town):
        point = Point(grid.boundary.centroid.x, grid.boundary.centroid.y, srid=4326)
        case = Case.objects.create(
            number=f"XQ-20261127-{n + 1:05d}",
            point=point,
            category=category,
            level=2 + n % 2,
            description=f"井盖破损{n + 1}",
            source="handheld",
            captured_at=timezone.now(),
            responsible_unit=unit,
            street=grid.community.street,
            community=grid.community,
            grid=grid,
            state="dispatched" if n % 2 else "reported",
        )
        CaseEvent.objects.create(case=case, action="report", to_state="reported", unit=unit)
        if n % 2:
            CaseEvent.objects.create(case=case, action="dispatch", from_state="reported", to_state="dispatched")
        made.append(case)
    return made


@pytest.mark.parametrize("fmt", ["gpkg", "xlsx"])
def test_cases_export_with_their_events(tmp_path, cases, fmt):
    target = tmp_path / f"cases.{fmt}"
    out = export("cases", target, "--street", "510403001")
    assert "Wrote 2 cases, 3 case_events" in out
    if fmt == "gpkg":
        frame = gpd.read_file(target, layer="cases")
        events = gpd.read_file(target, layer="case_events")
        assert set(frame.geom_type) == {"Point"}
        assert frame.iloc[0].geometry.distance(shapely.Point(cases[0].point.coords)) < 1e-7
        assert sorted(frame["number"]) == [cases[0].number, cases[1].number]
        assert sorted(events["action"]) == ["dispatch", "report", "report"]
    else:
        book = openpyxl.load_workbook(target, read_only=True)
        assert book.sheetnames == ["cases", "case_events"]
        events = list(book["case_events"].iter_rows(values_only=True))
        assert len(events) == 4 and events[0][:3] == ("case_number", "time", "action")


def test_cases_export_filters(tmp_path, cases):
    target = tmp_path / "cases.csv"
    err = StringIO()
    call_command("export_layer", "cases", "-o", str(target), "--state", "dispatched", stdout=StringIO(), stderr=err)
    rows = read_rows(target)
    assert sorted(row["number"] for row in rows) == [cases[1].number, cases[3].number]
    assert all(row["category"] == "测试类别" and row["lon"].startswith("101.") for row in rows)
    assert "case_events are not in this format" in err.getvalue()
    export("cases", target, "--level", "2", "--grid", town_code(cases[2]))
    assert [row["number"] for row in read_rows(target)] == [cases[2].number]
    export("cases", target, "--since", "2000-01-01", "--until", "2000-01-02")
    assert read_rows(target) == []
    with pytest.raises(CommandError, match="since must be a real date"):
        export("cases", target, "--since", "yesterday")


def town_code(case) -> str:
    return case.grid.code
