"""axe-core on every Kaikukanta page a person works in: no serious or critical violations.

Also: the Content-Security-Policy really is enforced by the browser (so the console check
of every e2e test means something).
"""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.test import Client
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests import factories
from tests.e2e.conftest import h1

pytestmark = pytest.mark.e2e

BLOCKING = {"serious", "critical"}
# Moderate rules once fixed and kept fixed: two landmarks of one name (a section and the
# scrolling table inside it, both named by the heading) read as one place twice.
ALSO_BLOCKING = {"landmark-unique"}


@pytest.fixture(scope="session")
def axe():
    return Axe()


# Typed into and tapped on a phone: each is at least this tall (the stylesheet's 44 px, less rounding).
# Kaikukanta's own pages (main#main); the Django admin keeps its own design.
FIELD_MIN_HEIGHT = 40
_SMALL_FIELDS = """() => [...document.querySelectorAll(
    'main#main input:not([type=checkbox]):not([type=radio]):not([type=hidden]):not([type=submit]), main#main select, main#main textarea'
)].filter(field => field.offsetParent !== null && field.getBoundingClientRect().height < %d)
  .map(field => `${field.tagName.toLowerCase()}[type=${field.type}] #${field.id}: ${field.getBoundingClientRect().height} px`)"""


def blocking_violations(page, axe, what: str = "") -> str:
    """The serious and critical axe violations of the page (and ``ALSO_BLOCKING``), and any form
    field under ``FIELD_MIN_HEIGHT`` (an unstyled one), as a readable report ("" if none)."""
    violations = [
        v for v in axe.run(page).response["violations"] if v["impact"] in BLOCKING or v["id"] in ALSO_BLOCKING
    ]
    small = page.evaluate(_SMALL_FIELDS % FIELD_MIN_HEIGHT)
    return "".join(
        f"\n{what or page.url}: {v['id']} ({v['impact']}): {v['help']}"
        + "".join(f"\n    {node['target']}" for node in v["nodes"])
        for v in violations
    ) + "".join(f"\n{what or page.url}: a field too small to tap: {field}" for field in small)


def assert_accessible(page, axe, what: str = "") -> None:
    report = blocking_violations(page, axe, what)
    assert not report, "axe found:" + report


@pytest.fixture
def card(site, municipality):
    account = factories.HolderUserFactory(email="holder@example.com", activated_at=None)
    card = factories.CardFactory(
        site=site, number="K2000001", holder__account=account, holder__municipality=municipality
    )
    factories.CardFactory.create_batch(2, site=site)
    factories.CardFactory(site=site, expired=True)
    factories.CardFactory(site=site, inactive=True)
    return card


def test_login_page(page, url, axe):
    page.goto(url("/accounts/login/"))
    assert_accessible(page, axe)
    # And with the error of a failed login shown.
    page.get_by_label("Email").fill("nobody@example.fi")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible(page, axe, "the login page with an error")


DISTRIBUTOR_PAGES = [
    "/cards/",
    "/cards/?status=active",
    "/cards/new/",
    "/cards/{card}/",
    "/cards/{card}/edit/",
    "/cards/{card}/renew/",
    "/cards/{card}/inactivate/",
    "/cards/{card}/switch/",
    "/cards/{card}/omakaiku/?mobile=1",
    "/cards/check/",
    "/cards/check/?number=K2000001",
    "/cards/check/?number=K0000404",
    "/account/",
    "/accounts/password/change/",
]


def test_distributor_pages(distributor_page, url, axe, card):
    # One login for all the pages; the report names every failing page at once.
    page = distributor_page
    report = ""
    for path in DISTRIBUTOR_PAGES:
        page.goto(url(path.format(card=card.pk)))
        expect(h1(page)).to_be_visible()
        report += blocking_violations(page, axe, path)
    assert not report, "axe found:" + report


