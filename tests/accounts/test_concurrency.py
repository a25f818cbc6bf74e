"""Two coordinators adding the first site of the same new organisation at the same moment."""

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.models import Organisation, Site
from tests import factories
from tests.concurrency import post_together

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
