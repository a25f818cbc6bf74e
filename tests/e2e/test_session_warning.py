"""The warning before an idle session ends (WCAG 2.2.1), in a real browser, with a session of
seconds rather than 30 minutes."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.sessions.models import Session
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE
from tests.e2e.test_accessibility import assert_accessible

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def axe():
    return Axe()


def _expiry():
    return Session.objects.get().expire_date


def test_warning_before_the_session_ends_keeps_the_form_and_the_session(page, url, login, distributor, settings, axe):
    settings.SESSION_COOKIE_AGE = 40
    settings.SESSION_WARNING_SECONDS = 37  # shown some 3 s after the page's session was last written
    page.set_viewport_size(PHONE)
    login(distributor)
    page.goto(url("/cards/new/"))
    page.get_by_label("Year of birth").fill("1985")

    warning = page.get_by_role("dialog", name="Are you still there?")
    expect(warning).to_be_visible(timeout=15_000)
    expect(warning).to_have_accessible_description(re.compile("^For your security you will be logged out at"))
    expect(warning.locator(".js-session-end")).to_have_text(re.compile(r"^\d\d:\d\d$"))  # 14:05, as every time
    stay = warning.get_by_role("button", name="Stay logged in")
    expect(stay).to_be_focused()
    assert warning.bounding_box()["width"] <= PHONE["width"]
    assert_accessible(page, axe, "the new-card form with the session warning open")

    before = _expiry()
    with page.expect_response(url("/session/keepalive/")) as kept:
        page.keyboard.press("Enter")
    assert kept.value.status == 200

    expect(warning).to_be_hidden()
    assert _expiry() > before
    assert page.get_by_label("Year of birth").input_value() == "1985"
    assert page.url == url("/cards/new/")


def test_a_session_that_ended_says_so_and_offers_to_log_in_again(page, url, login, distributor, settings):
    settings.SESSION_COOKIE_AGE = 15
    settings.SESSION_WARNING_SECONDS = 12
    login(distributor)
    page.goto(url("/cards/new/"))

    expect(page.get_by_role("dialog", name="Are you still there?")).to_be_visible(timeout=15_000)
    ended = page.get_by_role("dialog", name="You have been logged out")
    expect(ended).to_be_visible(timeout=20_000)
    again = ended.get_by_role("link", name="Log in again")
    expect(again).to_be_focused()
    # Announced with its text, and the page behind it no longer readable (a shared computer).
    expect(ended).to_have_accessible_description(re.compile("^For your security you were logged out"))
    backdrop = page.evaluate(
        "getComputedStyle(document.getElementById('session-warning'), '::backdrop').backgroundColor"
    )
    assert backdrop == "rgb(29, 29, 31)"
    # Escape does not hide that the session is over.
    page.keyboard.press("Escape")
    expect(ended).to_be_visible()

    again.click()
    expect(page).to_have_url(url("/accounts/login/?next=/cards/new/"))


def test_a_holder_is_sent_back_to_omakaiku_s_own_login(page, url, distributor, site, customer_data, settings):
    from tests.e2e.test_omakaiku import activated_holder, holder_log_in

    settings.SESSION_COOKIE_AGE = 8
    settings.SESSION_WARNING_SECONDS = 6
    card = activated_holder(distributor, site, customer_data)
    holder_log_in(page, url, card.holder.account.email)
    page.goto(url("/omakaiku/uses/"))

    ended = page.get_by_role("dialog", name="You have been logged out")
    expect(ended).to_be_visible(timeout=20_000)
    ended.get_by_role("link", name="Log in again").click()
    expect(page).to_have_url(url("/omakaiku/login/?next=/omakaiku/uses/"))


def test_the_admin_warns_too(page, url, login, admin_user, settings, axe):
    settings.SESSION_COOKIE_AGE = 40
    settings.SESSION_WARNING_SECONDS = 37
    login(admin_user)
    page.goto(url("/admin/accounts/region/add/"))
    expect(page.locator("#site-name")).to_be_visible()  # the admin's own page, not our 403

    warning = page.get_by_role("dialog", name="Are you still there?")
    expect(warning).to_be_visible(timeout=15_000)
    expect(warning).to_have_accessible_description(re.compile("^For your security you will be logged out at"))
    assert_accessible(page, axe, "the admin's add-region form with the session warning open")
    before = _expiry()
    with page.expect_response(url("/session/keepalive/")) as kept:
        warning.get_by_role("button", name="Stay logged in").click()
    assert kept.value.status == 200
    expect(warning).to_be_hidden()
    assert _expiry() > before
