"""Statistics pages in a real browser: axe finds nothing serious, on a wide screen and a phone;
no horizontal scrolling of the page on a phone; the CSP holds (no console errors)."""

import datetime

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.e2e.conftest import PHONE, h1
from tests.e2e.test_accessibility import assert_accessible, axe  # noqa: F401  (the axe fixture)

pytestmark = pytest.mark.e2e

WIDE = {"width": 1280, "height": 900}


@pytest.fixture
def figures(site, venue, municipality):
    """Enough cards and uses that some figures are shown and some are "<5"."""
    for card in factories.CardFactory.create_batch(7, site=site, holder__municipality=municipality):
        factories.CardUseFactory(card=card, venue=venue)
    factories.CardUseFactory(card__site=site, card__holder__municipality=municipality, venue=venue, category="sports")


def check(page, axe, what: str) -> None:  # noqa: F811
    for size in (WIDE, PHONE):
        page.set_viewport_size(size)
        assert_accessible(page, axe, f"{what} at {size['width']} px")
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{what} scrolls sideways at {size['width']} px"


def test_public_page(page, url, axe, figures):  # noqa: F811
    page.goto(url("/stats/"))
    expect(h1(page)).to_have_text("Kaikukortti statistics")
    expect(page.locator("svg[role=img]").first).to_be_visible()
    check(page, axe, "the public statistics page")
    page.get_by_role("link", name="Last year").click()
    last_year = datetime.date.today().year - 1
    expect(page.get_by_label("From", exact=True)).to_have_value(f"{last_year}-01-01")
    expect(page.get_by_label("To", exact=True)).to_have_value(f"{last_year}-12-31")
    assert "preset=last-year" in page.url
    # A bad period: an error, announced, and still accessible.
    page.get_by_label("From", exact=True).fill("2025-03-01")
    page.get_by_label("To", exact=True).fill("2025-02-01")
    page.get_by_role("button", name="Show figures").click()
    expect(page.get_by_role("alert")).to_contain_text("The end date must be on or after the start date.")
    check(page, axe, "the public statistics page with an error")


def test_dashboards(page, url, login, axe, figures, distributor, coordinator):  # noqa: F811
    login(distributor)
    page.get_by_role("link", name="Statistics", exact=True).click()
    expect(h1(page)).to_have_text("Statistics: Social services (distributor)")
    check(page, axe, "a distributor's dashboard")
    page.context.clear_cookies()
    login(coordinator)
    page.goto(url("/stats/dashboard/"))
    expect(h1(page)).to_have_text("Statistics: Pirkanmaa (region)")
    check(page, axe, "a coordinator's dashboard")


def test_on_a_phone_each_table_opens_from_its_heading(page, url, login, axe, figures, coordinator):  # noqa: F811
    # Eleven tables stacked row by row were some thirty screens on a phone.
    page.set_viewport_size(PHONE)
    login(coordinator)
    page.goto(url("/stats/dashboard/"))
    by_month = page.get_by_role("button", name="By month")
    expect(by_month).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("table", name="By month")).to_be_hidden()
    folded = page.evaluate("document.documentElement.scrollHeight")
    assert folded < 4 * PHONE["height"], f"the folded dashboard is {folded} px tall"
    assert_accessible(page, axe, "a coordinator's dashboard, folded, on a phone")

    by_month.focus()
    page.keyboard.press("Enter")
    expect(by_month).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("table", name="By month")).to_be_visible()
    expect(page.get_by_role("table", name="Annual figures")).to_be_hidden()
    assert_accessible(page, axe, "a coordinator's dashboard with a table open on a phone")

    # A link to one table opens it, and a wide screen shows every table as before.
    page.goto(url("/stats/dashboard/#stats-by-municipality-heading"))
    expect(page.get_by_role("table", name="By municipality")).to_be_visible()
    page.set_viewport_size(WIDE)
    expect(page.get_by_role("table", name="Annual figures")).to_be_visible()
    # Turned to landscape, the headings still look like headings, not like small grey buttons.
    heading_size = page.locator("h2", has=page.get_by_role("button", name="By month")).evaluate(
        "h => getComputedStyle(h).fontSize"
    )
    assert by_month.evaluate("b => getComputedStyle(b).fontSize") == heading_size
    assert by_month.evaluate("b => getComputedStyle(b).backgroundColor") == "rgba(0, 0, 0, 0)"
    page.goto(url("/stats/dashboard/"))
    expect(page.get_by_role("button", name="By month")).to_have_count(0)
    expect(page.get_by_role("table", name="By month")).to_be_visible()
