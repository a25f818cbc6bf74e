"""Two coordinators adding the first site of the same new organisation at the same moment."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.models import Organisation, Site, User
from tests import factories
from tests.concurrency import holding, post_together

pytestmark = pytest.mark.django_db(transaction=True)


def _post_together(clients_and_data):
    return post_together(reverse("accounts:site_create"), clients_and_data)


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite serialises all writers; the race needs PostgreSQL")
@pytest.mark.parametrize("same_site_name", [False, True])
def test_simultaneous_new_organisation_gives_one_organisation_and_no_500(same_site_name):
    municipality = factories.MunicipalityFactory(name="Tampere")
    clients = []
    for index in range(4):
        coordinator = factories.with_totp(
            factories.CoordinatorFactory(
                region=municipality.region, user__email=f"koordinaattori{index}@example.fi"
            ).user
        )
        client = Client()
        client.force_login(coordinator)
        clients.append(client)
    data = [
        {
            # Different letter case: still the same organisation.
            "organisation_name": "Tampereen Kaupunki" if index % 2 else "tampereen kaupunki",
            "name": "Sosiaalityö" if same_site_name else f"Toimipiste {index}",
            "kind": "distributor",
            "municipality": municipality.pk,
        }
        for index in range(4)
    ]

    responses = _post_together(list(zip(clients, data, strict=True)))

    assert Organisation.objects.count() == 1
    statuses = sorted(response.status_code for response in responses)
    if same_site_name:
        assert statuses == [200, 200, 200, 302]
        assert Site.objects.count() == 1
        for response in responses:
            if response.status_code == 200:
                assert "This organisation already has a site with this name." in response.text
    else:
        assert statuses == [302, 302, 302, 302]
        assert Site.objects.count() == 4


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite serialises all writers; the race needs PostgreSQL")
def test_the_same_new_person_invited_to_two_sites_at_once_works_for_both(region):
    coordinator = factories.CoordinatorFactory(region=region).user
    first, second = (factories.SiteFactory(municipality__region=region) for _ in range(2))

    # The first invitation has made the login and not yet committed when the second one asks.
    inviting = holding(lambda: services.staff_invite(actor=coordinator, site=first, email="uusi@example.fi"))
    services.staff_invite(actor=coordinator, site=second, email="uusi@example.fi")
    inviting.join()

    person = User.objects.get(email="uusi@example.fi")
    assert sorted(person.memberships.values_list("site_id", flat=True)) == sorted([first.pk, second.pk])


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite serialises all writers; the race needs PostgreSQL")
def test_an_invitation_racing_a_holders_omakaiku_is_refused_as_a_holder_address(region, site, distributor):
    from cards import services as card_services

    coordinator = factories.CoordinatorFactory(region=region).user
    holder = factories.HolderFactory()

    activating = holding(
        lambda: card_services.holder_omakaiku_activate(
            holder=holder, email="asiakas@example.com", language="fi", actor=distributor
        )
    )
    with pytest.raises(ValidationError) as refused:
        services.staff_invite(actor=coordinator, site=site, email="asiakas@example.com")
    activating.join()

    assert [error.code for error in refused.value.error_dict["email"]] == ["email_holder"]
    assert User.objects.get(email="asiakas@example.com").kind == User.Kind.HOLDER
