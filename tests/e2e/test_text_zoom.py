"""Text zoomed alone to 200 % on a 360-pixel phone (WCAG 1.4.4 and 1.4.10): no page scrolls
sideways. Found in review: the card page was 608 px wide, the desk 416 px, OmaKaiku's settings
515 px (a button of one long Finnish word), and others a little over."""

import datetime

import pytest
from django.utils import timezone

from tests import factories
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e


def _zoom_text(page) -> None:
    page.set_viewport_size({"width": 360, "height": 780})
    # As a browser's "zoom text only" or a phone's larger font: 32 px for the default 16 px.
    page.context.new_cdp_session(page).send("Page.setFontSizes", {"fontSizes": {"standard": 32, "fixed": 26}})


def _overflow(page, url, paths) -> list[str]:
    wide = []
    for path in paths:
        page.goto(url(path))
        width = page.evaluate("() => document.documentElement.scrollWidth")
        if width > 360:
            wide.append(f"{path}: {width} px")
    return wide


@pytest.mark.parametrize("language", ["en", "fi", "sv"])
def test_staff_pages_reflow_with_the_text_zoomed(
    page, url, distributor, venue_user, coordinator, venue, site, language
):
    # Swedish labels are the longest ("Utfärdande verksamhetsställe"); a staff list holds addresses.
    start = timezone.localdate() - datetime.timedelta(days=30)
    card = factories.CardFactory(
        site=site,
        number="KK230723",
        issued_on=start,
        valid_from=start,
        holder__account=factories.HolderUserFactory(email="kaikukortti.pitka.osoite1@example.fi"),
    )
    factories.MembershipFactory(site=site, user__email="uusi.jakaja.pitkalla.nimella@example.fi")
    _zoom_text(page)

    wide = []
    for user, paths in (
        (distributor, [f"/cards/{card.pk}/", f"/cards/{card.pk}/letter/", "/cards/new/", "/stats/"]),
        (venue_user, [f"/venue/?number={card.number}", "/venue/offers/new/"]),
        (coordinator, [f"/region/sites/{site.pk}/", "/region/sites/new/", "/region/"]),
    ):
        page.context.clear_cookies()
        log_in(page, url, user)
        page.context.add_cookies([{"name": "django_language", "value": language, "url": url("/")}])
        wide += _overflow(page, url, paths)

    assert wide == []


def test_omakaiku_reflows_with_the_text_zoomed(page, url, site):
    account = factories.HolderUserFactory(email="maija@example.com", language="fi")
    card = factories.CardFactory(site=site, number="K7000001", holder__account=account)
    factories.CardUseFactory.create_batch(3, card=card)
    _zoom_text(page)

    wide = _overflow(page, url, ["/omakaiku/login/"])
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    wide += _overflow(page, url, ["/omakaiku/", "/omakaiku/uses/", "/omakaiku/settings/"])

    assert wide == []
