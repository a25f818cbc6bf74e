"""The venue side as the ticket desk works it: a scanner that types the number and presses
Enter, offline records imported from a spreadsheet, and offers for Kaikukortti holders.
"""

import datetime
import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from cards.models import CardUse, Offer
from cards.services import card_register
from tests import factories
from tests.e2e.conftest import PHONE, h1, messages
from tests.e2e.test_accessibility import blocking_violations

pytestmark = pytest.mark.e2e

HEADER = "card_number,date,category,child_tickets,assistant_tickets,clients_under_16"


@pytest.fixture(scope="module")
def axe():
    return Axe()


@pytest.fixture
def card(site, municipality):
    """A customer's valid card with two children, issued a month ago."""
    month_ago = timezone.localdate() - datetime.timedelta(days=30)
    return factories.CardFactory(
        site=site,
        number="K3000001",
        issued_on=month_ago,
        valid_from=month_ago,
        holder__children_count=2,
        holder__municipality=municipality,
    )


@pytest.fixture
def desk(page, url, login, venue_user):
    """The venue's desk, logged in."""
    login(venue_user)
    page.goto(url("/venue/"))
    expect(h1(page)).to_contain_text("Record a use")
    return page


def number_field(page):
    return page.get_by_role("search").get_by_label("Card number")


def check_number(page, number: str) -> None:
    number_field(page).fill(number)
    page.get_by_role("button", name="Check").click()


def csv_file(*rows: str) -> dict:
    return {"name": "uses.csv", "mimeType": "text/csv", "buffer": "\n".join([HEADER, *rows, ""]).encode()}


# --- the desk ----------------------------------------------------------------------------------


def test_desk_with_a_scanner(desk, venue, venue_user, card):
    page = desk
    # The number field has the focus as soon as the page opens: the scanner can type at once.
    expect(number_field(page)).to_be_focused()
    assert page.evaluate("() => document.activeElement === document.querySelector('input[name=number]')")

    # A USB scanner types the number and presses Enter.
    page.keyboard.type("K3000001")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Card K3000001 is valid")).to_be_visible()
    expect(page.locator(".check dt:text-is('Children registered') + dd")).to_have_text("2")
    # The card number's label names the search field only: no id twice on the page.
    ids = page.evaluate("() => [...document.querySelectorAll('[id]')].map(element => element.id)")
    assert len(ids) == len(set(ids)), sorted(ids)

    # The first ticket field has the focus, its 0 selected: "1", Enter, done.
    child_tickets = page.get_by_label("Child tickets")
    expect(child_tickets).to_be_focused()
    page.keyboard.type("1")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    today = timezone.localdate()
    expect(messages(page)).to_have_text(f"Recorded: card K3000001, Culture, {today.day}.{today.month}.{today.year}.")
    # Back to an empty desk, ready for the next customer.
    expect(number_field(page)).to_be_focused()
    expect(number_field(page)).to_have_value("")
    expect(page.locator("form.desk-record")).to_have_count(0)

    use = CardUse.objects.get()
    assert (use.card, use.venue, use.used_on, use.category) == (card, venue, today, "culture")
    assert (use.child_tickets, use.assistant_tickets, use.source, use.recorded_by) == (1, 0, "desk", venue_user)
    recent = page.get_by_role("region", name="Recently recorded here")
    expect(recent.locator("tbody tr")).to_have_count(1)
    expect(recent.locator("tbody tr td").nth(1)).to_have_text("K3000001")


def test_desk_records_a_use_in_finnish(desk, url, card):
    """The default language writes dates 29.11.2026; the date picker still holds today."""
    page = desk
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "fi", "url": url("/")}])
    page.goto(url("/venue/"))
    expect(page.locator("html")).to_have_attribute("lang", "fi")

    page.keyboard.type("K3000001")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    today = timezone.localdate()
    expect(page.locator("input[name=used_on]")).to_have_value(today.isoformat())
    page.keyboard.type("1")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    expect(messages(page)).to_contain_text(f"{today.day}.{today.month}.{today.year}")
    use = CardUse.objects.get()
    assert (use.card, use.used_on, use.child_tickets) == (card, today, 1)


def test_a_number_typed_by_hand_is_normalised(desk, card):
    page = desk
    check_number(page, " k300 0001 ")
    expect(page.get_by_role("heading", name="Card K3000001 is valid")).to_be_visible()


