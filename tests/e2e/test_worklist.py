"""The expiry work list in a browser: select, confirm, renewed; axe-clean; keyboard only."""

import datetime

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from django.utils.formats import date_format
from playwright.sync_api import expect

from cards.models import Card
from cards.services import validity_period
from tests import factories
from tests.e2e.conftest import PHONE, h1, messages
from tests.e2e.test_accessibility import assert_accessible

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def axe():
    return Axe()


def card_in(site, days: int, number: str) -> Card:
    """An active card whose last valid day is ``days`` from today (negative: already expired)."""
    until = timezone.localdate() + datetime.timedelta(days=days)
    return factories.CardFactory(
        site=site, number=number, valid_from=until - datetime.timedelta(days=364), valid_until=until
    )


@pytest.fixture
def worklist(site, other_site):
    return {
        "soon": card_in(site, 5, "K7000005"),
        "later": card_in(site, 20, "K7000020"),
        "past": card_in(site, -10, "K7000010"),
        "foreign": card_in(other_site, 6, "K7000006"),
    }


def new_until() -> str:
    return date_format(validity_period(timezone.localdate())[1], "j.n.Y")


def test_select_two_cards_confirm_and_see_them_renewed(distributor_page, url, worklist):
    page = distributor_page
    page.goto(url("/cards/"))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Expiring cards").click()
    expect(h1(page)).to_have_text("Expiring cards")
    expect(page.get_by_role("table", name="Expiring soon")).to_contain_text("K7000005")
    expect(page.get_by_role("table", name="Expired in the last 90 days")).to_contain_text("K7000010")
    expect(page.get_by_role("main")).not_to_contain_text("K7000006")

    page.get_by_label("Select card K7000005").check()
    page.get_by_label("Select card K7000010").check()
    page.get_by_role("button", name="Renew selected").click()

    expect(h1(page)).to_have_text("Renew selected cards")
    table = page.get_by_role("table", name="The cards to renew")
    expect(table.get_by_role("row")).to_have_count(3)
    expect(table).to_contain_text(new_until())
    # Changing one's mind keeps the selection.
    page.get_by_role("link", name="Back to the list").click()
    expect(page.get_by_label("Select card K7000005")).to_be_checked()
    expect(page.get_by_label("Select card K7000010")).to_be_checked()
    expect(page.get_by_label("Select card K7000020")).not_to_be_checked()
    page.get_by_role("button", name="Renew selected").click()
    page.get_by_role("button", name="Confirm renewal of 2 cards").click()

    expect(messages(page)).to_contain_text(f"2 cards were renewed until {new_until()}: K7000005, K7000010.")
    expect(h1(page)).to_have_text("Expiring cards")
    expect(page.get_by_role("main").get_by_role("link", name="K7000005")).to_have_count(0)
    for key, renewed in [("soon", True), ("past", True), ("later", False)]:
        worklist[key].refresh_from_db()
        assert (worklist[key].valid_from == timezone.localdate()) is renewed


def test_one_click_renewal(distributor_page, url, worklist):
    page = distributor_page
    page.goto(url("/cards/expiring/"))

    page.get_by_role("button", name="Renew card K7000020").click()

    expect(messages(page)).to_contain_text(f"Card K7000020 was renewed: valid until {new_until()}.")
    expect(page.get_by_role("button", name="Renew card K7000020")).to_have_count(0)


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, PHONE], ids=["1280px", "360px"])
def test_pages_are_accessible(distributor_page, url, axe, worklist, viewport):
    page = distributor_page
    page.set_viewport_size(viewport)
    selection = f"?card={worklist['soon'].pk}&card={worklist['past'].pk}"
    for path, what in [
        ("/cards/expiring/", "the work list"),
        ("/cards/expiring/" + selection, "the work list with a selection"),
        ("/cards/expiring/renew/" + selection, "the confirmation"),
        (f"/cards/expiring/renew/?card={worklist['foreign'].pk}", "the confirmation refusing a card"),
    ]:
        page.goto(url(path))
        expect(h1(page)).to_be_visible()
        assert_accessible(page, axe, f"{what} at {viewport['width']} px")
        wide = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert wide <= 0, f"{what} scrolls sideways at {viewport['width']} px"


def tab_to(page, locator, *, limit: int = 60) -> None:
    """Press Tab until ``locator`` has the focus, as a keyboard user moves through the page."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if locator.evaluate("element => element === document.activeElement"):
            return
    pytest.fail(f"Tab never reached {locator}")


def test_keyboard_only(distributor_page, url, worklist):
    page = distributor_page
    page.goto(url("/cards/expiring/"))

    tab_to(page, page.get_by_label("Select card K7000005"))
    page.keyboard.press("Space")
    tab_to(page, page.get_by_role("button", name="Renew card K7000005"))
    tab_to(page, page.get_by_label("Select card K7000010"))
    page.keyboard.press("Space")
    tab_to(page, page.get_by_role("button", name="Renew selected"))
    page.keyboard.press("Enter")

    expect(h1(page)).to_have_text("Renew selected cards")
    tab_to(page, page.get_by_role("button", name="Confirm renewal of 2 cards"))
    page.keyboard.press("Enter")

    expect(messages(page)).to_contain_text("2 cards were renewed")
    worklist["soon"].refresh_from_db()
    assert worklist["soon"].valid_from == timezone.localdate()


def test_renewing_with_nothing_selected_takes_the_keyboard_to_the_refusal(distributor_page, url, worklist):
    page = distributor_page
    page.goto(url("/cards/expiring/"))
    page.get_by_role("button", name="Renew selected").click()

    refusal = page.locator("main .messages")
    expect(refusal).to_contain_text("Select at least one card to renew.")
    expect(refusal).to_be_focused()


def test_a_card_search_takes_the_keyboard_to_its_result(distributor_page, url, worklist):
    page = distributor_page
    page.goto(url("/cards/"))
    page.get_by_label("Find a card by number").fill("K0000404")
    page.get_by_role("button", name="Search").click()

    result = page.locator("section.lookup")
    expect(result).to_contain_text("Card not found")
    expect(result).to_be_focused()
