"""Replacing a lost or broken card from the card page, as a distributor does it."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cards.models import Card, ValidityPeriod
from tests import factories
from tests.e2e.conftest import PHONE, fact, h1, messages
from tests.e2e.test_accessibility import assert_accessible, axe  # noqa: F401  (the axe fixture)

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture
def lost_card(site):
    """A customer's physical card with OmaKaiku and the mobile card; another card holds K5550002."""
    account = factories.HolderUserFactory(email="holder@example.com", activated_at=timezone.now())
    holder = factories.HolderFactory(account=account, municipality__name="Tampere")
    factories.CardFactory(site=site, number="K5550002")
    return factories.CardFactory(holder=holder, site=site, number="K5550001", mobile_enabled=True)


def test_replace_a_lost_card_from_the_card_page(distributor_page, url, axe, lost_card):  # noqa: F811
    page = distributor_page
    page.set_viewport_size(DESKTOP)
    page.goto(url(f"/cards/{lost_card.pk}/"))
    page.get_by_role("link", name="Replace card").click()
    expect(h1(page)).to_have_text("Replace card K5550001")
    assert_accessible(page, axe, "the replace form")

    # A number that is already registered: the form says so and keeps what was typed.
    page.get_by_label("New card number").fill("k555 0002")
    page.get_by_role("radio", name="Lost").check()
    page.get_by_role("button", name="Replace card").click()
    expect(page.get_by_role("alert")).to_contain_text("Card number K5550002 is already registered.")
    expect(page.get_by_label("New card number")).to_have_value("k555 0002")
    expect(page.get_by_role("radio", name="Lost")).to_be_checked()
    assert_accessible(page, axe, "the replace form with an error")
    lost_card.refresh_from_db()
    assert lost_card.status == Card.Status.ACTIVE

    page.set_viewport_size(PHONE)
    assert_accessible(page, axe, "the replace form on a phone")
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], "the replace form scrolls sideways on a phone"

    # With the keyboard: the right number, Enter sends the form.
    number = page.get_by_label("New card number")
    number.fill("")
    number.press_sequentially("k777 0001")
    number.press("Enter")

    expect(h1(page)).to_contain_text("Card K7770001")
    expect(messages(page)).to_contain_text("Card K5550001 was inactivated and replaced by card K7770001.")
    expect(fact(page, "Mobile card")).to_have_text("Enabled")
    until = lost_card.valid_until
    expect(fact(page, "Validity period")).to_have_text(
        re.compile(rf"{timezone.localdate():%-d.%-m.%Y} – {until.day}\.{until.month}\.{until.year}")
    )
    assert_accessible(page, axe, "the new card's page on a phone")

    # The old card's page leads to the new one and says why it was inactivated.
    page.get_by_role("link", name="K5550001").click()
    expect(h1(page)).to_contain_text("Card K5550001")
    expect(page.get_by_text(re.compile(r"Inactivated on .*: Lost\."))).to_be_visible()
    expect(page.get_by_text("Replaced by a new card")).to_be_visible()
    expect(page.get_by_role("link", name="Replace card")).to_have_count(0)

    new = Card.objects.get(number="K7770001")
    assert new.holder_id == lost_card.holder_id
    assert new.periods.get().cause == ValidityPeriod.Cause.REPLACED
