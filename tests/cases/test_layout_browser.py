"""The desk's intake page, the notices page, the assessment page and a case's co-handling section on a tablet
(768×1024) and a phone (390×844), as tests/maps/test_layout_browser.py checks the other pages: nothing wider than
the screen, and the page's main control shown within the screen's width. A screenshot of each, scrolled to that
control, goes to test-artifacts/screenshots/ for review."""

import pytest

from cases.models import Category, CoHandlingTask, RoutingRule, RuleRole, Source
from grids.models import Role, UnitType
from tests import browser as shared
from tests.browser import ARTIFACTS
from tests.cases.helpers import act, dispatcher, person, report

# The browser fixtures of the page tests (a live server on plain http, a session failing on console errors).
browser, plain_http, server, session = shared.browser, shared.plain_http, shared.server, shared.session

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = ARTIFACTS / "screenshots"
SIZES = {"tablet": (768, 1024), "phone": (390, 844)}
PASSWORD = "layout-test-password-1"

# Whatever overflows sideways: the document, or the scrolling <main> (its content would be cut off on the right).
OVERFLOW = """() => {
  const main = document.querySelector('main');
  return {doc: document.documentElement.scrollWidth, inner: window.innerWidth,
          main: main.scrollWidth, mainClient: main.clientWidth};
}"""

# Short labels (a notice's kind, a task's state, a table's headings): each on one line, not a column one character wide.
# The text's own height (a Range), not the box's: a table cell is as tall as its row.
LINES = """items => items.map(e => {
  const text = document.createRange();
  text.selectNodeContents(e);
  const size = parseFloat(getComputedStyle(e).fontSize);
  return {text: e.textContent.trim(), height: text.getBoundingClientRect().height,
          line: parseFloat(getComputedStyle(e).lineHeight) || 1.5 * size};
})"""


def account(user):
    user.set_password(PASSWORD)
    user.save()
    return user


def co_handled_case(geo):
    """施工占道 escalated by the west street office and dispatched back by the command centre: the police and the
    district department get co-handling tasks, and the office its notices."""
    office = account(dispatcher(geo.offices["W"], username="desk-west"))
    command = dispatcher(geo.centre, username="command")
    category = Category.objects.get(code="SJ0305")
    RoutingRule.objects.create(category=category, unit_type=UnitType.DEPARTMENT, role=RuleRole.CO_HANDLING)
    case = report(geo.point("W1", "N"), "SJ0305", source=Source.HOTLINE, description="工地围挡占用人行道")
    case = act(case, office, "register")
    case = act(case, office, "escalate", note="占道范围超出街道协调能力")
    case = act(case, command, "dispatch", unit=geo.offices["W"].pk, note="请街道牵头处置")
    assert CoHandlingTask.objects.filter(case=case).count() == 2
    return case


def test_intake_notices_assessment_and_co_handling_fit_tablets_and_phones(session, geo):
    case = co_handled_case(geo)
    police = account(dispatcher(geo.police["N"], username="police-north"))
    account(person(Role.MANAGER, username="boss"))
    police_task = CoHandlingTask.objects.get(case=case, unit=geo.police["N"])
    ready_desk = "() => document.documentElement.dataset.readyDesk !== undefined"
    ready_assessment = "() => document.documentElement.dataset.assessmentRegion !== undefined"
    # (name, account, path, what shows the page is ready, its main control, short labels kept on one line)
    pages = [
        ("desk-new", "desk-west", "/desk/new", None, "#intake-save", None),
        ("notices", "desk-west", "/notices/", None, "#read-all", ".notice-row .kind, .notice-row time"),
        ("assessment", "boss", "/dashboard/assessment", ready_assessment, "#export-csv", None),
        (
            "desk-case-cohandling-lead",
            "desk-west",
            f"/desk/cases/{case.pk}/",
            ready_desk,
            "#cohandling tr.task-actions button[data-task-action=cohandle_release]",
            "#cohandling thead th, #cohandling .task-state",
        ),
        (
            "desk-case-cohandling-unit",
            police.username,
            f"/desk/cases/{case.pk}/",
            ready_desk,
            f"#cohandling tr.task-actions[data-task='{police_task.pk}'] button[data-task-action=cohandle_feedback]",
            "#cohandling thead th, #cohandling .task-state",
        ),
    ]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems = []
    for name, username, path, ready, control, labels in pages:
        s = session()
        s.login(username, PASSWORD)
        # The landing page loaded in full (a manager's dashboard holds the heavy-request slot the assessment needs).
        s.page.wait_for_url(lambda url: "/accounts/login/" not in url)
        s.page.wait_for_load_state("networkidle")
        for size, (width, height) in SIZES.items():
            page = s.page
            page.set_viewport_size({"width": width, "height": height})
            page.goto(path)
            page.wait_for_load_state("networkidle")
            if ready:
                page.wait_for_function(ready)
            where = f"{name} at {width}×{height}"
            o = page.evaluate(OVERFLOW)
            if o["doc"] > o["inner"] or o["main"] > o["mainClient"] + 1:
                problems.append(f"{where}: wider than the screen {o}")
            for label in page.eval_on_selector_all(labels, LINES) if labels else []:
                if label["height"] > 1.5 * label["line"]:
                    problems.append(f"{where}: {label['text']!r} wraps ({label['height']:.0f}px)")
            target = page.locator(control).first
            if not target.is_visible():
                problems.append(f"{where}: {control} is not shown")
                continue
            target.scroll_into_view_if_needed()
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{size}.png"))
            box = target.bounding_box()
            if box is None or box["x"] < 0 or box["x"] + box["width"] > width + 0.5:
                problems.append(f"{where}: {control} is not within the screen's width ({box})")
    assert not problems, "\n".join(problems)