@pytest.mark.parametrize(
    ("number", "heading", "reason"),
    [
        ("K3000002", "Card K3000002 is not valid", "The card expired on"),
        ("K3000003", "Card K3000003 is not valid", "The card is inactive and cannot be used."),
        ("K9999999", "No card has the number K9999999", "Unknown card: no card with this number is registered."),
    ],
)
def test_a_card_that_is_not_valid(desk, site, number, heading, reason):
    factories.CardFactory(site=site, number="K3000002", expired=True)
    factories.CardFactory(site=site, number="K3000003", inactive=True)
    page = desk
    check_number(page, number)
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expect(page.locator(".check__reason")).to_contain_text(reason)
    expect(page.locator("form.desk-record")).to_have_count(0)
    expect(page.get_by_role("button", name="Record use")).to_have_count(0)
    assert not CardUse.objects.exists()


def test_too_many_child_tickets(desk, card):
    page = desk
    check_number(page, "K3000001")
    page.get_by_label("Child tickets").fill("3")
    page.get_by_role("button", name="Record use").click()
    expect(page.get_by_role("alert")).to_contain_text("2 children registered")
    expect(page.get_by_label("Child tickets")).to_be_focused()
    assert not CardUse.objects.exists()


def test_double_click_records_one_use(desk, card):
    """Chromium itself sends one POST for a double click; the test guards what the desk shows."""
    page = desk
    posts = []
    page.on("request", lambda request: request.method == "POST" and "/venue/record/" in request.url and posts.append(1))
    check_number(page, "K3000001")
    page.get_by_role("button", name="Record use").dblclick()
    expect(messages(page)).to_be_visible()
    expect(number_field(page)).to_be_focused()
    assert posts, "the form was not submitted"
    assert CardUse.objects.count() == 1


def test_back_after_recording_warns_before_a_second_use(desk, card):
    """The desk's pages are never cached (they show card data), so the back button fetches a
    fresh form; the desk says a use was just recorded before anyone records a second one."""
    page = desk
    check_number(page, "K3000001")
    page.get_by_role("button", name="Record use").click()
    expect(messages(page)).to_contain_text("Recorded: card K3000001")
    page.go_back()
    expect(page.get_by_role("heading", name="Card K3000001 is valid")).to_be_visible()
    expect(page.locator("[data-recent-use]")).to_contain_text("A use of this card was recorded here at")
    assert CardUse.objects.count() == 1


def test_the_same_form_sent_again_records_one_use(desk, card):
    """A resubmitted form (back button, a retry after a timeout) carries the same token."""
    page = desk
    check_number(page, "K3000001")
    form = {
        name: page.locator(f"form.desk-record [name={name}]").input_value()
        for name in ("csrfmiddlewaretoken", "venue", "number", "token", "used_on", "category", "child_tickets")
    }
    page.get_by_role("button", name="Record use").click()
    expect(messages(page)).to_contain_text("Recorded: card K3000001")

    response = page.request.post(page.url.split("?")[0] + "record/", form=form)
    assert response.ok
    assert "This use was already recorded; it was not recorded twice." in response.text()
    assert CardUse.objects.count() == 1


def test_desk_on_a_phone(desk, url, venue, card):
    page = desk
    factories.CardUseFactory(card=card, venue=venue, child_tickets=2, assistant_tickets=1)
    page.set_viewport_size(PHONE)
    page.goto(url("/venue/?number=K3000001"))
    expect(page.get_by_role("heading", name="Card K3000001 is valid")).to_be_visible()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the desk scrolls sideways on a phone: {width}px wide"
    # The record button is on the screen without scrolling sideways.
    box = page.get_by_role("button", name="Record use").bounding_box()
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]


# --- offline records ---------------------------------------------------------------------------


def test_import_offline_records(desk, card):
    page = desk
    today = timezone.localdate()
    yesterday = today - datetime.timedelta(days=1)
    upload = csv_file(
        f"K3000001,{today.isoformat()},culture,1,0,0",
        f"k3000001,{yesterday:%d.%m.%Y},liikunta,0,1,0",
        f"K9999999,{today.isoformat()},culture,0,0,0",
    )
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Import").click()
    expect(h1(page)).to_contain_text("Import offline records")
    page.get_by_label("CSV file").set_input_files(upload)
    page.get_by_role("button", name="Check the file").click()

    # The keyboard (and a screen reader) is taken to the result, not left at the top of the page.
    expect(page.get_by_role("heading", name="Check result")).to_be_focused()
    summary = page.locator("ul.summary")
    expect(summary).to_contain_text("2 rows can be imported")
    expect(summary).to_contain_text("1 row has errors and will be skipped")
    errors = page.get_by_role("region", name="Rows with errors").locator("tbody tr")
    expect(errors).to_have_count(1)
    expect(errors.locator("td")).to_have_text(
        ["4", "K9999999", today.isoformat(), "Unknown card: no card with this number is registered. Check the number."]
    )
    # The rows to import are listed as they will be recorded, with their line numbers.
    to_import = page.get_by_role("region", name="Rows to import").locator("tbody tr")
    expect(to_import).to_have_count(2)
    expect(to_import.nth(1).locator("td")).to_have_text(
        ["3", "K3000001", f"{yesterday.day}.{yesterday.month}.{yesterday.year}", "Sports", "0", "1", "0"]
    )
    assert not CardUse.objects.exists(), "the preview must not record anything"

    page.get_by_role("button", name="Import 2 uses").click()
    expect(messages(page)).to_have_text(re.compile(r"Imported:? 2\b.*Already imported before: 0\. Refused rows: 1\."))
    expect(h1(page)).to_contain_text("Uses")
    uses = CardUse.objects.order_by("used_on")
    assert [(u.used_on, u.category, u.child_tickets, u.assistant_tickets, u.source) for u in uses] == [
        (yesterday, "sports", 0, 1, "import"),
        (today, "culture", 1, 0, "import"),
    ]

    # The same file again: nothing new.
    page.goto(page.url.replace("/venue/uses/", "/venue/import/"))
    page.get_by_label("CSV file").set_input_files(upload)
    page.get_by_role("button", name="Check the file").click()
    expect(summary).to_contain_text("0 rows can be imported")
    expect(summary).to_contain_text("2 rows were imported before")
    expect(page.get_by_role("region", name="Rows imported before").locator("tbody tr")).to_have_count(2)
    expect(page.get_by_role("button", name="Import")).to_have_count(0)
    assert CardUse.objects.count() == 2


