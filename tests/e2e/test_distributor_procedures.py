"""The distributor's six procedures (docs/rules.md), clicked through as a distributor would.

Each test checks what the distributor sees and what the register then holds.
"""

import re

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import User
from cards.models import Card, Holder
from cards.services import validity_period
from tests import factories
from tests.e2e.conftest import PHONE, fact, fill_customer, fill_organisation, h1, messages

pytestmark = pytest.mark.e2e

ASSIGNED = r"{}\d{{7}}"


def open_new_card_form(page, url):
    page.goto(url("/cards/"))
    page.get_by_role("main").get_by_role("link", name="New card").click()
    expect(h1(page)).to_have_text("New card")


def register(page):
    page.get_by_role("button", name="Register card").click()


def activate_omakaiku(page, email):
    checkbox = page.get_by_label("Activate OmaKaiku")
    if not checkbox.is_checked():  # typing X or Z ticks it already
        checkbox.check()
    page.get_by_label("Holder's personal email").fill(email)


def physical_card_with_omakaiku(site, email):
    """A customer with a valid physical card whose OmaKaiku login is ``email``."""
    account = factories.HolderUserFactory(email=email, activated_at=None)
    holder = factories.HolderFactory(account=account, municipality__name="Tampere")
    return factories.CardFactory(holder=holder, site=site, number="K5550001")


# --- 1. New physical card, no mobile ----------------------------------------------------------


def test_new_physical_card_without_mobile(distributor_page, url, site):
    page = distributor_page
    open_new_card_form(page, url)

    page.get_by_label("Card number").fill("k123 4567")  # as read aloud; stored uppercased without spaces
    fill_customer(page, birth_year="1985", children="2")
    page.get_by_label("Gender (optional)").select_option(label="Female")
    register(page)

    expect(h1(page)).to_contain_text("Card K1234567")
    expect(h1(page).locator(".badge")).to_have_text("Valid")
    expect(messages(page)).to_contain_text("Card K1234567 registered.")
    expect(fact(page, "Mobile card")).to_have_text("Not enabled")
    expect(fact(page, "Year of birth")).to_have_text("1985")
    expect(page.get_by_role("region", name="OmaKaiku")).to_contain_text("Not activated")

    card = Card.objects.select_related("holder").get(number="K1234567")
    assert (card.kind, card.status, card.site, card.mobile_enabled) == ("physical", "active", site, False)
    assert (card.holder.birth_year, card.holder.children_count, card.holder.postal_code) == (1985, 2, "33100")
    assert card.holder.gender == "female"
    assert card.holder.account is None
    assert mail.outbox == []


# --- 2. New physical card + mobile ------------------------------------------------------------


def test_a_mind_changed_on_the_form_leaves_nothing_hidden_to_refuse(distributor_page, url):
    # Found in review: OmaKaiku and the mobile card ticked, then OmaKaiku unticked (hiding both),
    # refused the card about a hidden address; a customer's year typed wrong, then "organisation"
    # chosen, refused it about a hidden year. Focus fell to the page's body both times.
    page = distributor_page
    open_new_card_form(page, url)
    page.get_by_label("Card number").fill("K1234568")
    fill_customer(page, birth_year="19800")
    activate_omakaiku(page, "b7@example.org")
    page.get_by_label("Mobile card too (physical card)").check()
    page.get_by_label("Activate OmaKaiku").uncheck()
    fill_organisation(page)
    register(page)

    expect(h1(page)).to_contain_text("Card K1234568")
    card = Card.objects.select_related("holder").get(number="K1234568")
    assert (card.mobile_enabled, card.holder.account_id, card.holder.kind) == (False, None, "organisation")
    assert card.holder.birth_year is None


def test_back_to_the_form_shows_the_fields_chosen_with_what_was_typed(distributor_page, url):
    # Found in review: after the card list and Back, the browser put back "organisation" and
    # OmaKaiku ticked, but the page showed a customer's fields and had emptied the others.
    page = distributor_page
    open_new_card_form(page, url)
    page.get_by_label("Card number").fill("K1234569")
    fill_organisation(page, name="Org B")
    activate_omakaiku(page, "b@example.org")
    page.goto(url("/cards/"))
    page.go_back()

    expect(page.get_by_label("Organisation name")).to_be_visible()
    expect(page.get_by_label("Organisation name")).to_have_value("Org B")
    expect(page.get_by_label("Holder's personal email")).to_have_value("b@example.org")
    expect(page.get_by_label("Year of birth")).to_be_hidden()
    # The number and postal code are not kept (autocomplete off: not stored by the browser).
    page.get_by_label("Card number").fill("K1234569")
    page.get_by_label("Postal code").fill("33100")
    register(page)
    expect(h1(page)).to_contain_text("Card K1234569")
    assert Card.objects.get(number="K1234569").holder.organisation_name == "Org B"


