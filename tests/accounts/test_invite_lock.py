"""An invitation racing the site's closing: the membership comes before the close, or not at all."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from accounts import services
from accounts.models import Site, SiteMembership
from tests import factories
from tests.concurrency import holding

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite serialises all writers; the race needs PostgreSQL")
def test_an_invitation_that_waited_for_the_sites_closing_is_refused():
    region = factories.RegionFactory()
    site = factories.SiteFactory(municipality__region=region)
    coordinator = factories.CoordinatorFactory(region=region).user
    assert site.is_active  # the page was opened, and the first check made, while the site was open

    # An admin closes the site; the closing holds the site's row until it commits.
    closing = holding(lambda: Site.objects.filter(pk=site.pk).update(is_active=False))
    with pytest.raises(ValidationError) as refused:
        services.staff_invite(actor=coordinator, site=site, email="uusi@example.fi")
    closing.join()

    assert refused.value.code == "site_closed"
    assert refused.value.messages == ["This site has closed; no staff can be added to it."]
    assert not SiteMembership.objects.filter(site=site).exists()
