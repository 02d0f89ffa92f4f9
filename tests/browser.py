"""Shared set-up for the tests that drive a real browser: Debian's Chromium through Playwright against a live
server (tests/maps/test_browser.py, tests/cases/test_desk_browser.py).

A module uses the page fixtures by importing them: `from tests.browser import browser, plain_http, server,
session` (`chromium` is everyone's, from tests/conftest.py)."""

import os
from pathlib import Path

import pytest
from django.test import override_settings

# Playwright's sync API keeps an event loop in this thread; the ORM calls the tests make between browser steps
# are ordinary blocking calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


# Pages are served under a Content-Security-Policy without 'unsafe-eval': wait_for_function takes an arrow
# function ("() => …"), which Playwright runs as it is; a bare expression string is eval'ed and refused.


def plain_http_settings():
    """The live server speaks plain http: no redirect to https, cookies without the Secure flag."""
    return override_settings(SECURE_SSL_REDIRECT=False, SESSION_COOKIE_SECURE=False, CSRF_COOKIE_SECURE=False)


def sync_playwright():
    """Playwright's sync API as a context manager; the test is skipped without Playwright or Debian's Chromium."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    return sync_api.sync_playwright()


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


@pytest.fixture(scope="session")
def chromium():
    """One Chromium for the whole run: Playwright's sync API drives one instance per thread at a time, so every
    browser test opens its contexts in this one."""
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


PASSWORD = "test-password-123"  # tests.factories.UserFactory's


class Session:
    """A browser context for one person, failing the test on any console error or page error."""

    def __init__(self, browser, base_url: str):
        self.context = browser.new_context(
            base_url=base_url, viewport={"width": 1400, "height": 900}, locale="zh-CN", accept_downloads=True
        )
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on(
            "requestfailed",
            lambda r: (
                self.errors.append(f"request failed: {r.url} {r.failure}")
                # Requests the page itself cancels (tiles when the map moves, fetches when it navigates away) are
                # not failures; the server answering badly shows up as a console error or a failed status instead.
                if "ERR_ABORTED" not in (r.failure or "")
                else None
            ),
        )

    def login(self, username: str, password: str = PASSWORD):
        page = self.page
        page.goto("/accounts/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button.primary")
        page.wait_for_load_state("networkidle")

    def menu(self) -> list[str]:
        return self.page.eval_on_selector_all("#menu a", "links => links.map(a => a.dataset.page)")

    def layers(self) -> list[str]:
        return self.page.eval_on_selector_all("[data-layer]", "boxes => boxes.map(b => b.dataset.layer)")

    def wait_ready(self, name: str, timeout: float = 20_000) -> int:
        self.page.wait_for_function(f"() => window.__ready && window.__ready[{name!r}] !== undefined", timeout=timeout)
        return self.page.evaluate(f"window.__ready[{name!r}]")

    def shot(self, name: str):
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"))

    def close(self):
        self.context.close()
        assert not self.errors, "\n".join(self.errors)


@pytest.fixture(scope="session")
def plain_http():
    with plain_http_settings():
        yield


@pytest.fixture(scope="session")
def browser(chromium):
    """The run's Chromium; a module may override it (tests/maps/test_browser.py prints its timings after the run)."""
    return chromium


@pytest.fixture
def server(plain_http, live_server):
    return live_server.url


@pytest.fixture
def session(browser, server):
    """Opens a Session per call; each is closed after the test, failing it on the errors its pages logged."""
    opened: list[Session] = []

    def make() -> Session:
        s = Session(browser, server)
        opened.append(s)
        return s

    yield make
    for s in opened:
        s.close()
