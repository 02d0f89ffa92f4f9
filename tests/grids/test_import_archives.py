"""Archive bombs: a small upload that unpacks to gigabytes is refused from the archive's directory, before any
member is read, with a message that names the member and the limit and repeats none of the file's content."""

import time
import tracemalloc
import zipfile
import zlib

import geopandas as gpd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from shapely.geometry import box

from grids.gisio import readers
from grids.gisio.archives import ArchiveLimits
from grids.models import Grid
from tests.factories import ORIGIN
from tests.grids.test_import import run, town  # noqa: F401 - the fixture: grids need their community

pytestmark = pytest.mark.django_db
X, Y = ORIGIN
MiB = 1024 * 1024
CHUNK = b"A" * MiB


class RepeatingDeflate:
    """Deflates CHUNK once and hands out the same bytes for every further CHUNK: a flush after each copy makes
    the copies independent, so the member is a real deflate stream of N MiB of "A" written in a second."""

    def __init__(self):
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        self.block = compressor.compress(CHUNK) + compressor.flush(zlib.Z_FULL_FLUSH)

    def compress(self, data: bytes) -> bytes:
        assert data == CHUNK
        return self.block

    def flush(self) -> bytes:
        return b"\x03\x00"  # an empty final block


def add_run(archive: zipfile.ZipFile, name: str, mebibytes: int, monkeypatch) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(zipfile, "_get_compressor", lambda *args, **kwargs: RepeatingDeflate())
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as handle:
            for _ in range(mebibytes):
                handle.write(CHUNK)


def shapefile_zip(tmp_path, monkeypatch, *, extra: dict[str, int] | None = None, cpg: bytes = b"UTF-8"):
    """A zipped Shapefile of two grids, with `extra` members of that many MiB of one repeated byte."""
    frame = gpd.GeoDataFrame(
        {"WGBM": ["51040300100103", "51040300100104"], "WGMC": ["一网格", "二网格"]},
        geometry=[box(X, Y, X + 0.01, Y + 0.01), box(X + 0.01, Y, X + 0.02, Y + 0.01)],
        crs="EPSG:4326",
    )
    frame.to_file(tmp_path / "g.shp", encoding="UTF-8")
    archive_path = tmp_path / "grids.zip"
    with zipfile.ZipFile(archive_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for suffix in ("shp", "shx", "dbf", "prj"):
            archive.write(tmp_path / f"g.{suffix}", f"g.{suffix}")
        if cpg is not None:
            archive.writestr("g.cpg", cpg)
        for name, mebibytes in (extra or {}).items():
            add_run(archive, name, mebibytes, monkeypatch)
    return archive_path


def cpg_bomb(tmp_path, monkeypatch):
    """The reported attack: about 1 MB of zip whose .cpg unpacks to 1 GiB."""
    path = shapefile_zip(tmp_path, monkeypatch, cpg=None, extra={"g.cpg": 1024})
    assert path.stat().st_size < 2 * MiB
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("g.cpg").file_size == 1024 * MiB
        with archive.open("g.cpg") as handle:  # a real deflate stream of "A"
            assert handle.read(4 * MiB) == CHUNK * 4
    return path


def run_refused(*args) -> str:
    with pytest.raises(CommandError) as refusal:
        run(*args)
    return str(refusal.value)


@pytest.mark.urls("tests.grids.test_import")
def test_the_admin_upload_refuses_a_gigabyte_cpg_quickly_in_little_memory(client, admin_user, tmp_path, monkeypatch):
    bomb = cpg_bomb(tmp_path, monkeypatch)
    client.force_login(admin_user)
    upload = SimpleUploadedFile("grids.zip", bomb.read_bytes())
    tracemalloc.start()
    started = time.monotonic()
    response = client.post("/admin/grids/import/", {"layer": "grids", "file": upload, "commit": "on"})
    elapsed = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    page = response.content.decode()
    assert response.status_code == 200
    assert "g.cpg unpacks to 1.0 GB; at most 0.1 MB is read" in page
    assert "AAAA" not in page
    assert peak < 32 * MiB, f"peak {peak / MiB:.0f} MiB"
    assert elapsed < 10
    assert Grid.objects.count() == 0


def test_import_layer_refuses_the_same_bomb(tmp_path, monkeypatch):
    message = run_refused("grids", cpg_bomb(tmp_path, monkeypatch), "--map", "code=WGBM", "--map", "name=WGMC")
    assert "g.cpg unpacks to 1.0 GB" in message and "AAAA" not in message


def test_a_member_compressed_past_the_ratio_is_refused(tmp_path, monkeypatch):
    path = shapefile_zip(tmp_path, monkeypatch, extra={"notes/readme.bin": 300})
    message = run_refused("grids", path, "--map", "code=WGBM", "--map", "name=WGMC")
    assert "notes/readme.bin is compressed suspiciously well" in message and "more than 200:1" in message


def test_too_many_members_are_refused(tmp_path, monkeypatch):
    path = shapefile_zip(tmp_path, monkeypatch)
    with zipfile.ZipFile(path, "a") as archive:
        for n in range(1001):
            archive.writestr(f"empty/{n}.txt", b"")
    message = run_refused("grids", path, "--map", "code=WGBM", "--map", "name=WGMC")
    assert "holds 1006 files; at most 1000 are read" in message


def test_the_total_unpacked_size_is_bounded(tmp_path, monkeypatch):
    path = shapefile_zip(tmp_path, monkeypatch)
    monkeypatch.setattr(readers, "LIMITS", ArchiveLimits(total_bytes=1024))
    message = run_refused("grids", path, "--map", "code=WGBM", "--map", "name=WGMC")
    assert "grids.zip unpacks to more than" in message


def test_a_workbook_unpacking_to_gigabytes_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "persons.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        add_run(archive, "xl/sharedStrings.xml", 512, monkeypatch)
    message = run_refused("persons", path)
    assert "xl/sharedStrings.xml unpacks to 512.0 MB; at most 256.0 MB is read" in message


@pytest.mark.usefixtures("town")
def test_a_cpg_that_names_no_code_page_is_not_repeated_back(tmp_path, monkeypatch):
    path = shapefile_zip(tmp_path, monkeypatch, cpg="机密 内容 secret words".encode())
    out = run("grids", path, "--map", "code=WGBM", "--map", "name=WGMC")
    assert "not a code page name" in out
    assert "secret words" not in out and "机密" not in out


@pytest.mark.usefixtures("town")
def test_a_good_zipped_shapefile_still_imports(tmp_path, monkeypatch):
    path = shapefile_zip(tmp_path, monkeypatch, extra={"notes/small.bin": 1})  # 1 MiB of "A": under the ratio floor
    out = run("grids", path, "--map", "code=WGBM", "--map", "name=WGMC")
    assert "UTF-8 (from the .cpg)" in out
    assert "new" in out


def test_messages_quote_at_most_a_short_excerpt_of_a_cell(tmp_path):
    path = tmp_path / "units.csv"
    long_text = "楼" * 5000
    path.write_text(f"code,name,type,lon,lat\nU1,单位,{long_text},{long_text},1\n", encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("import_layer", "units", str(path), "--no-progress", stdout=(out := _Sink()), stderr=_Sink())
    assert "楼" * 21 not in out.text and "楼" * 20 in out.text


class _Sink:
    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text += text

    def flush(self):
        pass
