"""Two distributors saving at the same moment: the database decides, nobody sees a 500."""

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from cards.models import Card
from tests import factories
from tests.concurrency import post_together

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
