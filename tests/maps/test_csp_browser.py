"""Every page works under the Content-Security-Policy in a real browser: no violation is reported, and the
policy is really enforced (an inline script injected into a page is refused)."""

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests import browser as shared
from tests.browser import Session

# The browser, live server and session fixtures of the page tests.
browser, plain_http, server, session = shared.browser, shared.plain_http, shared.server, shared.session

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Collects what the browser reports as violating the policy, on every page the context opens.
WATCH_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push([e.violatedDirective, e.blockedURI || "inline", e.sourceFile + ":" + e.lineNumber].join(" "));
});
"""


def visit(s: Session, path: str, ready: str) -> list[str]:
    s.page.goto(path)
    try:
        if ready.startswith("ready:"):  # the page's own signal that its first view is drawn
            s.page.wait_for_function(
                f"() => window.__ready && window.__ready[{ready[6:]!r}] !== undefined", timeout=20_000
            )
        else:
            s.page.wait_for_selector(ready, timeout=20_000)
    except PlaywrightTimeout:
        pytest.fail(f"{path}: {ready} never showed; violations {s.page.evaluate('window.__csp')}, errors {s.errors}")
    s.page.wait_for_load_state("networkidle")
    return s.page.evaluate("window.__csp")


def open_session(make_session) -> Session:
    s = make_session()
    s.context.add_init_script(WATCH_VIOLATIONS)
    # The admin's pages link no icon, so the browser asks for /favicon.ico and logs its 404 as a console error:
    # not what this test is about.
    s.context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    return s


def test_the_pages_work_with_no_policy_violation(session, world_with_cases):
    pages = {
        "worker": [("/map/", "ready:map")],
        "dispatcher": [("/desk/", "table"), ("/map/", "ready:map")],
        "manager": [("/dashboard/", "ready:heatmap"), ("/map/", "ready:map")],
        "admin": [
            ("/admin/", "#content-main"),
            (
                f"/admin/grids/grid/{world_with_cases.grids[0].pk}/change/",
                ".leaflet-container .leaflet-overlay-pane path",
            ),
            ("/admin/grids/import/", "input[type=file]"),
            ("/api/docs", ".swagger-ui .info"),
        ],
    }
    anonymous = open_session(session)
    assert visit(anonymous, "/public/", "ready:public") == []
    assert visit(anonymous, "/accounts/login/", "input[name=username]") == []
    for role, visits in pages.items():
        s = open_session(session)
        s.login(world_with_cases.accounts[role].username)
        for path, ready in visits:
            assert visit(s, path, ready) == [], path
        s.shot(f"csp-{role}")


def test_an_injected_inline_script_is_refused(session, world):
    s = open_session(session)
    visit(s, "/accounts/login/", "input[name=username]")
    s.page.evaluate(
        """() => { const tag = document.createElement("script"); tag.textContent = "window.__ran = true";
                   document.body.appendChild(tag); }"""
    )
    s.page.wait_for_function("() => window.__csp.length > 0")
    assert s.page.evaluate("window.__ran") is None
    assert s.page.evaluate("window.__csp")[0].startswith("script-src")
    s.errors.clear()  # the browser's console message about the refusal is what this test expects