def test_import_refuses_a_file_with_a_formula(desk, url, card):
    page = desk
    today = timezone.localdate().isoformat()
    page.goto(url("/venue/import/"))
    page.get_by_label("CSV file").set_input_files(
        csv_file(f"K3000001,{today},culture,0,0,0", f"K3000001,{today},culture,=1+1,0,0")
    )
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("alert")).to_contain_text("Row 3 contains a formula")
    expect(page.locator("#field-file .error")).to_contain_text("Remove it and try again.")
    expect(page.locator("ul.summary")).to_have_count(0)
    expect(page.get_by_role("button", name="Import")).to_have_count(0)
    assert not CardUse.objects.exists()


# --- offers ------------------------------------------------------------------------------------


def test_offers_from_the_venue_to_omakaiku(desk, url, venue, distributor, site, customer_data):
    page = desk
    today = timezone.localdate()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Offers").click()
    expect(h1(page)).to_contain_text("Offers")
    page.get_by_role("main").get_by_role("link", name="New offer").click()
    expect(h1(page)).to_have_text(f"New offer · {venue.name}")

    # The Finnish title is the one that is required.
    page.get_by_label("Title (English)").fill("Free theatre on Tuesdays")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("Title (Finnish): This field is required.")
    assert not Offer.objects.exists()

    page.get_by_label("Title (Finnish)").fill("Ilmainen teatteritiistai")
    page.get_by_label("Until").fill((today + datetime.timedelta(days=30)).isoformat())
    expect(page.get_by_label("Visible to Kaikukortti holders in OmaKaiku")).to_be_checked()
    page.get_by_role("button", name="Save").click()
    expect(messages(page)).to_contain_text("The offer Free theatre on Tuesdays was saved.")
    offer = page.get_by_role("article", name="Ilmainen teatteritiistai")
    expect(offer.locator(".badge")).to_have_text("Visible in OmaKaiku")

    # A second one, then hidden.
    page.get_by_role("main").get_by_role("link", name="New offer").click()
    page.get_by_label("Title (Finnish)").fill("Kenraaliharjoitus")
    page.get_by_label("Category").select_option(label="Culture")
    page.get_by_label("From").fill(today.isoformat())
    page.get_by_label("Until").fill((today + datetime.timedelta(days=7)).isoformat())
    page.get_by_role("button", name="Save").click()
    expect(messages(page)).to_contain_text("The offer Kenraaliharjoitus was saved.")
    page.get_by_role("button", name="Hide Kenraaliharjoitus").click()
    expect(messages(page)).to_have_text("The offer is now hidden from OmaKaiku.")
    expect(page.get_by_role("article", name="Kenraaliharjoitus").locator(".badge")).to_have_text("Hidden")
    expect(page.get_by_role("button", name="Show in OmaKaiku Kenraaliharjoitus")).to_be_visible()
    assert dict(Offer.objects.values_list("title_fi", "visible")) == {
        "Ilmainen teatteritiistai": True,
        "Kenraaliharjoitus": False,
    }

    # A holder sees the visible one in OmaKaiku (in English, as written) and not the hidden one.
    holder_card = card_register(
        site=site, actor=distributor, number="K3000009", holder_data=customer_data, email="holder@example.com"
    )
    user = holder_card.holder.account
    user.set_password(factories.PASSWORD)
    user.activated_at = timezone.now()
    user.save()
    page.get_by_role("button", name="Log out").click()
    page.goto(url("/omakaiku/login/"))
    page.get_by_label("Email").fill("holder@example.com")
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(h1(page)).to_have_text("My cards")
    page.goto(url("/omakaiku/offers/"))
    expect(page.get_by_role("heading", name="Free theatre on Tuesdays")).to_be_visible()
    expect(page.get_by_role("article", name="Free theatre on Tuesdays")).to_contain_text("Theatre, Tampere")
    expect(page.get_by_role("main")).not_to_contain_text("Kenraaliharjoitus")


