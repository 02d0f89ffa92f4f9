"""Shared set-up for the tests that drive a real browser: Debian's Chromium through Playwright against a live
server (tests/maps/test_browser.py, tests/cases/test_desk_browser.py)."""

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
