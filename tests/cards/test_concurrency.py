"""Two distributors saving at the same moment: the database decides, nobody sees a 500."""

import datetime
from dataclasses import replace
from html import unescape

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cards import services
from cards.models import Card, Holder
from tests import factories
from tests.concurrency import holding, post_together

pytestmark = pytest.mark.django_db(transaction=True)


def _post_together(clients_and_data):
    return post_together(reverse("cards:register"), clients_and_data)


def _clients(site, count):
    clients = []
    for index in range(count):
        user = factories.MembershipFactory(site=site, user__email=f"jakaja{index}@example.fi").user
        client = Client()
        client.force_login(user)
        clients.append(client)
    return clients


def _data(site, **overrides):
    return {
        "number": "A1234567",
        "site": site.pk,
        "kind": "customer",
        "birth_year": "1985",
        "children_count": "1",
        "postal_code": "33100",
        "municipality": site.municipality_id,
        "language": "fi",
    } | overrides


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite serialises all writers; the race needs PostgreSQL")
def test_simultaneous_registration_of_the_same_number_creates_one_card():
    site = factories.SiteFactory()
    clients = _clients(site, 4)

    responses = _post_together([(client, _data(site)) for client in clients])

    assert Card.objects.filter(number="A1234567").count() == 1
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 200, 200, 302]
    for response in responses:
        if response.status_code == 200:
            assert "Card number A1234567 is already registered." in response.text


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite serialises all writers; the race needs PostgreSQL")
def test_simultaneous_x_cards_get_distinct_numbers():
    site = factories.SiteFactory()
    clients = _clients(site, 4)

    responses = _post_together(
        [
            (client, _data(site, number="X", activate_omakaiku="on", email=f"holder{index}@example.com"))
            for index, client in enumerate(clients)
        ]
    )

    assert [response.status_code for response in responses] == [302] * 4
    numbers = list(Card.objects.values_list("number", flat=True))
    assert len(set(numbers)) == 4


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite serialises all writers; the race needs PostgreSQL")
def test_simultaneous_registrations_with_the_same_new_email_give_one_account_and_form_errors():
    site = factories.SiteFactory()
    clients = _clients(site, 3)

    responses = _post_together(
        [
            (client, _data(site, number=f"A12345{index}0", activate_omakaiku="on", email="same@example.com"))
            for index, client in enumerate(clients)
        ]
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 200, 302]
    from accounts.models import User

    assert User.objects.filter(email="same@example.com").count() == 1
    # The losers' cards were rolled back with their failed account: nothing half-written.
    assert Card.objects.count() == 1
    for response in responses:
        if response.status_code == 200:
            # Lost the race on the account, or came just after it and found the holder's new card.
            assert (
                "This email address is already in use. Ask the holder for another address." in response.text
                or "This holder already has an active card" in response.text
            )


