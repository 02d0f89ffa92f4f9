"""The exports page in Chromium, on a phone and at a desk: a manager queues an export, watches it run on the real
worker, and downloads the file."""

import pytest

from grids.models import Building
from tests import live
from tests.browser import ARTIFACTS, Session, plain_http_settings

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("viewport", [(390, 844), (1400, 900)], ids=["phone", "desk"])
def test_a_manager_exports_buildings_and_downloads_the_file(
    world,
    chromium,
    live_server,
    settings,
    tmp_path,
    viewport,
):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EXPORT_JOB_DIR = tmp_path / "partial"
    env = {"MEDIA_ROOT": str(settings.MEDIA_ROOT), "EXPORT_JOB_DIR": str(settings.EXPORT_JOB_DIR)}
    with plain_http_settings(), live.celery("worker", db_url=live.database_url(), **env):
        person = Session(chromium, live_server.url)
        person.context.set_default_timeout(30_000)
        page = person.page
        page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
        person.login("t-manager")  # lands on the dashboard, whose own requests are tested with it
        page.goto("/exports/")
        person.errors.clear()
        assert "exports" in person.menu()
        # Residents are not the manager's to export: the page does not offer them.
        offered = page.eval_on_selector_all("#export-layer option", "options => options.map(o => o.value)")
        assert "buildings" in offered and "persons" not in offered and "households" not in offered
        page.select_option("#export-layer", "buildings")
        page.select_option("#export-format", "csv")
        page.click("#export-start")
        download_link = page.locator(".export-job[data-state=done] .export-download")
        download_link.wait_for()
        assert page.locator(".export-job[data-state=done] progress").get_attribute("value") == "100"
        # Nothing is wider than the screen.
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path=str(ARTIFACTS / f"exports-{viewport[0]}.png"), full_page=True)
        with page.expect_download() as download:
            download_link.click()
        text = open(download.value.path(), encoding="utf-8-sig").read()
        lines = text.strip().splitlines()
        assert len(lines) == 1 + Building.objects.count() and lines[0].startswith("code,")
        assert person.errors == []
        person.context.close()
