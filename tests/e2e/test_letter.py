"""The client's letter in a real browser: readable on screen and on a phone, one A4 page in print."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from cards import services
from tests.e2e.test_accessibility import assert_accessible

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def axe():
    return Axe()


@pytest.fixture
def card(distributor, site, municipality):
    data = services.HolderData(
        kind="customer", birth_year=1980, children_count=1, postal_code="33100", municipality=municipality
    )
    return services.card_register(site=site, actor=distributor, number="A1234567", holder_data=data)


def test_the_letter_prints_on_one_a4_page_without_the_sites_chrome(distributor_page, url, axe, card):
    page = distributor_page
    page.goto(url(f"/cards/{card.pk}/"))
    page.get_by_role("link", name="Letter for the client").click()
    page.get_by_label("Language of the letter").select_option("fi_plain")
    page.get_by_role("button", name="Show").click()

    assert page.get_by_role("heading", name="Sinun Kaikukorttisi").is_visible()
    assert page.get_by_role("button", name="Print").is_visible()
    assert_accessible(page, axe, "the letter on screen")

    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible()
    assert not page.locator(".letter-controls").is_visible()
    assert page.locator(".letter").is_visible()
    assert "A1234567" in page.locator(".letter").inner_text()
    pdf = page.pdf(format="A4")
    assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") == 1, "the letter should fit one A4 page"


def test_the_letter_on_a_phone(distributor_page, url, axe, card):
    page = distributor_page
    page.set_viewport_size({"width": 360, "height": 640})
    page.goto(url(f"/cards/{card.pk}/letter/?lang=sv"))

    assert page.get_by_role("heading", name="Ditt Kaikukort").is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways ({width} px)"
    assert_accessible(page, axe, "the letter at 360 px")