def test_new_physical_card_with_mobile_card_and_omakaiku(distributor_page, url):
    page = distributor_page
    open_new_card_form(page, url)

    page.get_by_label("Card number").fill("K7000001")
    fill_customer(page)
    # The OmaKaiku fields appear only once it is ticked.
    expect(page.get_by_label("Holder's personal email")).to_be_hidden()
    activate_omakaiku(page, "Maija.Meikalainen@Example.com")
    page.get_by_label("Mobile card too").check()
    register(page)

    expect(h1(page)).to_contain_text("Card K7000001")
    expect(fact(page, "Mobile card")).to_have_text("Enabled")
    expect(messages(page)).to_contain_text("An OmaKaiku invitation to the holder")
    expect(fact(page, "Email")).to_have_text("maija.meikalainen@example.com")
    expect(page.get_by_role("button", name="Resend OmaKaiku invitation")).to_be_visible()

    card = Card.objects.select_related("holder__account").get(number="K7000001")
    assert card.kind == Card.Kind.PHYSICAL
    assert card.mobile_enabled
    assert card.holder.account.email == "maija.meikalainen@example.com"
    assert card.holder.account.kind == User.Kind.HOLDER
    assert [message.to for message in mail.outbox] == [["maija.meikalainen@example.com"]]

    # The holder lost the email: a new one goes out (stamped anew, so earlier links stop working).
    invited_at = card.holder.account.invited_at
    page.get_by_role("button", name="Resend OmaKaiku invitation").click()
    expect(messages(page)).to_contain_text("A new OmaKaiku invitation was created")
    assert [message.to for message in mail.outbox] == [["maija.meikalainen@example.com"]] * 2
    card.holder.account.refresh_from_db()
    assert card.holder.account.invited_at > invited_at


# --- 3. New customer mobile-only (X) ----------------------------------------------------------


def test_x_card_gets_an_assigned_number(distributor_page, url):
    page = distributor_page
    open_new_card_form(page, url)

    page.get_by_label("Card number").fill("x")
    # A mobile-only card needs OmaKaiku: the form ticks it and hides "Mobile card too".
    expect(page.get_by_label("Activate OmaKaiku")).to_be_checked()
    expect(page.get_by_label("Mobile card too")).to_be_hidden()
    fill_customer(page)
    activate_omakaiku(page, "x-holder@example.com")
    register(page)

    card = Card.objects.get(holder__account__email="x-holder@example.com")
    assert re.fullmatch(ASSIGNED.format("X"), card.number)
    assert (card.kind, card.mobile_enabled) == (Card.Kind.X, True)
    expect(messages(page)).to_contain_text(f"The assigned card number is {card.number}.")
    expect(h1(page)).to_contain_text(f"Card {card.number}")
    expect(h1(page).locator(".badge")).to_have_text("Valid")
    expect(fact(page, "Mobile card")).to_have_text("Enabled")
    assert [message.to for message in mail.outbox] == [["x-holder@example.com"]]


def test_a_double_click_registers_one_card_and_shows_it(distributor_page, url):
    page = distributor_page
    open_new_card_form(page, url)
    page.get_by_label("Card number").fill("x")
    fill_customer(page)
    activate_omakaiku(page, "x-holder@example.com")

    posts = []
    page.on("request", lambda request: request.method == "POST" and posts.append(request.url))
    # Two clicks 20 ms apart, as a double click lands while the first request is on its way.
    page.get_by_role("button", name="Register card").evaluate(
        "button => { button.click(); setTimeout(() => button.click(), 20); }"
    )

    # One request, so the page shown is the registration's, not the second's "address in use".
    expect(messages(page)).to_contain_text("The assigned card number is")
    card = Card.objects.get(holder__account__email="x-holder@example.com")
    expect(h1(page)).to_contain_text(f"Card {card.number}")
    assert len(posts) == 1
    assert Card.objects.count() == 1
    assert len(mail.outbox) == 1


