"""The mobile card holds up: one phone screen, a running clock, and a stored copy when offline."""

import datetime
import re
import time

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from cards.models import Card
from tests.e2e.test_accessibility import assert_accessible
from tests.e2e.test_omakaiku import activated_holder, holder_log_in

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def axe():
    return Axe()


def _wait_for_the_service_worker(page) -> None:
    # Polled from here: wait_for_function evaluates a string in the page, which the CSP forbids.
    deadline = time.monotonic() + 10
    while not page.evaluate("navigator.serviceWorker.controller !== null"):
        assert time.monotonic() < deadline, "the service worker did not take over the page"
        time.sleep(0.1)


def _wait_until_kept(page, address: str) -> None:
    deadline = time.monotonic() + 10
    while not page.evaluate(f"caches.match({address!r}).then(response => Boolean(response))"):
        assert time.monotonic() < deadline, "the card page was not stored"
        time.sleep(0.1)


def _card_opened_once(phone, url, card) -> str:
    """The holder logs in and opens the card once, online (at home, say); it is kept for the venue,
    where there is no network, from this first visit on (the page asks the worker to fetch it:
    a request of its own). Returns the card page's address."""
    holder_log_in(phone, url, "holder@example.com")
    card_url = url(f"/omakaiku/cards/{card.pk}/mobile/")
    phone.goto(card_url)
    expect(phone.locator("[data-state]")).to_have_text("Valid")
    _wait_for_the_service_worker(phone)
    _wait_until_kept(phone, card_url)
    return card_url


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # A phone far from Finland: the card's clock must still show Finnish time.
    return {**browser_context_args, "timezone_id": "America/New_York"}


@pytest.fixture
def phone(page):
    page.set_viewport_size({"width": 360, "height": 640})
    return page


def test_the_mobile_card_fits_a_phone_screen_and_is_live(phone, url, distributor, site, customer_data, axe):
    card = activated_holder(distributor, site, customer_data)
    holder_log_in(phone, url, "holder@example.com")
    phone.goto(url(f"/omakaiku/cards/{card.pk}/mobile/"))

    height = phone.evaluate("document.documentElement.scrollHeight")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways ({width} px)"
    assert height <= 640, f"the card needs scrolling on a 360 × 640 screen ({height} px)"
    clock = phone.locator("[data-clock]")
    first = clock.inner_text()
    assert re.fullmatch(r"\d\d:\d\d:\d\d", first)
    expect(clock).not_to_have_text(first, timeout=3000)  # it runs: a screenshot would not
    # In the card's time zone, as "Page loaded" is, on a phone set to another one (browser_context_args).
    loaded = phone.locator(".mobile-card__loaded time").inner_text()
    shown = datetime.datetime.strptime(clock.inner_text(), "%H:%M:%S").time()
    page_loaded = datetime.datetime.strptime(loaded.split()[-1], "%H:%M:%S").time()
    seconds_apart = abs(
        datetime.datetime.combine(datetime.date.min, shown) - datetime.datetime.combine(datetime.date.min, page_loaded)
    ).total_seconds()
    assert min(seconds_apart, 86400 - seconds_apart) < 60, (shown, page_loaded)
    expect(phone.locator("[data-stored-copy]")).to_be_hidden()
    assert_accessible(phone, axe, "the mobile card at 360 × 640")


def test_offline_the_stored_card_opens_and_says_it_is_a_stored_copy(phone, url, distributor, site, customer_data):
    card = activated_holder(distributor, site, customer_data)
    _card_opened_once(phone, url, card)

    phone.context.set_offline(True)
    try:
        phone.reload()
        expect(phone.locator(".mobile-card__number")).to_have_text(card.number)
        notice = phone.locator("[data-stored-copy]")
        expect(notice).to_be_visible()
        expect(notice).to_contain_text("No network: this is the card as it was at")
        # Other pages are not kept: offline they fail as they would without the worker.
        with pytest.raises(Exception):  # noqa: B017,PT011 (the browser's own network error)
            phone.goto(url("/omakaiku/uses/"))
    finally:
        phone.context.set_offline(False)


def test_logging_out_forgets_the_stored_card(phone, url, distributor, site, customer_data):
    _card_opened_once(phone, url, activated_holder(distributor, site, customer_data))
    assert phone.evaluate("caches.keys().then(names => names.length)") >= 1

    with phone.expect_navigation():
        phone.get_by_role("button", name="Log out").click()

    assert phone.evaluate("caches.keys().then(names => names.length)") == 0


def test_a_stored_card_past_its_last_valid_day_says_not_valid(phone, url, distributor, site, customer_data):
    card = activated_holder(distributor, site, customer_data)
    _card_opened_once(phone, url, card)

    # Offline, on a phone whose calendar has passed the card's last valid day.
    phone.clock.install(
        time=datetime.datetime.combine(card.valid_until, datetime.time(12)) + datetime.timedelta(days=2)
    )
    phone.context.set_offline(True)
    try:
        phone.reload()
        expect(phone.locator(".mobile-card__number")).to_have_text(card.number)
        expect(phone.locator("[data-state]")).to_have_text("Not valid")
        expect(phone.locator("[data-mobile-card]")).to_have_class(re.compile("mobile-card--invalid"))
    finally:
        phone.context.set_offline(False)


def test_a_card_withdrawn_since_is_forgotten_at_the_next_look_online(phone, url, distributor, site, customer_data):
    card = activated_holder(distributor, site, customer_data)
    card_url = _card_opened_once(phone, url, card)

    Card.objects.filter(pk=card.pk).update(mobile_enabled=False)  # the distributor switched it off
    assert phone.goto(card_url).status == 404

    assert not phone.evaluate(f"caches.match({card_url!r}, {{ignoreVary: true}}).then(Boolean)")
    phone.context.set_offline(True)
    try:
        with pytest.raises(Exception):  # noqa: B017,PT011 (the browser's own network error)
            phone.goto(card_url)
    finally:
        phone.context.set_offline(False)
