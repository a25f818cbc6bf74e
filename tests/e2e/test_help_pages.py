"""The help page and the accessibility statement in a browser: axe-clean on a desktop and a phone,
and reachable with the keyboard from the footer of either portal."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, h1
from tests.e2e.test_accessibility import axe, blocking_violations  # noqa: F401  (the axe fixture)

pytestmark = pytest.mark.e2e

PAGES = ["/help/", "/accessibility/", "/omakaiku/help/", "/omakaiku/accessibility/"]
DESKTOP = {"width": 1280, "height": 800}


def tab_to(page, target, *, limit: int = 80) -> bool:
    """Press Tab until ``target`` has the focus (True), or give up after ``limit`` presses."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return True
    return False


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "360px"])
def test_pages_are_accessible(page, url, axe, viewport):  # noqa: F811  (the imported fixture)
    page.set_viewport_size(viewport)
    report = ""
    for path in PAGES:
        page.goto(url(path))
        expect(h1(page)).to_have_count(1)
        report += blocking_violations(page, axe, f"{path} at {viewport['width']} px")
        widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], f"{path} at {viewport['width']} px scrolls sideways: {widths}"
    assert not report, "axe found:" + report


@pytest.mark.parametrize(
    ("start", "statement"),
    [("/accounts/login/", "/accessibility/"), ("/omakaiku/login/", "/omakaiku/accessibility/")],
    ids=["kaikukanta", "omakaiku"],
)
def test_keyboard_reaches_the_footer_links(page, url, start, statement):
    page.goto(url(start))
    link = page.locator("footer").get_by_role("link", name="Accessibility statement")
    assert tab_to(page, link), "Tab never reached the footer's accessibility statement link"
    assert link.evaluate("element => element.matches(':focus-visible') && getComputedStyle(element).outlineStyle") == (
        "solid"
    )
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == url(statement)
    expect(h1(page)).to_have_text("Accessibility statement")

    # And on to the help page of the same portal, still by keyboard.
    help_link = page.locator("footer").get_by_role("link", name="Help", exact=True)
    assert tab_to(page, help_link)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == url(statement.replace("accessibility", "help"))
    expect(h1(page)).to_have_text("Help")


def test_skip_link_moves_to_the_content(page, url):
    page.set_viewport_size(PHONE)
    page.goto(url("/omakaiku/help/"))
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    # The next Tab goes to the first link of the content, not back to the header.
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.closest('main') !== null")