def test_x_card_is_refused_for_a_customer_with_a_physical_card(distributor_page, url, site, municipality):
    physical = physical_card_with_omakaiku(site, "maija@example.com")
    page = distributor_page
    open_new_card_form(page, url)

    page.get_by_label("Card number").fill("X")
    fill_customer(page, birth_year="1980", children="1", postal_code="33200")
    activate_omakaiku(page, "maija@example.com")
    register(page)

    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Please check the form")
    expect(summary).to_contain_text(f"active physical card ({physical.number})")
    expect(page.locator("#field-number .error")).to_contain_text("Switch to mobile-only")
    # Nothing typed is lost.
    expect(page.get_by_label("Card number")).to_have_value("X")
    expect(page.get_by_label("Year of birth")).to_have_value("1980")
    expect(page.get_by_label("Children under 18")).to_have_value("1")
    expect(page.get_by_label("Postal code")).to_have_value("33200")
    expect(page.get_by_label("Home municipality")).to_have_value(str(municipality.pk))
    expect(page.get_by_label("Holder's personal email")).to_have_value("maija@example.com")
    # Keyboard users land on the field to fix.
    expect(page.get_by_label("Card number")).to_be_focused()

    assert list(Card.objects.values_list("number", flat=True)) == [physical.number]
    assert mail.outbox == []


# --- 4. New organisation mobile-only (Z) ------------------------------------------------------


def test_z_card_for_an_organisation(distributor_page, url):
    page = distributor_page
    open_new_card_form(page, url)

    page.get_by_label("Card number").fill("Z")
    fill_organisation(page, name="Youth centre Nuotta", role="Youth worker")
    # The customer's fields are not asked for an organisation.
    expect(page.get_by_label("Year of birth")).to_be_hidden()
    activate_omakaiku(page, "nuotta@example.org")
    register(page)

    card = Card.objects.select_related("holder").get(kind=Card.Kind.Z)
    assert re.fullmatch(ASSIGNED.format("Z"), card.number)
    assert card.holder.kind == Holder.Kind.ORGANISATION
    assert (card.holder.organisation_name, card.holder.representative_role) == ("Youth centre Nuotta", "Youth worker")
    assert card.holder.birth_year is None
    expect(messages(page)).to_contain_text(f"The assigned card number is {card.number}.")
    expect(fact(page, "Organisation")).to_have_text("Youth centre Nuotta")
    expect(fact(page, "Mobile card")).to_have_text("Enabled")
    assert [message.to for message in mail.outbox] == [["nuotta@example.org"]]


def test_z_card_is_refused_for_a_customer(distributor_page, url):
    page = distributor_page
    open_new_card_form(page, url)

    page.get_by_label("Card number").fill("Z")
    fill_customer(page)
    activate_omakaiku(page, "customer@example.com")
    register(page)

    expect(page.locator("#field-number .error")).to_have_text(
        "Z cards are for organisations only. For a customer's mobile-only card type X."
    )
    expect(page.get_by_role("radio", name="Customer")).to_be_checked()
    assert not Card.objects.exists()
    assert not User.objects.filter(email="customer@example.com").exists()
    assert mail.outbox == []


# --- 5. Existing physical card gets mobile too ------------------------------------------------


def test_existing_physical_card_gets_a_mobile_card(distributor_page, url, site):
    card = factories.CardFactory(site=site, number="K8000001")
    page = distributor_page
    page.goto(url("/cards/"))
    # Find the card by its number, as read from the plastic.
    page.get_by_label("Find a card by number").fill("k8000001")
    page.get_by_role("button", name="Search").click()
    expect(h1(page)).to_contain_text("Card K8000001")
    expect(fact(page, "Mobile card")).to_have_text("Not enabled")

    page.get_by_role("link", name="Enable mobile card").click()
    expect(page.get_by_label("Enable the mobile card")).to_be_checked()
    page.get_by_label("Holder's personal email").fill("mobile@example.com")
    page.get_by_role("button", name="Save").click()

    expect(fact(page, "Mobile card")).to_have_text("Enabled")
    expect(messages(page)).to_contain_text("The mobile card is enabled.")
    expect(page.get_by_role("link", name="Enable mobile card")).to_have_count(0)
    card.refresh_from_db()
    assert card.mobile_enabled
    assert card.number == "K8000001"
    assert card.kind == Card.Kind.PHYSICAL
    assert card.holder.account.email == "mobile@example.com"
    assert [message.to for message in mail.outbox] == [["mobile@example.com"]]
    # The change is in the card's history.
    expect(page.get_by_role("region", name="History")).to_contain_text("Mobile card enabled")


# --- 6. Customer switches to mobile-only -------------------------------------------------------


