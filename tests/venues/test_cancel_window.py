"""One cancel window: the link on the list and the cancellation follow the same rule."""

import datetime
import re
import zoneinfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from cards.models import CardUse
from tests import factories
from venues import services

HELSINKI = zoneinfo.ZoneInfo("Europe/Helsinki")


@pytest.fixture
def use(venue, site):
    with time_machine.travel(datetime.datetime(2026, 3, 6, 8, 0, tzinfo=HELSINKI), tick=False):
        return factories.CardUseFactory(card=factories.CardFactory(site=site), venue=venue)


def _cancel_link(client, use) -> bool:
    page = client.get(reverse("venues:uses")).text
    return reverse("venues:use_cancel", args=[use.pk]) in page


def test_on_the_14th_day_after_recording_the_link_shows_and_cancelling_works(client, venue_user, use):
    client.force_login(venue_user)
    # Later in the day than the use was recorded: the old list hid the link a day early here.
    with time_machine.travel(datetime.datetime(2026, 3, 20, 9, 0, tzinfo=HELSINKI), tick=False):
        assert services.use_cancel_deadline(use=use) == datetime.date(2026, 3, 20)
        assert _cancel_link(client, use)
        response = client.post(reverse("venues:use_cancel", args=[use.pk]), {"reason": "recorded twice"})
        assert response.status_code == 302
    assert CardUse.objects.get(pk=use.pk).cancelled_at is not None


def test_on_the_15th_day_neither_the_link_nor_the_cancellation(client, venue_user, use):
    client.force_login(venue_user)
    with time_machine.travel(datetime.datetime(2026, 3, 21, 0, 30, tzinfo=HELSINKI), tick=False):
        assert not _cancel_link(client, use)
        with pytest.raises(ValidationError) as caught:
            services.card_use_cancel(use=use, actor=venue_user, reason="too late")
        assert caught.value.code == "cancel_window_over"


def test_the_cancel_page_of_a_use_past_its_window_says_so_instead_of_asking_a_reason(client, venue_user, use):
    client.force_login(venue_user)
    with time_machine.travel(datetime.datetime(2026, 3, 21, 9, 0, tzinfo=HELSINKI), tick=False):
        response = client.get(reverse("venues:use_cancel", args=[use.pk]), follow=True)

    assert response.redirect_chain[-1][0].startswith(reverse("venues:uses"))
    assert "A use can be cancelled within 14 days of recording it." in response.text
    assert 'name="reason"' not in response.text


def test_the_cancel_page_of_a_cancelled_use_says_so(client, venue_user, use):
    client.force_login(venue_user)
    with time_machine.travel(datetime.datetime(2026, 3, 7, 9, 0, tzinfo=HELSINKI), tick=False):
        services.card_use_cancel(use=use, actor=venue_user, reason="recorded twice")
        response = client.get(reverse("venues:use_cancel", args=[use.pk]), follow=True)

    assert "This use is already cancelled." in response.text
    assert 'name="reason"' not in response.text


@pytest.mark.parametrize(("language", "link", "leave"), [("sv", "Annullera", "Avbryt"), ("fi", "Peru", "Peruuta")])
def test_the_link_that_cancels_a_use_is_not_worded_as_leaving_a_form(client, venue_user, use, language, link, leave):
    # "Avbryt" / "Peruuta" is the link that leaves a form without doing anything (the offer form's).
    client.force_login(venue_user)
    client.cookies["django_language"] = language
    with time_machine.travel(datetime.datetime(2026, 3, 7, 9, 0, tzinfo=HELSINKI), tick=False):
        page = client.get(reverse("venues:uses")).text
    cancel_url = reverse("venues:use_cancel", args=[use.pk])
    anchor = re.search(rf'<a href="{re.escape(cancel_url)}">([^<]*)<', page)
    assert anchor is not None
    assert anchor.group(1) == link != leave


def test_a_closed_venues_use_has_no_cancel_page_for_its_former_staff(client, venue_user, use, venue):
    # Still a member of another, open venue: the closed one's uses are no longer theirs to cancel.
    factories.MembershipFactory(site=factories.VenueSiteFactory(municipality=venue.municipality), user=venue_user)
    venue.is_active = False
    venue.save()
    client.force_login(venue_user)
    url = reverse("venues:use_cancel", args=[use.pk])

    assert client.get(url).status_code == 404
    assert client.post(url, {"reason": "mistake"}).status_code == 404
    assert CardUse.objects.get(pk=use.pk).cancelled_at is None