def test_card_page_of_an_inactive_card(distributor_page, url, axe, site):
    card = factories.CardFactory(site=site, inactive=True)
    page = distributor_page
    page.goto(url(f"/cards/{card.pk}/"))
    assert_accessible(page, axe)


def test_card_page_of_a_card_moved_away(distributor_page, url, axe, site, other_site, admin_user):
    from cards import services

    card = factories.CardFactory(site=site)
    services.card_transfer(card=card, to_site=other_site, actor=admin_user, reason="moved")
    page = distributor_page
    page.goto(url(f"/cards/{card.pk}/"))
    expect(page.locator("[data-moved-away]")).to_be_visible()
    assert_accessible(page, axe)


def test_new_card_form_with_errors(distributor_page, url, axe, municipality):
    page = distributor_page
    page.goto(url("/cards/new/"))
    page.get_by_role("button", name="Register card").click()
    expect(page.get_by_role("alert")).to_contain_text("Please check the form")
    assert_accessible(page, axe, "the new-card form with the form's own errors")

    # The second round: the register's rules speak (here: the birth year and the Z rule).
    page.get_by_label("Card number").fill("Z")
    page.get_by_label("Year of birth").fill("2099")
    page.get_by_label("Postal code").fill("33100")
    page.get_by_label("Home municipality").select_option(label="Tampere")
    page.get_by_role("button", name="Register card").click()
    expect(page.locator(".field--error")).not_to_have_count(0)
    assert_accessible(page, axe, "the new-card form with the register's refusals")


def test_other_forms_with_errors(distributor_page, url, axe, card):
    page = distributor_page
    for path, button in (
        (f"/cards/{card.pk}/inactivate/", "Inactivate the card"),
        (f"/cards/{card.pk}/switch/", "Switch to mobile-only"),
        (f"/cards/{card.pk}/edit/", "Save"),
    ):
        page.goto(url(path))
        page.get_by_role("button", name=button).click()
        expect(page.get_by_role("alert")).to_be_visible()
        assert_accessible(page, axe, f"{path} with errors")


def test_coordinator_pages(page, url, login, axe, coordinator, site):
    factories.MembershipFactory(site=site, user__email="staff@example.fi")
    login(coordinator)
    for path in ("/region/", f"/region/sites/{site.pk}/", "/region/sites/new/"):
        page.goto(url(path))
        expect(h1(page)).to_be_visible()
        assert_accessible(page, axe)
    page.get_by_role("button", name="Add the site").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible(page, axe, "the add-site form with errors")


def test_no_access_and_not_found_pages(page, url, login, axe, venue_user):
    login(venue_user)
    assert page.goto(url("/cards/")).status == 403
    assert_accessible(page, axe, "the 403 page")
    assert page.goto(url("/cards/check/nothing-here/")).status == 404
    assert_accessible(page, axe, "the 404 page")


def test_phone_width_card_page(distributor_page, url, axe, card):
    page = distributor_page
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(url(f"/cards/{card.pk}/"))
    assert_accessible(page, axe, "the card page on a phone")