def test_switch_by_inactivating_then_registering_a_new_x_card(distributor_page, url, site):
    old = factories.CardFactory(site=site, number="K9000001", holder__municipality__name="Tampere")
    page = distributor_page
    page.goto(url(f"/cards/{old.pk}/"))

    page.get_by_role("link", name="Inactivate").click()
    page.get_by_role("radio", name="Given up").check()
    page.get_by_role("button", name="Inactivate the card").click()
    expect(h1(page).locator(".badge")).to_have_text("Inactive")
    expect(messages(page)).to_contain_text("Card K9000001 was inactivated.")

    page.get_by_role("link", name="New card for this holder").click()
    expect(page.get_by_text("A new card for the holder of card K9000001")).to_be_visible()
    # The holder's details come with the holder; their type cannot change.
    expect(page.get_by_label("Year of birth")).to_have_value(str(old.holder.birth_year))
    expect(page.get_by_role("radio", name="Customer")).to_be_disabled()
    page.get_by_label("Card number").fill("X")
    activate_omakaiku(page, "switcher@example.com")
    register(page)

    new = Card.objects.exclude(pk=old.pk).get()
    old.refresh_from_db()
    assert (old.status, old.inactivation_reason) == (Card.Status.INACTIVE, Card.InactivationReason.GIVEN_UP)
    assert (new.kind, new.status, new.holder_id) == (Card.Kind.X, Card.Status.ACTIVE, old.holder_id)
    assert new.holder.account.email == "switcher@example.com"
    expect(h1(page)).to_contain_text(f"Card {new.number}")
    expect(h1(page).locator(".badge")).to_have_text("Valid")
    expect(page.get_by_role("region", name="The holder's other cards")).to_contain_text("K9000001")
    assert [message.to for message in mail.outbox] == [["switcher@example.com"]]


def test_switch_to_mobile_only_as_one_guided_action(distributor_page, url, site):
    old = factories.CardFactory(site=site, number="K9000002")
    page = distributor_page
    page.goto(url(f"/cards/{old.pk}/"))

    page.get_by_role("link", name="Switch to mobile-only").click()
    page.get_by_label("Holder's personal email").fill("guided@example.com")
    # Without the confirmation nothing happens.
    page.get_by_role("button", name="Switch to mobile-only").click()
    expect(page.get_by_role("alert")).to_contain_text("Please check the form")
    expect(page.get_by_label("Holder's personal email")).to_have_value("guided@example.com")
    assert Card.objects.count() == 1

    page.get_by_label("The customer gives up the physical card").check()
    page.get_by_role("button", name="Switch to mobile-only").click()

    new = Card.objects.exclude(pk=old.pk).get()
    expect(h1(page)).to_contain_text(f"Card {new.number}")
    expect(messages(page)).to_contain_text(
        f"Card K9000002 was inactivated and the mobile-only card {new.number} created."
    )
    expect(fact(page, "Type")).to_have_text("X: customer, mobile only")
    other_cards = page.get_by_role("region", name="The holder's other cards")
    expect(other_cards).to_contain_text("K9000002")
    expect(other_cards.locator(".badge")).to_have_text("Inactive")

    old.refresh_from_db()
    assert (old.status, old.inactivation_reason) == (Card.Status.INACTIVE, Card.InactivationReason.GIVEN_UP)
    assert re.fullmatch(ASSIGNED.format("X"), new.number)
    assert (new.kind, new.mobile_enabled, new.holder_id) == (Card.Kind.X, True, old.holder_id)
    assert [message.to for message in mail.outbox] == [["guided@example.com"]]

    # The old card's page says so, and offers nothing but a new card.
    page.goto(url(f"/cards/{old.pk}/"))
    expect(h1(page).locator(".badge")).to_have_text("Inactive")
    expect(page.get_by_role("link", name="Switch to mobile-only")).to_have_count(0)


# --- 7. Renew, correct a typo, see the history -------------------------------------------------


def test_renew_an_expired_card(distributor_page, url, site):
    card = factories.CardFactory(site=site, number="K9100001", expired=True)
    page = distributor_page
    page.goto(url(f"/cards/{card.pk}/"))
    expect(h1(page).locator(".badge")).to_have_text("Expired")
    expect(page.get_by_text("This card has expired.")).to_be_visible()

    page.get_by_role("link", name="Renew").click()
    _, until = validity_period(timezone.localdate())
    expect(page.get_by_text(f"Renewed today, it will be valid until {until:%-d.%-m.%Y}.")).to_be_visible()
    page.get_by_role("button", name="Renew for 12 months").click()

    expect(messages(page)).to_contain_text(f"The card was renewed until {until:%d.%m.%Y}.", timeout=2_000)
    expect(h1(page).locator(".badge")).to_have_text("Valid")
    card.refresh_from_db()
    assert (card.valid_from, card.valid_until) == (timezone.localdate(), until)


