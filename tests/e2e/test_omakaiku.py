"""OmaKaiku, the cardholders' portal, as a holder uses it: from the invitation email to the
mobile card shown at a venue's desk, on a phone and with the keyboard only.
"""

import datetime
import re

import pytest
import time_machine
from axe_playwright_python.sync_playwright import Axe
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from cards.models import Card
from cards.services import card_omakaiku_resend, card_register
from tests import factories
from tests.e2e.conftest import PHONE, h1, messages
from tests.e2e.test_accessibility import assert_accessible, blocking_violations

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "Kaiku-salasana-2025"
ACTIVATION_PATH = re.compile(r"/omakaiku/activate/[0-9a-z]+/[0-9A-Za-z]+-[0-9A-Za-z]+/")
OMAKAIKU_PAGES = ["/omakaiku/", "/omakaiku/uses/", "/omakaiku/offers/", "/omakaiku/my-data/"]


@pytest.fixture(scope="module")
def axe():
    return Axe()


def register_with_omakaiku(distributor, site, holder_data, email, *, number="K7100001") -> Card:
    """A distributor registers a physical card with a mobile card; the invitation goes out."""
    return card_register(
        site=site,
        actor=distributor,
        number=number,
        holder_data=holder_data,
        email=email,
        mobile=True,
        language="en",
    )


def activation_path(message) -> str:
    """The path of the set-your-password link in an invitation email."""
    found = ACTIVATION_PATH.findall(message.body)
    assert len(found) == 1, message.body
    return found[0]


def set_password(page, password: str = NEW_PASSWORD) -> None:
    page.get_by_label(re.compile(r"^New password\W*$")).fill(password)
    page.get_by_label("New password confirmation").fill(password)
    page.get_by_label("I have read the privacy notice.").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Set password and log in").click()