def test_content_security_policy_is_enforced(page, url, console_errors):
    """An inline script is refused by the browser and shows in the console: the check that
    every e2e test makes on its console would catch one in a template."""
    response = page.goto(url("/accounts/login/"))
    assert "script-src 'self'" in response.headers["content-security-policy"]
    with pytest.raises(PlaywrightError, match="Content Security Policy"):
        page.add_script_tag(content="document.documentElement.dataset.inline = 'ran'")
    assert page.evaluate("() => document.documentElement.dataset.inline") is None
    assert any("Content Security Policy" in text for text in console_errors)
    console_errors.clear()  # seen and expected


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two CSS colours given as ``rgb(r, g, b)``."""

    def luminance(colour: str) -> float:
        channels = [int(value) / 255 for value in re.findall(r"\d+", colour)[:3]]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted([luminance(first), luminance(second)], reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_language_menu_changes_only_on_the_button(page, url):
    # WCAG 3.2.2 On Input: moving through the options with the arrow keys must not reload the page.
    page.goto(url("/accounts/login/"))
    page.get_by_label("Language").focus()
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(300)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_label("Language")).to_be_focused()

    page.get_by_label("Language").select_option(label="Svenska")
    with page.expect_navigation():
        page.get_by_role("button", name="Change").click()
    expect(page.locator("html")).to_have_attribute("lang", "sv")


def test_focus_ring_stands_out_on_light_and_dark_backgrounds(page, url):
    # WCAG 1.4.11: at least 3:1 against what is around it.
    page.goto(url("/accounts/login/"))
    page.keyboard.press("Tab")  # the skip link, then into the header
    email = page.get_by_label("Email")
    email.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    expect(email).to_be_focused()
    assert email.evaluate("e => e.matches(':focus-visible') && getComputedStyle(e).outlineStyle") == "solid"
    ring = email.evaluate("e => getComputedStyle(e).outlineColor")
    assert contrast(ring, page.evaluate("() => getComputedStyle(document.body).backgroundColor")) >= 3
    assert contrast(ring, "rgb(255, 255, 255)") >= 3

    language = page.get_by_label("Language")
    language.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    assert language.evaluate("e => e.matches(':focus-visible') && getComputedStyle(e).outlineStyle") == "solid"
    header = page.evaluate("() => getComputedStyle(document.querySelector('.site-header')).backgroundColor")
    assert contrast(language.evaluate("e => getComputedStyle(e).outlineColor"), header) >= 3


@pytest.mark.parametrize(("login_path", "user_kind"), [("/accounts/login/", "staff"), ("/omakaiku/login/", "holder")])
def test_wrong_password_moves_focus_to_the_error_summary(page, url, db, login_path, user_kind):
    user = factories.HolderUserFactory() if user_kind == "holder" else factories.UserFactory()
    page.goto(url(login_path))
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill("not the password")
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    expect(page.locator(".error-summary")).to_be_focused()


def test_omakaiku_login_links_only_to_omakaikus_own_reset(page, url, db):
    page.goto(url("/omakaiku/login/"))
    resets = page.locator("main a[href*='password']")
    expect(resets).to_have_count(1)
    expect(resets).to_have_attribute("href", "/omakaiku/password/reset/")
    # It describes the password field, as allauth's own link does on the staff login.
    described_by = page.get_by_label("Password").get_attribute("aria-describedby").split()
    assert any(page.locator(f"#{ident}").locator("a").count() == 1 for ident in described_by)


def test_required_fields_are_marked_and_announced(distributor_page, url):
    page = distributor_page
    page.goto(url("/cards/new/"))
    for label in ("Card number", "Year of birth", "Children under 18", "Postal code", "Home municipality"):
        field = page.get_by_label(label)
        expect(field).to_have_attribute("aria-required", "true")
        expect(page.locator(f"label[for='{field.get_attribute('id')}'] .required")).to_have_text("*")
    expect(page.get_by_label("Gender (optional)")).not_to_have_attribute("aria-required", "true")
    expect(page.locator(".required-note")).to_have_text("Fields marked with * are required.")
    page.get_by_role("radio", name="Organisation").check()
    expect(page.get_by_label("Organisation name")).to_have_attribute("aria-required", "true")
    expect(page.get_by_label("Representative's work role")).to_have_attribute("aria-required", "true")


@pytest.fixture
def venue_with_uses(venue, site):
    card = factories.CardFactory(site=site, number="KK380942")
    factories.CardUseFactory.create_batch(12, card=card, venue=venue)
    return venue


def test_tables_reflow_on_a_phone(page, url, login, venue_user, venue_with_uses):
    # WCAG 1.4.10: at 390 px (and 320 px) no page scrolls sideways; the tables stack instead.
    login(venue_user)
    for width in (390, 320):
        page.set_viewport_size({"width": width, "height": 844})
        for path in ("/venue/uses/", "/venue/", "/venue/import/"):
            page.goto(url(path))
            widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            assert widths[0] <= widths[1], f"{path} at {width} px is {widths[0]} px wide"
    page.goto(url("/venue/uses/"))
    first_cell = page.locator("table tbody tr").first.locator("td").first
    expect(first_cell).to_have_attribute("data-label", "Date of use")


def test_scrollable_tables_take_the_keyboard(page, url, login, axe, venue_user, venue_with_uses):
    login(venue_user)
    page.set_viewport_size({"width": 800, "height": 800})  # wide enough not to stack, too narrow for 8 columns
    page.goto(url("/venue/uses/"))
    wrap = page.locator(".table-wrap").first
    expect(wrap).to_have_attribute("tabindex", "0")
    expect(wrap).to_have_attribute("role", "region")
    expect(page.get_by_role("region", name="Uses")).to_be_visible()
    assert_accessible(page, axe, "the use list at 800 px")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(url("/venue/"))
    assert_accessible(page, axe, "the desk at 390 px")


def test_admin_autocomplete_boxes_have_a_name(page, url, axe, admin_user):
    # The admin login asks for the authenticator code; a session made here skips that part.
    client = Client()
    client.force_login(admin_user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": url("/")}])

    for path in ("/admin/accounts/site/add/", "/admin/accounts/sitemembership/add/"):
        page.goto(url(path))
        expect(page.locator(".select2-selection[role=combobox]").first).to_have_attribute(
            "aria-labelledby", re.compile(r"-label\b")
        )
        names = page.locator(".select2-selection[role=combobox]").evaluate_all(
            "boxes => boxes.map(box => box.getAttribute('aria-labelledby').split(' ')"
            ".map(id => document.getElementById(id).textContent.trim()).join(' '))"
        )
        assert all(names), names
        violations = [v["id"] for v in axe.run(page).response["violations"]]
        assert "aria-input-field-name" not in violations, path

    # On a phone the card inline of a holder scrolls sideways: the keyboard can reach it.
    page.set_viewport_size({"width": 390, "height": 844})
    holder = factories.CardFactory().holder
    page.goto(url(f"/admin/cards/holder/{holder.pk}/change/"))
    expect(page.locator(".inline-group .tabular .wrapper").first).to_have_attribute("tabindex", "0")
    violations = [v["id"] for v in axe.run(page).response["violations"]]
    assert "scrollable-region-focusable" not in violations

    # The fields of a tabular inline have column headings but no label of their own: each is
    # named by its column (and row), on a phone as on a desktop; the history list scrolls by itself.
    site = factories.SiteFactory()
    coordinator = factories.CoordinatorFactory(region=site.municipality.region).user
    factories.MembershipFactory(site=site)
    card = factories.CardFactory(site=site)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 844})
        for path in (
            f"/admin/accounts/region/{site.municipality.region_id}/change/",
            f"/admin/accounts/user/{coordinator.pk}/change/",
            f"/admin/accounts/site/{site.pk}/change/",
            f"/admin/cards/card/{card.pk}/history/",
        ):
            page.goto(url(path))
            if "/region/" in path:
                name = page.locator("#id_municipalities-0-name")
                expect(name).to_have_accessible_name(re.compile(r"^Name\b.*: " + site.municipality.name))
            assert_accessible(page, axe, f"{path} at {width} px")
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), f"{path} at {width} px"


def test_omakaiku_opened_by_staff(page, url, login, axe, venue_user):
    login(venue_user)
    response = page.goto(url("/omakaiku/"))
    assert response.status == 403
    expect(h1(page)).to_have_text("No access")
    expect(page.get_by_role("main")).to_contain_text("Your Kaikukanta login cannot be used there.")
    assert_accessible(page, axe, "OmaKaiku opened with a staff login")