def test_correct_a_typo_and_see_it_in_the_history(distributor_page, url, site):
    card = factories.CardFactory(site=site, number="K9100002", holder__postal_code="33100")
    page = distributor_page
    page.goto(url(f"/cards/{card.pk}/"))

    page.get_by_role("link", name="Edit details").click()
    expect(page.get_by_label("Card number")).to_have_value("K9100002")
    page.get_by_label("Postal code").fill("33200")
    page.get_by_label("Reason for the change").fill("typo in postal code")
    page.get_by_role("button", name="Save").click()

    expect(messages(page)).to_contain_text("The details were saved.")
    expect(fact(page, "Postal code")).to_have_text("33200")
    history = page.get_by_role("region", name="History")
    expect(history).to_contain_text("typo in postal code")
    expect(history.locator("del", has_text="33100")).to_be_visible()
    expect(history.locator("ins", has_text="33200")).to_be_visible()
    card.holder.refresh_from_db()
    assert card.holder.postal_code == "33200"


# --- Keyboard and phone -----------------------------------------------------------------------


def focused(page) -> str:
    """What has the keyboard focus: the name attribute, or the text of a button."""
    return page.evaluate("() => document.activeElement.name || document.activeElement.textContent.trim()")


def test_new_card_form_works_with_the_keyboard_only(distributor_page, url):
    page = distributor_page
    page.goto(url("/cards/new/"))

    page.get_by_label("Card number").focus()
    page.keyboard.type("K4440001")
    page.keyboard.press("Tab")
    assert focused(page) == "kind"  # the checked radio of the group; Customer is preselected
    page.keyboard.press("Tab")
    assert focused(page) == "birth_year"
    page.keyboard.type("1990")
    page.keyboard.press("Tab")
    page.keyboard.type("0")
    page.keyboard.press("Tab")
    assert focused(page) == "gender"
    page.keyboard.press("Tab")
    assert focused(page) == "life_situation"
    page.keyboard.press("Tab")  # the hidden organisation fields are skipped
    assert focused(page) == "postal_code"
    page.keyboard.type("33100")
    page.keyboard.press("Tab")
    assert focused(page) == "municipality"
    page.keyboard.press("ArrowDown")  # the first municipality after the empty choice
    page.keyboard.press("Tab")
    assert focused(page) == "activate_omakaiku"
    page.keyboard.press("Tab")  # OmaKaiku's fields stay hidden while unticked
    assert focused(page) == "Register card"
    page.keyboard.press("Enter")

    expect(h1(page)).to_contain_text("Card K4440001")
    holder = Card.objects.get(number="K4440001").holder
    assert (holder.birth_year, holder.children_count, holder.postal_code, holder.municipality.name) == (
        1990,
        0,
        "33100",
        "Tampere",
    )


def test_enter_in_a_text_field_submits_and_focus_goes_to_the_first_error(distributor_page, url):
    page = distributor_page
    page.goto(url("/cards/new/"))
    page.get_by_label("Card number").focus()
    page.keyboard.type("K4440002")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    expect(page.get_by_role("alert")).to_contain_text("Please check the form")
    first_error = page.locator(".field--error").first.locator("input, select")
    expect(first_error).to_be_focused()
    expect(first_error).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Card number")).to_have_value("K4440002")
    assert not Card.objects.exists()


def test_phone_width_has_no_sideways_scrolling(distributor_page, url, site):
    page = distributor_page
    page.set_viewport_size(PHONE)
    account = factories.HolderUserFactory(email="a-rather-long-personal-address.for-testing@example.com")
    card = factories.CardFactory(site=site, number="K1234567890123456789", holder__account=account)
    factories.CardFactory.create_batch(3, site=site)

    for path in ("/cards/", f"/cards/{card.pk}/", "/cards/new/", f"/cards/{card.pk}/edit/"):
        page.goto(url(path))
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width}px wide on a {PHONE['width']}px phone"
    # The table scrolls inside its own box instead.
    page.goto(url("/cards/"))
    expect(page.get_by_role("table")).to_be_visible()
