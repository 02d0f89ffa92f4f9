"""GDAL's OAPIF driver (what QGIS uses) against a real server: it lists the layers and reads every building,
page after page, with the right footprints."""

import subprocess
from datetime import timedelta

import pytest
from django.contrib.gis.gdal import DataSource

from grids.models import Building, Role
from mobileapi.models import AccessToken
from tests import live
from tests.factories import BuildingFactory, StaffFactory, square

BUILDINGS = 250
PAGE = 100  # so that the driver must follow `next` twice


@pytest.fixture
def server(transactional_db, geo):
    staff = StaffFactory(role=Role.WORKER)
    _, key = AccessToken.issue(user=staff.user, device_id="qgis", lifetime=timedelta(hours=1))
    for n in range(BUILDINGS):
        x, y = 101.6005 + (n % 25) * 0.0015, 26.5805 + (n // 25) * 0.0035
        BuildingFactory(code=f"GDAL{n:04d}", footprint=square(x, y, 0.0004 + n * 1e-6))
    with live.gunicorn(db_url=live.database_url()) as base:
        yield base, {"GDAL_HTTP_HEADERS": f"Authorization: Token {key}"}


def gdal(*args: str, config: dict) -> tuple[str, str]:
    """Runs a GDAL command with config options and HTTP debugging on; (stdout, stderr)."""
    options = ["--debug", "on"] + [part for name, value in config.items() for part in ("--config", name, value)]
    result = subprocess.run([*args, *options], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result.stdout, result.stderr


def test_ogrinfo_lists_the_layers(server):
    base, config = server
    listing, _ = gdal("ogrinfo", "-ro", f"OAPIF:{base}/ogc/", config=config)
    for layer in ("streets", "communities", "grids", "buildings", "units"):
        assert f": {layer} (" in listing, listing
    assert "households" not in listing and "persons" not in listing


def test_ogr2ogr_copies_every_building_with_its_footprint(server, tmp_path):
    base, config = server
    target = tmp_path / "buildings.gpkg"
    _, log = gdal(
        "ogr2ogr",
        "-f",
        "GPKG",
        str(target),
        f"OAPIF:{base}/ogc/",
        "buildings",
        "-oo",
        f"PAGE_SIZE={PAGE}",
        config=config,
    )

    pages = [line for line in log.splitlines() if "HTTP: Fetch(" in line and "/buildings/items?" in line]
    assert any(f"limit={PAGE}&after=" in page for page in pages), pages  # the driver followed `next`

    layer = DataSource(str(target))[0]
    copied = {feature.get("code"): feature.geom for feature in layer}
    stored = {building.code: building.footprint for building in Building.objects.all()}
    assert len(layer) == BUILDINGS and copied.keys() == stored.keys()
    for code, footprint in stored.items():
        geometry = copied[code].geos
        assert geometry.geom_type == "Polygon", code
        assert geometry.equals_exact(footprint, tolerance=1e-6), (code, geometry.wkt, footprint.wkt)
    assert layer.srs.srid == 4326


def test_without_a_token_gdal_gets_nothing(server):
    base, _ = server
    result = subprocess.run(["ogrinfo", "-ro", f"OAPIF:{base}/ogc/"], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "401" in result.stderr + result.stdout