def test_offer_can_be_deleted(desk, url, venue):
    offer = factories.OfferFactory(venue=venue, title_fi="Poistettava")
    page = desk
    page.goto(url("/venue/offers/"))
    page.get_by_role("link", name="Delete Poistettava").click()
    expect(h1(page)).to_have_text("Delete offer")
    page.get_by_role("button", name="Delete").click()
    expect(messages(page)).to_have_text("The offer was deleted.")
    assert not Offer.objects.filter(pk=offer.pk).exists()


# --- accessibility -----------------------------------------------------------------------------


def test_accessibility_of_the_desk(desk, axe, site, card):
    factories.CardFactory(site=site, number="K3000002", expired=True)
    page = desk
    report = blocking_violations(page, axe, "the empty desk")
    check_number(page, "K3000001")
    expect(page.get_by_role("heading", name="Card K3000001 is valid")).to_be_visible()
    report += blocking_violations(page, axe, "the desk with a valid card")

    page.get_by_label("Child tickets").fill("5")
    page.get_by_role("button", name="Record use").click()
    expect(page.get_by_role("alert")).to_be_visible()
    report += blocking_violations(page, axe, "the desk with a form error")

    check_number(page, "K3000002")
    expect(page.get_by_role("heading", name="Card K3000002 is not valid")).to_be_visible()
    report += blocking_violations(page, axe, "the desk with an expired card")
    check_number(page, "K9999999")
    expect(page.get_by_role("heading", name="No card has the number K9999999")).to_be_visible()
    report += blocking_violations(page, axe, "the desk with an unknown number")
    assert not report, "axe found:" + report


def test_accessibility_of_uses_and_import(desk, url, axe, venue, venue_user, card):
    use = factories.CardUseFactory(card=card, venue=venue, recorded_by=venue_user, child_tickets=1)
    factories.CardUseFactory(
        card=card, venue=venue, recorded_by=venue_user, cancelled_at=timezone.now(), cancel_reason="wrong card"
    )
    page = desk
    report = ""
    for path, what in [
        ("/venue/uses/", "the uses list"),
        (f"/venue/uses/{use.pk}/cancel/", "the cancel page"),
        ("/venue/import/", "the empty import page"),
    ]:
        page.goto(url(path))
        expect(h1(page)).to_be_visible()
        report += blocking_violations(page, axe, what)

    page.goto(url(f"/venue/uses/{use.pk}/cancel/"))
    page.get_by_role("button", name="Cancel the use").click()
    expect(page.get_by_role("alert")).to_be_visible()
    report += blocking_violations(page, axe, "the cancel page with an error")

    today = timezone.localdate().isoformat()
    page.goto(url("/venue/import/"))
    page.get_by_label("CSV file").set_input_files(
        csv_file(f"K3000001,{today},culture,0,0,0", f"K9999999,{today},culture,0,0,0")
    )
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator("ul.summary")).to_be_visible()
    report += blocking_violations(page, axe, "the import page with a preview")

    page.get_by_label("CSV file").set_input_files(csv_file(f"K3000001,{today},=cmd,0,0,0"))
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("alert")).to_be_visible()
    report += blocking_violations(page, axe, "the import page with a refused file")
    assert not report, "axe found:" + report


def test_accessibility_of_offers(desk, url, axe, venue):
    offer = factories.OfferFactory(venue=venue, title_fi="Näkyvä")
    factories.OfferFactory(venue=venue, title_fi="Piilotettu", visible=False)
    factories.OfferFactory(
        venue=venue,
        title_fi="Päättynyt",
        starts_on=timezone.localdate() - datetime.timedelta(days=30),
        ends_on=timezone.localdate() - datetime.timedelta(days=1),
    )
    page = desk
    report = ""
    for path, what in [
        ("/venue/offers/", "the offers list"),
        ("/venue/offers/new/", "the new-offer form"),
        (f"/venue/offers/{offer.pk}/", "the edit-offer form"),
        (f"/venue/offers/{offer.pk}/delete/", "the delete-offer page"),
    ]:
        page.goto(url(path))
        expect(h1(page)).to_be_visible()
        report += blocking_violations(page, axe, what)

    page.goto(url("/venue/offers/new/"))
    page.get_by_label("From").fill("")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_be_visible()
    report += blocking_violations(page, axe, "the offer form with errors")
    assert not report, "axe found:" + report