# --- a change that waited for another one that moved the card or changed the holder ----------------


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite serialises all writers; the race needs PostgreSQL")
@pytest.mark.parametrize("change", ["update", "renew", "inactivate"])
def test_a_change_that_waited_for_the_cards_move_is_refused_not_a_crash(change, customer_data, admin_user):
    # PostgreSQL re-checks a row it waited for against the rows joined before the wait: a lock
    # taken with the card's site joined found no card at all once the move committed (a 500).
    site, other_site = factories.SiteFactory(), factories.SiteFactory()
    distributor = factories.MembershipFactory(site=site).user
    card = services.card_register(site=site, actor=distributor, number="A1234567", holder_data=customer_data)
    changes = {
        "update": lambda: services.card_update(
            card=card, actor=distributor, holder_data=replace(customer_data, children_count=3), reason="typo"
        ),
        "renew": lambda: services.card_renew(card=card, actor=distributor),
        "inactivate": lambda: services.card_inactivate(card=card, actor=distributor, reason="lost"),
    }

    mover = holding(lambda: services.card_transfer(card=card, to_site=other_site, actor=admin_user))
    with pytest.raises((PermissionDenied, ValidationError)):
        changes[change]()
    mover.join()

    card.refresh_from_db()
    assert (card.site, card.status, card.holder.children_count) == (other_site, Card.Status.ACTIVE, 2)


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite serialises all writers; the race needs PostgreSQL")
def test_a_new_card_that_waited_for_the_holders_omakaiku_sees_it(customer_data):
    # The holder's lock joined their OmaKaiku account: read before the activation committed, the
    # new card would not have seen the account the holder now has.
    site = factories.SiteFactory()
    distributor = factories.MembershipFactory(site=site).user
    old = services.card_register(site=site, actor=distributor, number="A1234567", holder_data=customer_data)
    services.card_inactivate(card=old, actor=distributor, reason="lost")
    holder = Holder.objects.get(pk=old.holder_id)

    def activate():
        locked = Holder.objects.select_for_update().get(pk=holder.pk)
        services.holder_omakaiku_activate(holder=locked, email="holder@example.com", language="fi", actor=distributor)

    activating = holding(activate)
    new = services.card_register(
        site=site, actor=distributor, number="B7654321", holder=holder, holder_data=customer_data, mobile=True
    )
    activating.join()

    assert new.mobile_enabled is True
    assert new.holder.account.email == "holder@example.com"


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite serialises all writers; the race needs PostgreSQL")
def test_a_card_renewed_while_the_dormant_job_runs_keeps_the_holders_omakaiku(customer_data):
    site = factories.SiteFactory()
    distributor = factories.MembershipFactory(site=site).user
    with time_machine.travel(timezone.now() - datetime.timedelta(days=1200)):
        card = services.card_register(
            site=site, actor=distributor, number="A1234567", holder_data=customer_data, email="holder@example.com"
        )

    # The renewal holds the card when the job, which chose the holder a moment before, comes to it.
    renewing = holding(lambda: services.card_renew(card=card, actor=distributor))
    erased = services.holders_dormant_erase()
    renewing.join()

    card.refresh_from_db()
    assert erased == 0
    assert card.status == Card.Status.ACTIVE
    assert card.valid_until > timezone.localdate()
    assert card.holder.account.email == "holder@example.com"


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite serialises all writers; the race needs PostgreSQL")
def test_a_closed_sites_cards_moved_twice_at_once_say_so_the_second_time(customer_data):
    region = factories.RegionFactory()
    site, other_site = (factories.SiteFactory(municipality__region=region) for _ in range(2))
    distributor = factories.MembershipFactory(site=site).user
    for number in ("A1234567", "B1234567"):
        holder_data = replace(customer_data, birth_year=1980 + len(number))
        services.card_register(site=site, actor=distributor, number=number, holder_data=holder_data)
    site.is_active = False
    site.save()
    coordinator = factories.CoordinatorFactory(region=region).user

    first = holding(lambda: services.site_cards_transfer(from_site=site, to_site=other_site, actor=coordinator))
    with pytest.raises(ValidationError) as refused:  # not PermissionDenied: the page would be a 403
        services.site_cards_transfer(from_site=site, to_site=other_site, actor=coordinator)
    first.join()

    assert refused.value.messages == ["The site has no active cards left to move."]
    assert Card.objects.filter(site=other_site).count() == 2


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite serialises all writers; the race needs PostgreSQL")
def test_a_switch_that_waited_for_the_same_switch_leads_to_the_new_card(customer_data):
    site = factories.SiteFactory()
    distributor = factories.MembershipFactory(site=site).user
    card = services.card_register(site=site, actor=distributor, number="A1234567", holder_data=customer_data)
    client = Client()
    client.force_login(distributor)

    first = holding(
        lambda: services.card_switch_to_mobile_only(card=card, actor=distributor, email="maija@example.com")
    )
    second = client.post(
        reverse("cards:switch", args=[card.pk]), {"email": "maija@example.com", "confirm": "on"}, follow=True
    )
    first.join()

    new = Card.objects.get(kind=Card.Kind.X)
    assert second.redirect_chain == [(reverse("cards:detail", args=[new.pk]), 302)]
    assert f"The holder's card is now {new.number}." in unescape(second.text)


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite serialises all writers; the race needs PostgreSQL")
def test_a_card_registered_while_its_site_closes_is_refused_not_left_behind(customer_data):
    site = factories.SiteFactory()
    distributor = factories.MembershipFactory(site=site).user
    access_checked = services.site_may_issue(distributor, site)  # the request began: the site was open

    closing = holding(lambda: type(site).objects.filter(pk=site.pk).update(is_active=False))
    with pytest.raises(ValidationError) as refused:
        services.card_register(site=site, actor=distributor, number="A1234567", holder_data=customer_data)
    closing.join()

    assert access_checked
    assert refused.value.messages == ["This site has closed: cards can no longer be registered there."]
    assert not Card.objects.exists()


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite serialises all writers; the race needs PostgreSQL")
def test_a_card_replaced_while_its_site_closes_is_refused_not_left_behind(customer_data):
    site = factories.SiteFactory()
    distributor = factories.MembershipFactory(site=site).user
    card = services.card_register(site=site, actor=distributor, number="A1234567", holder_data=customer_data)
    services.site_may_issue(distributor, site)  # the request began: the site was open

    closing = holding(lambda: type(site).objects.filter(pk=site.pk).update(is_active=False))
    with pytest.raises(ValidationError) as refused:
        services.card_replace(card=card, actor=distributor, number="B7654321", reason="lost")
    closing.join()

    assert refused.value.messages == [
        "The card's site has closed. Move the card to another site first, then replace it."
    ]
    assert Card.objects.count() == 1
