"""Who may open which room, seen from the browser: the pages each role gets, and what they never see."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from accounts.models import Site, SiteMembership, User
from tests import factories
from tests.e2e.conftest import h1, messages

pytestmark = pytest.mark.e2e


def expect_no_access(page, response):
    assert response.status == 403
    expect(h1(page)).to_have_text("No access")
    expect(page).to_have_title(re.compile("^No access"))


def test_venue_staff_cannot_open_the_distributors_pages_but_can_check_a_card(page, url, login, venue_user, site):
    card = factories.CardFactory(site=site, number="K3000001", holder__birth_year=1977)
    login(venue_user)
    # The distributor's links are not offered at all.
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_visible()
    expect(nav.get_by_role("link", name="Cards")).to_have_count(0)
    expect(nav.get_by_role("link", name="New card")).to_have_count(0)

    for path in ("/cards/", "/cards/new/", f"/cards/{card.pk}/"):
        expect_no_access(page, page.goto(url(path)))
        expect(page.get_by_text("K3000001")).to_have_count(0)

    page.goto(url("/cards/check/"))
    expect(h1(page)).to_have_text("Check a card")
    page.get_by_label("Find a card by number").fill("k300 0001")
    page.get_by_role("button", name="Search").click()
    result = page.locator(".lookup")
    expect(result).to_contain_text("Card K3000001")
    expect(result.locator(".badge")).to_have_text("Valid")
    # Status and validity only: nothing about the holder.
    expect(result).not_to_contain_text("1977")
    expect(result).not_to_contain_text("33100")

    page.get_by_label("Find a card by number").fill("K0000404")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".lookup")).to_contain_text("Card not found")


def test_distributor_has_no_access_to_the_region_pages(page, url, login, distributor, site):
    login(distributor)
    expect(h1(page)).to_have_text("Cards")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Region")).to_have_count(0)
    expect_no_access(page, page.goto(url("/region/")))
    expect_no_access(page, page.goto(url("/region/sites/new/")))
    expect_no_access(page, page.goto(url(f"/region/sites/{site.pk}/")))


def test_coordinator_adds_a_site_and_invites_its_staff(page, url, login, coordinator, municipality):
    login(coordinator)
    expect(h1(page)).to_have_text("Sites of your region")

    page.get_by_role("link", name="Add a site").click()
    page.get_by_label("Organisation").fill("Tampereen kaupunki")
    page.get_by_label("Site name").fill("Aikuissosiaalityö")
    page.get_by_role("radio", name="Distributor").check()
    page.get_by_label("Municipality").select_option(label="Tampere")
    page.get_by_role("button", name="Add the site").click()

    expect(h1(page)).to_contain_text("Aikuissosiaalityö")
    expect(messages(page)).to_contain_text("Site Aikuissosiaalityö was added.")
    site = Site.objects.get(name="Aikuissosiaalityö")
    assert (site.kind, site.municipality, site.organisation.name) == ("distributor", municipality, "Tampereen kaupunki")

    page.get_by_label("Work email").fill("Uusi.Jakaja@Tampere.fi")
    page.get_by_role("button", name="Send invitation").click()

    expect(messages(page)).to_contain_text("The invitation was created.")
    staff = page.get_by_role("region", name="Staff", exact=True)
    expect(staff).to_contain_text("uusi.jakaja@tampere.fi")
    expect(staff.locator(".badge")).to_have_text("Invited")
    user = User.objects.get(email="uusi.jakaja@tampere.fi")
    assert user.kind == User.Kind.STAFF
    assert not user.has_usable_password()
    assert SiteMembership.objects.filter(user=user, site=site).exists()
    assert [message.to for message in mail.outbox] == [["uusi.jakaja@tampere.fi"]]
    assert "/accounts/password/reset/key/" in mail.outbox[0].body

    # The new site is in the region's list.
    page.get_by_role("link", name="Region").first.click()
    expect(page.get_by_role("table")).to_contain_text("Aikuissosiaalityö")


def test_a_cardholder_cannot_log_in_to_kaikukanta(page, url, site):
    account = factories.HolderUserFactory(email="holder@example.com")
    factories.CardFactory(site=site, number="K6000001", holder__account=account)

    page.goto(url("/accounts/login/"))
    page.get_by_label("Email").fill("holder@example.com")
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()

    # A right password on the wrong side: refused, with where to log in instead.
    expect(page.get_by_role("alert")).to_contain_text("This is an OmaKaiku login for cardholders.")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    for path in ("/cards/", "/cards/check/"):
        page.goto(url(path))
        expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
        expect(page.get_by_text("K6000001")).to_have_count(0)
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)


def test_anonymous_visitors_are_sent_to_the_login_page(page, url, site):
    card = factories.CardFactory(site=site, number="K6000002")
    for path in ("/", "/cards/", "/cards/new/", f"/cards/{card.pk}/", "/cards/check/", "/region/"):
        page.goto(url(path))
        expect(page).to_have_url(re.compile(r"/accounts/login/"))
        expect(h1(page)).to_have_text("Log in to Kaikukanta")
        expect(page.get_by_text("K6000002")).to_have_count(0)


def test_login_returns_to_the_page_asked_for(page, url, login, distributor, site):
    card = factories.CardFactory(site=site, number="K6000003")
    page.goto(url(f"/cards/{card.pk}/"))
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    login(distributor, next_path=f"/cards/{card.pk}/")
    expect(h1(page)).to_contain_text("Card K6000003")


def test_distributor_cannot_open_another_sites_card(page, url, login, distributor, other_site):
    theirs = factories.CardFactory(site=other_site, number="K6000004", holder__birth_year=1966)
    login(distributor)

    for path in (f"/cards/{theirs.pk}/", f"/cards/{theirs.pk}/edit/", f"/cards/{theirs.pk}/inactivate/"):
        response = page.goto(url(path))
        assert response.status == 404, path
        expect(h1(page)).to_have_text("Page not found")
        expect(page.get_by_text("1966")).to_have_count(0)

    # Searching by number shows the other site's card's status only.
    page.goto(url("/cards/"))
    page.get_by_label("Find a card by number").fill("K6000004")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".lookup")).to_contain_text("issued by another site")
    expect(page.locator(".lookup")).not_to_contain_text("1966")
    expect(page.get_by_role("table")).to_have_count(0)  # and it is not in this site's list


def test_language_menu_switches_to_finnish(page, url, login, distributor, site):
    login(distributor)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    # Choosing does not switch yet (WCAG 3.2.2: an arrow key would): the button does.
    page.get_by_label("Language").select_option(label="Suomi")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    with page.expect_navigation():
        page.get_by_role("button", name="Change").click()
    expect(page.locator("html")).to_have_attribute("lang", "fi")
    expect(page).to_have_url(url("/cards/"))  # still on the same page
    # The choice sticks for the next pages, whatever the browser's own language.
    page.goto(url("/cards/new/"))
    expect(page.locator("html")).to_have_attribute("lang", "fi")
    expect(page.locator("#lang-select")).to_have_value("fi")
