"""axe-core on every Kaikukanta page a person works in: no serious or critical violations.

Also: the Content-Security-Policy really is enforced by the browser (so the console check
of every e2e test means something).
"""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests import factories
from tests.e2e.conftest import h1

pytestmark = pytest.mark.e2e

BLOCKING = {"serious", "critical"}


@pytest.fixture(scope="session")
def axe():
    return Axe()


def blocking_violations(page, axe, what: str = "") -> str:
    """The serious and critical axe violations of the page, as a readable report ("" if none)."""
    violations = [v for v in axe.run(page).response["violations"] if v["impact"] in BLOCKING]
    return "".join(
        f"\n{what or page.url}: {v['id']} ({v['impact']}): {v['help']}"
        + "".join(f"\n    {node['target']}" for node in v["nodes"])
        for v in violations
    )


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
