"""Offer rules a mutation review found unchecked: a one-day offer, and whose offer a save may change."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from cards.models import Offer
from omakaiku.selectors import offers_current
from tests import factories
from tests.venues.test_offers import _offer_data
from venues import services


def test_a_one_day_offer_is_accepted(venue, venue_user):
    day = timezone.localdate() + datetime.timedelta(days=3)

    services.offer_validate(venue=venue, data=_offer_data(starts_on=day, ends_on=day))
    offer = services.offer_save(venue=venue, actor=venue_user, data=_offer_data(starts_on=day, ends_on=day))

    offer.refresh_from_db()
    assert (offer.starts_on, offer.ends_on) == (day, day)
    assert list(offers_current()) == [offer]


def test_another_venues_staff_cannot_change_an_offer_through_their_own_venue(venue, venue_user, municipality):
    offer = services.offer_save(venue=venue, actor=venue_user, data=_offer_data())
    other_venue = factories.VenueSiteFactory(municipality=municipality)
    other = factories.MembershipFactory(site=other_venue).user

    with pytest.raises(PermissionDenied):
        services.offer_save(venue=other_venue, actor=other, data=_offer_data(title_fi="Kaapattu"), offer=offer)

    offer.refresh_from_db()
    assert (offer.venue, offer.title_fi) == (venue, "Ilmainen konsertti")
    assert Offer.objects.count() == 1


def test_someone_not_working_at_the_venue_cannot_change_its_offer(venue, venue_user, municipality, distributor):
    offer = services.offer_save(venue=venue, actor=venue_user, data=_offer_data())
    other = factories.MembershipFactory(site=factories.VenueSiteFactory(municipality=municipality)).user

    for outsider in (other, distributor):
        with pytest.raises(PermissionDenied):
            services.offer_save(venue=venue, actor=outsider, data=_offer_data(title_fi="Kaapattu"), offer=offer)

    offer.refresh_from_db()
    assert offer.title_fi == "Ilmainen konsertti"
