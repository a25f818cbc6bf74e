"""OmaKaiku's settings page in a browser: axe-clean wide and on a phone, and usable with the keyboard only."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from omakaiku.models import HolderPreferences
from tests import factories
from tests.e2e.conftest import PHONE, h1, messages
from tests.e2e.test_accessibility import assert_accessible

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "Uusi-kulttuurisalasana-7"


@pytest.fixture(scope="module")
def axe():
    return Axe()


@pytest.fixture
def holder(site):
    account = factories.HolderUserFactory(email="maija@example.com", language="fi")
    factories.CardFactory(site=site, number="K7000001", holder__account=account)
    return account


@pytest.fixture
def holder_page(page, url, holder):
    page.goto(url("/omakaiku/login/"))
    page.get_by_label("Email").fill(holder.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    with page.expect_navigation():
        page.get_by_role("link", name="Settings").click()
    expect(h1(page)).to_have_text("Settings")
    return page


def focused(page) -> str:
    """What has the keyboard focus: the name attribute, or the text of a button."""
    return page.evaluate("() => document.activeElement.name || document.activeElement.textContent.trim()")


@pytest.mark.parametrize("width", [1280, PHONE["width"]])
def test_the_settings_page_is_accessible_wide_and_on_a_phone(holder_page, axe, width):
    page = holder_page
    page.set_viewport_size({"width": width, "height": 800})

    assert_accessible(page, axe, f"settings at {width} px")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width

    page.get_by_label("Current password").fill("not-my-password")
    page.get_by_label(re.compile(r"^New password\W*$")).fill("short")
    page.get_by_label("New password confirmation").fill("short")
    with page.expect_navigation():
        page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_contain_text("Your current password was entered incorrectly")
    assert_accessible(page, axe, f"settings with errors at {width} px")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width


def test_the_settings_work_with_the_keyboard_only(holder_page, holder):
    page = holder_page

    # From the top of the page: the skip link, the header (with the page language) and the navigation come first.
    suomi = page.get_by_role("radio", name="Suomi")
    for _ in range(25):
        page.keyboard.press("Tab")
        if suomi.evaluate("e => e === document.activeElement"):
            break
    expect(suomi).to_be_focused()  # the checked radio of the group
    page.keyboard.press("ArrowDown")  # svenska
    page.keyboard.press("Tab")
    assert focused(page) == "expiry_reminders"
    page.keyboard.press("Space")  # untick
    page.keyboard.press("Tab")
    assert focused(page) == "Save email settings"
    with page.expect_navigation():
        page.keyboard.press("Enter")

    expect(messages(page)).to_contain_text("Your email settings are saved.")
    holder.refresh_from_db()
    assert holder.language == "sv"
    assert HolderPreferences.objects.get(user=holder).expiry_reminders is False

    page.get_by_label("Current password").focus()
    page.keyboard.type(factories.PASSWORD)
    page.keyboard.press("Tab")
    assert focused(page) == "new_password1"
    page.keyboard.type(NEW_PASSWORD)
    page.keyboard.press("Tab")
    assert focused(page) == "new_password2"
    page.keyboard.type(NEW_PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")

    expect(messages(page)).to_contain_text("Your password is changed.")
    expect(h1(page)).to_have_text("Settings")  # still logged in
    holder.refresh_from_db()
    assert holder.check_password(NEW_PASSWORD)
