"""Edges of the card rules that a mutation review found unchecked: the last valid day, the
reactivation's own refusals, who may move cards and where, switched-off logins, birth years."""

import datetime
from dataclasses import replace

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import Site, User
from cards import access, services
from cards.access import CardAction, StatsLevel, StatsScope
from cards.models import Card, ValidityPeriod

pytestmark = pytest.mark.django_db


def register(actor, site, data, number="A1234567", **kwargs):
    return services.card_register(site=site, actor=actor, number=number, holder_data=data, **kwargs)


# --- reactivation ----------------------------------------------------------------------------


def test_a_card_can_be_reactivated_on_its_last_valid_day(distributor, admin_user, site, customer_data):
    today = timezone.localdate()
    # 364 days back is a year to the day before today, unless a 29 February lies between.
    days_back = next(n for n in (364, 365) if services.validity_period(today - datetime.timedelta(days=n))[1] == today)
    with time_machine.travel(timezone.now() - datetime.timedelta(days=days_back)):
        card = register(distributor, site, customer_data)
    assert card.valid_until == today
    with time_machine.travel(timezone.now() - datetime.timedelta(days=10)):
        services.card_inactivate(card=card, actor=distributor, reason="lost")

    card = services.card_reactivate(card=Card.objects.get(pk=card.pk), actor=admin_user)

    card.refresh_from_db()
    assert card.status == Card.Status.ACTIVE
    assert not card.is_expired()
    assert card.is_valid()
    assert (card.valid_from, card.valid_until) == (today, today)
    newest = card.periods.order_by("pk").last()
    assert (newest.cause, newest.valid_from, newest.valid_until, newest.ended_on) == (
        ValidityPeriod.Cause.REACTIVATED,
        today,
        today,
        None,
    )


def test_reactivating_a_mobile_card_without_omakaiku_says_to_register_a_new_card(
    distributor, admin_user, site, customer_data
):
    # Found in review: the invariant check raises the same code with another message, so only
    # the rule's own advice shows that the rule itself refused.
    card = register(distributor, site, customer_data, number="X", email="holder@example.com")
    services.card_inactivate(card=card, actor=distributor, reason="given_up")
    card.holder.refresh_from_db()
    services._omakaiku_close(holder=card.holder, actor=admin_user, reason="test")

    with pytest.raises(ValidationError) as caught:
        services.card_reactivate(card=Card.objects.get(pk=card.pk), actor=admin_user)

    assert caught.value.messages == [
        "This is a mobile card and the holder no longer has OmaKaiku. Register a new card for the holder instead."
    ]
    assert caught.value.code == "mobile_needs_omakaiku"
    card.refresh_from_db()
    assert card.status == Card.Status.INACTIVE


# --- moving cards ----------------------------------------------------------------------------


def test_a_coordinator_cannot_move_a_single_card_of_an_open_site_of_their_region(
    distributor, coordinator, site, other_site, customer_data
):
    card = register(distributor, site, customer_data)
    assert site.is_active
    assert site.municipality.region_id in access.coordinated_region_ids(coordinator)

    assert not access.card_permits(coordinator, card, CardAction.TRANSFER)
    with pytest.raises(PermissionDenied):
        services.card_transfer(card=card, to_site=other_site, actor=coordinator, reason="holder moved")

    card.refresh_from_db()
    assert card.site == site


def test_not_even_an_admin_moves_a_card_to_a_closed_site(distributor, admin_user, site, other_site, customer_data):
    card = register(distributor, site, customer_data)
    other_site.is_active = False
    other_site.save()

    assert not access.transfer_target_permitted(admin_user, other_site)
    with pytest.raises(ValidationError) as caught:
        services.card_transfer(card=card, to_site=other_site, actor=admin_user, reason="holder moved")

    assert caught.value.message_dict == {"to_site": ["Choose an active distributor site of your region."]}
    card.refresh_from_db()
    assert card.site == site


def test_a_closed_sites_cards_are_not_moved_to_another_closed_site(
    distributor, admin_user, site, other_site, customer_data
):
    card = register(distributor, site, customer_data)
    site.is_active = False
    site.save()
    other_site.is_active = False
    other_site.save()

    with pytest.raises(ValidationError) as caught:
        services.site_cards_transfer(from_site=site, to_site=other_site, actor=admin_user, reason="site closed")

    assert caught.value.message_dict == {"to_site": ["Choose an active distributor site of your region."]}
    card.refresh_from_db()
    assert card.site == site


# --- switched-off logins ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ["distributor", "coordinator", "admin_user"])
def test_a_switched_off_staff_login_gets_no_access_to_cards_or_statistics(
    request, role, site, distributor, customer_data
):
    card = register(distributor, site, customer_data)
    if role == "coordinator":
        # A coordinator reaches a card only to move it from a closed site of their region.
        Site.objects.filter(pk=site.pk).update(is_active=False)
        card = Card.objects.get(pk=card.pk)
    user = request.getfixturevalue(role)
    # With the login on, the role reaches the card's page or its move, and some statistics.
    fresh = User.objects.get(pk=user.pk)
    assert access.card_permits(fresh, card, CardAction.VIEW) or access.card_permits(fresh, card, CardAction.TRANSFER)
    assert access.stats_scopes(fresh) != []

    User.objects.filter(pk=user.pk).update(is_active=False)
    switched_off = User.objects.get(pk=user.pk)

    assert [action for action in CardAction if access.card_permits(switched_off, card, action)] == []
    assert access.stats_scopes(switched_off) == []
    assert not access.stats_permits(switched_off, StatsScope(StatsLevel.SITE, site.pk))


# --- birth years -----------------------------------------------------------------------------


def test_the_earliest_birth_year_accepted_is_120_years_back(customer_data):
    today = datetime.date(2026, 11, 30)

    services.holder_data_validate(data=replace(customer_data, birth_year=1906), today=today)

    with pytest.raises(ValidationError) as caught:
        services.holder_data_validate(data=replace(customer_data, birth_year=1905), today=today)
    assert caught.value.message_dict == {"birth_year": ["Enter a year of birth between 1906 and 2010."]}