def holder_log_in(page, url, email: str, password: str = factories.PASSWORD) -> None:
    page.goto(url("/omakaiku/login/"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()


def activated_holder(distributor, site, holder_data, email="holder@example.com") -> Card:
    """A registered card with mobile whose holder has already set the password factories.PASSWORD."""
    card = register_with_omakaiku(distributor, site, holder_data, email)
    user = card.holder.account
    user.set_password(factories.PASSWORD)
    user.activated_at = timezone.now()
    user.save()
    return card


# --- the whole way, from the invitation to the mobile card -------------------------------------


def test_invitation_to_mobile_card(page, url, distributor, site, venue, customer_data):
    card = register_with_omakaiku(distributor, site, customer_data, "Maija@Example.com")
    assert [message.to for message in mail.outbox] == [["maija@example.com"]]
    path = activation_path(mail.outbox[0])

    # Uses on the card: two years, and one cancelled (recorded by mistake) that is no use at all.
    today = timezone.localdate()
    factories.CardUseFactory(card=card, venue=venue, used_on=today, child_tickets=2)
    factories.CardUseFactory(
        card=card, venue=factories.VenueSiteFactory(name="City museum"), used_on=datetime.date(today.year - 1, 6, 15)
    )
    factories.CardUseFactory(
        card=card,
        venue=factories.VenueSiteFactory(name="Swimming hall"),
        used_on=datetime.date(today.year - 1, 3, 1),
        child_tickets=1,
        category="sports",
    )
    factories.CardUseFactory(
        card=card,
        venue=factories.VenueSiteFactory(name="Concert hall"),
        used_on=today,
        cancelled_at=timezone.now(),
        cancel_reason="wrong card",
    )
    factories.OfferFactory(venue=venue, title_en="Free Tuesday shows")
    factories.OfferFactory(venue=venue, title_en="Secret preview", visible=False)
    factories.OfferFactory(
        venue=venue,
        title_en="Last summer's concerts",
        starts_on=today - datetime.timedelta(days=60),
        ends_on=today - datetime.timedelta(days=1),
    )

    # The link from the email: the token moves into the session, the form shows.
    page.goto(url(path))
    expect(h1(page)).to_have_text("Welcome to OmaKaiku")
    assert "/set-password/" in page.url, "the token must leave the address bar"
    expect(page.get_by_role("main")).to_contain_text("You log in to OmaKaiku with maija@example.com")
    set_password(page)

    # Logged in, on "My cards".
    assert page.url == url("/omakaiku/")
    expect(messages(page)).to_contain_text("Welcome to OmaKaiku! Your password is set.")
    expect(h1(page)).to_have_text("My cards")
    expect(page.locator(".holder-card .card-number")).to_have_text("K7100001")
    expect(page.locator(".holder-card")).to_contain_text("Physical + mobile")
    card.holder.account.refresh_from_db()
    assert card.holder.account.activated_at is not None

    # My uses: newest first, the cancelled one marked as such and left out of the totals per year.
    page.get_by_role("link", name="My uses").click()
    expect(h1(page)).to_have_text("My uses")
    uses = page.locator(".use-list li")
    expect(uses.locator(".use-list__venue")).to_have_text(["Concert hall", "Theatre", "City museum", "Swimming hall"])
    expect(uses.nth(0)).to_contain_text("Cancelled")
    expect(uses.nth(0)).to_contain_text("It does not count as a use. Reason: wrong card")
    expect(uses.nth(1)).to_contain_text("2 child tickets")
    expect(uses.nth(1)).not_to_contain_text("Cancelled")
    totals = page.get_by_role("region", name="Per year").locator("tbody tr")
    expect(totals).to_have_count(2)
    expect(totals.nth(0).locator("td")).to_have_text([str(today.year), "1", "2"])
    expect(totals.nth(1).locator("td")).to_have_text([str(today.year - 1), "2", "1"])

    # Offers: the visible current one only.
    page.get_by_role("link", name="Offers").click()
    expect(h1(page)).to_have_text("Offers for Kaikukortti holders")
    expect(page.get_by_role("heading", name="Free Tuesday shows")).to_be_visible()
    expect(page.get_by_role("main")).not_to_contain_text("Secret preview")
    expect(page.get_by_role("main")).not_to_contain_text("Last summer's concerts")

    # The mobile card: QR code and barcode drawn inline, the number, validity, when it was loaded.
    page.get_by_role("link", name="My cards").click()
    with page.expect_response(lambda response: "/mobile/" in response.url) as mobile:
        page.get_by_role("link", name="Show mobile card").click()
    expect(h1(page)).to_have_text("Kaikukortti")
    assert mobile.value.headers["cache-control"] == "no-store", "a stale copy would show an old validity"
    card_section = page.locator("section.mobile-card")
    expect(card_section.locator("svg")).to_have_count(2)
    expect(page.locator(".mobile-card__qr svg")).to_be_visible()
    expect(page.locator(".mobile-card__barcode svg")).to_be_visible()
    expect(page.locator(".mobile-card__number")).to_have_text("K7100001")
    expect(page.locator(".mobile-card__state")).to_have_text("Valid")
    expect(card_section).to_contain_text("Page loaded")
    expect(page.get_by_role("img", name="QR code of card K7100001")).to_be_visible()

    # Log out, and in again with the email and the new password.
    page.get_by_role("button", name="Log out").click()
    expect(h1(page)).to_have_text("Log in to OmaKaiku")
    expect(messages(page)).to_contain_text("You have logged out.")
    holder_log_in(page, url, "maija@example.com", NEW_PASSWORD)
    assert page.url == url("/omakaiku/")
    expect(h1(page)).to_have_text("My cards")


# --- links that no longer work -----------------------------------------------------------------


def test_old_and_used_links_no_longer_work(page, url, distributor, site, customer_data):
    card = register_with_omakaiku(distributor, site, customer_data, "resent@example.com")
    old_path = activation_path(mail.outbox[0])
    # The holder lost the email; the distributor sends a new one a little later.
    with time_machine.travel(datetime.timedelta(minutes=2)):
        card_omakaiku_resend(card=card, actor=distributor)
    assert len(mail.outbox) == 2
    new_path = activation_path(mail.outbox[1])
    assert new_path != old_path

    response = page.goto(url(old_path))
    assert response.status == 400
    expect(h1(page)).to_have_text("This link no longer works")
    expect(page.get_by_role("main")).to_contain_text("ask your card distributor to send a new invitation")
    expect(page.get_by_role("link", name="request a new password link")).to_be_visible()

    # The new link works, once: opened again by its holder, still signed in, it leads to OmaKaiku;
    # by anyone else (here, after logging out), it no longer works.
    page.goto(url(new_path))
    set_password(page)
    expect(h1(page)).to_have_text("My cards")
    page.goto(url(new_path))
    expect(h1(page)).to_have_text("My cards")
    expect(messages(page)).to_contain_text("Your password is already set, and you are logged in.")
    page.context.clear_cookies()
    response = page.goto(url(new_path))
    assert response.status == 400
    expect(h1(page)).to_have_text("This link no longer works")
    expect(page.get_by_role("main")).to_contain_text("ask your card distributor")


def test_a_made_up_link_does_not_work(page, url):
    response = page.goto(url("/omakaiku/activate/zz/abc-123/"))
    assert response.status == 400
    expect(h1(page)).to_have_text("This link no longer works")
    # Straight to the form without a token in the session: no form either.
    response = page.goto(url("/omakaiku/activate/zz/set-password/"))
    assert response.status == 400
    expect(h1(page)).to_have_text("This link no longer works")


def test_forgotten_password(page, url, distributor, site, customer_data):
    register_with_omakaiku(distributor, site, customer_data, "forgetful@example.com")
    page.goto(url(activation_path(mail.outbox[0])))
    set_password(page)
    page.get_by_role("button", name="Log out").click()

    page.get_by_role("link", name="Forgotten password").click()
    expect(h1(page)).to_have_text("Forgotten password")
    page.get_by_label("Email").fill("forgetful@example.com")
    page.get_by_role("button", name="Send the link").click()
    expect(h1(page)).to_have_text("Check your email")
    assert [message.to for message in mail.outbox] == [["forgetful@example.com"]] * 2
    reset_path = activation_path(mail.outbox[1])

    page.goto(url(reset_path))
    expect(h1(page)).to_have_text("Choose a new password")
    expect(page.get_by_label("I have read the privacy notice.")).to_have_count(0)  # accepted already
    page.get_by_label(re.compile(r"^New password\W*$")).fill("Toinen-salasana-2025")
    page.get_by_label("New password confirmation").fill("Toinen-salasana-2025")
    page.get_by_role("button", name="Set password and log in").click()
    expect(h1(page)).to_have_text("My cards")

    page.get_by_role("button", name="Log out").click()
    holder_log_in(page, url, "forgetful@example.com", NEW_PASSWORD)
    expect(page.get_by_role("alert")).to_contain_text("not correct")
    holder_log_in(page, url, "forgetful@example.com", "Toinen-salasana-2025")
    expect(h1(page)).to_have_text("My cards")


# --- the two sides stay apart ------------------------------------------------------------------


def test_staff_cannot_log_in_to_omakaiku(page, url, site):
    staff = factories.MembershipFactory(site=site, user__email="staff-member@example.fi").user
    holder_log_in(page, url, staff.email)
    assert "/omakaiku/login/" in page.url
    # The right password: told where their login works instead of "wrong password".
    expect(page.get_by_role("alert")).to_contain_text("This is a Kaikukanta login for staff.")
    expect(h1(page)).to_have_text("Log in to OmaKaiku")


def test_holder_has_no_access_to_kaikukanta(page, url, distributor, site, customer_data):
    card = activated_holder(distributor, site, customer_data)
    holder_log_in(page, url, card.holder.account.email)
    expect(h1(page)).to_have_text("My cards")
    response = page.goto(url("/cards/"))
    assert response.status == 403
    expect(h1(page)).to_have_text("No access")
    # Nor can the holder log in at Kaikukanta's own login page.
    page.get_by_role("button", name="Log out").click()
    page.goto(url("/accounts/login/"))
    page.get_by_label("Email").fill(card.holder.account.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("This is an OmaKaiku login for cardholders.")
    assert "/accounts/login/" in page.url


# --- on a phone --------------------------------------------------------------------------------


# The header's links, language menu and buttons, each at least 44 px high on a phone (WCAG 2.5.5;
# the brand's link is the page's name, also reached by "My cards").
_SMALL_HEADER_TARGETS = """() => [...document.querySelectorAll(
    '.site-nav a, .site-tools select, .site-tools button'
)].filter(e => e.offsetParent !== null && e.getBoundingClientRect().height < 43.5)
  .map(e => `${e.tagName.toLowerCase()} "${e.textContent.trim().slice(0, 20)}": ${e.getBoundingClientRect().height} px`)"""


def test_phone_width(page, url, distributor, site, venue, customer_data):
    card = activated_holder(distributor, site, customer_data, email="a-rather-long.address-for-a-phone@example.com")
    factories.CardUseFactory(card=card, venue=venue, child_tickets=2)
    factories.OfferFactory(
        venue=venue,
        title_en="An offer with a long title that has to wrap on a narrow phone screen",
        description_en="Free entry to every Tuesday show for the holder and their children under 18.",
        conditions_en="Book in advance at the box office.",
    )
    page.set_viewport_size(PHONE)
    holder_log_in(page, url, card.holder.account.email)
    for path in [*OMAKAIKU_PAGES, f"/omakaiku/cards/{card.pk}/mobile/", "/omakaiku/privacy/"]:
        page.goto(url(path))
        expect(h1(page)).to_be_visible()
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} scrolls sideways on a phone: {width}px wide"
        small = page.evaluate(_SMALL_HEADER_TARGETS)
        assert not small, f"{path}: the header's controls are too small to tap: {small}"
    # The QR code is big enough to scan from the phone's screen.
    page.goto(url(f"/omakaiku/cards/{card.pk}/mobile/"))
    box = page.locator(".mobile-card__qr svg").bounding_box()
    assert box["width"] >= 200, f"the QR code is only {box['width']}px wide"
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]


NARROWEST = {"width": 320, "height": 640}


def _sideways(page) -> str:
    """What sticks out of a page sideways ("" when nothing does): the page's width and the innermost element."""
    return page.evaluate(
        """() => {
            const width = document.documentElement.clientWidth;
            if (document.documentElement.scrollWidth <= width) return "";
            // The innermost element that reaches past the edge, or whose own text does.
            const wide = [...document.querySelectorAll("body *")].filter(
                (e) => e.getBoundingClientRect().right > width || e.scrollWidth > e.clientWidth + 1
            );
            const last = wide.at(-1);
            const what = last ? `${last.tagName} "${last.textContent.trim().slice(0, 40)}"` : "?";
            return `${document.documentElement.scrollWidth}px wide; ${what}`;
        }"""
    )


def test_the_narrowest_phone_in_finnish(page, url, distributor, site, venue, customer_data):
    # 320 px (WCAG 1.4.10) in Finnish, whose long compound words ("Saavutettavuusseloste",
    # "Käyttökerrat") are what sticks out first: nothing may scroll sideways, and a table's
    # labels keep their words whole.
    card = activated_holder(distributor, site, customer_data, email="a-rather-long.address-for-a-phone@example.com")
    factories.CardUseFactory(card=card, venue=venue, child_tickets=2)
    factories.OfferFactory(
        venue=venue, title_fi="Maksuton sisäänpääsy tiistaisin", conditions_fi="Näytä Kaikukortti kassalla."
    )
    register_with_omakaiku(distributor, site, customer_data, "narrow@example.com", number="K7100002")
    page.set_viewport_size(NARROWEST)
    page.context.add_cookies([{"name": "django_language", "value": "fi", "url": url("/")}])

    before_login = ["/omakaiku/login/", "/omakaiku/password/reset/", "/omakaiku/help/", "/omakaiku/accessibility/"]
    report = []
    for path in [*before_login, activation_path(mail.outbox[-1]), "/omakaiku/activate/zz/abc-123/"]:
        page.goto(url(path))
        expect(page.locator("html")).to_have_attribute("lang", "fi")
        report += [f"{path}: {found}"] if (found := _sideways(page)) else []
    page.goto(url("/omakaiku/login/"))
    page.get_by_label("Sähköposti").fill(card.holder.account.email)
    page.get_by_label("Salasana").fill(factories.PASSWORD)
    with page.expect_navigation():
        page.locator("form.form button[type=submit]").click()
    for path in [*OMAKAIKU_PAGES, "/omakaiku/settings/", f"/omakaiku/cards/{card.pk}/mobile/", "/omakaiku/privacy/"]:
        page.goto(url(path))
        expect(h1(page)).to_be_visible()
        report += [f"{path}: {found}"] if (found := _sideways(page)) else []
    assert not report, "sideways scrolling at 320 px:\n" + "\n".join(report)

    # The totals' labels keep their words whole: Finnish's are one word each, so each cell is two
    # lines high, its label above its value (a 320-pixel phone is 20 rem wide: too narrow for
    # both side by side, static/css/app.css).
    page.goto(url("/omakaiku/uses/"))
    cells = page.locator(".table--stack td[data-label]")
    expect(cells).to_have_count(3)
    for cell in cells.all():
        lines = cell.evaluate(
            """(cell) => {
                const style = getComputedStyle(cell);
                const height = cell.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
                return Math.round(height / parseFloat(style.lineHeight));
            }"""
        )
        assert lines == 2, f"{cell.get_attribute('data-label')!r} takes {lines} lines: a word is split"


# --- with the keyboard only --------------------------------------------------------------------


def tab_to(page, selector: str, *, limit: int = 30) -> None:
    """Press Tab until the element matching ``selector`` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(selector) => document.activeElement.matches(selector)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_activation_with_the_keyboard_only(page, url, distributor, site, customer_data):
    register_with_omakaiku(distributor, site, customer_data, "keyboard@example.com")
    page.goto(url(activation_path(mail.outbox[0])))
    expect(h1(page)).to_have_text("Welcome to OmaKaiku")

    tab_to(page, "input[name=new_password1]")
    page.keyboard.type(NEW_PASSWORD)
    tab_to(page, "input[name=new_password2]")
    page.keyboard.type(NEW_PASSWORD)
    tab_to(page, "input[name=accept_privacy]")
    page.keyboard.press("Space")
    expect(page.get_by_label("I have read the privacy notice.")).to_be_checked()
    tab_to(page, "button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    expect(h1(page)).to_have_text("My cards")
    expect(messages(page)).to_contain_text("Your password is set.")


def test_activation_form_errors_take_the_focus(page, url, distributor, site, customer_data):
    register_with_omakaiku(distributor, site, customer_data, "errors@example.com")
    page.goto(url(activation_path(mail.outbox[0])))
    tab_to(page, "input[name=new_password1]")
    page.keyboard.type(NEW_PASSWORD)
    tab_to(page, "input[name=new_password2]")
    page.keyboard.type(NEW_PASSWORD + "x")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # submits the form from the text field
    expect(page.get_by_role("alert")).to_contain_text("Please check the form")
    # The first field with an error has the focus, so the keyboard user starts there.
    expect(page.locator(".field--error input").first).to_be_focused()


# --- accessibility -----------------------------------------------------------------------------


def test_accessibility_before_logging_in(page, url, axe, distributor, site, customer_data):
    register_with_omakaiku(distributor, site, customer_data, "axe@example.com")
    report = ""
    for path in ["/omakaiku/login/", "/omakaiku/password/reset/", "/omakaiku/privacy/"]:
        page.goto(url(path))
        expect(h1(page)).to_be_visible()
        report += blocking_violations(page, axe, path)

    page.goto(url("/omakaiku/login/"))
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    report += blocking_violations(page, axe, "the login page with errors")

    page.goto(url("/omakaiku/password/reset/"))
    page.get_by_label("Email").fill("someone@example.com")
    page.get_by_role("button", name="Send the link").click()
    expect(h1(page)).to_have_text("Check your email")
    report += blocking_violations(page, axe, "the password reset done page")

    page.goto(url(activation_path(mail.outbox[0])))
    expect(h1(page)).to_have_text("Welcome to OmaKaiku")
    report += blocking_violations(page, axe, "the activation form")
    page.get_by_role("button", name="Set password and log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    report += blocking_violations(page, axe, "the activation form with errors")

    page.goto(url("/omakaiku/activate/zz/abc-123/"))
    expect(h1(page)).to_have_text("This link no longer works")
    report += blocking_violations(page, axe, "the invalid-link page")
    assert not report, "axe found:" + report


def test_accessibility_of_the_holders_pages(page, url, axe, distributor, site, venue, customer_data):
    card = activated_holder(distributor, site, customer_data)
    factories.CardUseFactory(card=card, venue=venue, child_tickets=1)
    factories.CardUseFactory(card=card, venue=venue, cancelled_at=timezone.now(), cancel_reason="recorded twice")
    factories.OfferFactory(venue=venue, description_en="Free entry on Tuesdays.", conditions_en="Book ahead.")
    old = factories.CardFactory(holder=card.holder, site=site, expired=True, inactive=True, mobile_enabled=True)
    holder_log_in(page, url, card.holder.account.email)
    report = ""
    mobile_pages = [f"/omakaiku/cards/{card.pk}/mobile/", f"/omakaiku/cards/{old.pk}/mobile/"]
    for path in [*OMAKAIKU_PAGES, *mobile_pages, "/omakaiku/privacy/"]:
        page.goto(url(path))
        expect(h1(page)).to_be_visible()
        report += blocking_violations(page, axe, path)
    assert not report, "axe found:" + report


def test_accessibility_of_the_mobile_card_on_a_phone(page, url, axe, distributor, site, customer_data):
    card = activated_holder(distributor, site, customer_data)
    page.set_viewport_size(PHONE)
    holder_log_in(page, url, card.holder.account.email)
    page.goto(url(f"/omakaiku/cards/{card.pk}/mobile/"))
    assert_accessible(page, axe, "the mobile card on a phone")
