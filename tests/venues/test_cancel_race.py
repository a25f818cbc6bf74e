"""Two cancellations of the same use at the same moment: one cancels, the other is told so."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from cards.models import CardUse
from tests import factories
from tests.concurrency import holding
from venues import services

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite serialises all writers; the race needs PostgreSQL")
def test_a_use_cancelled_twice_at_once_keeps_the_first_reason():
    venue = factories.VenueSiteFactory()
    use = factories.CardUseFactory(venue=venue)
    first_user, second_user = (factories.MembershipFactory(site=venue).user for _ in range(2))

    first = holding(lambda: services.card_use_cancel(use=use, actor=first_user, reason="recorded twice"))
    with pytest.raises(ValidationError) as refused:
        services.card_use_cancel(use=use, actor=second_user, reason="wrong card")
    first.join()

    assert refused.value.code == "use_cancelled"
    assert refused.value.messages == ["This use is already cancelled."]
    use = CardUse.objects.get(pk=use.pk)
    assert use.cancelled_at is not None
    assert use.cancel_reason == "recorded twice"
    assert [record.cancel_reason for record in use.history.order_by("history_id")] == ["", "recorded twice"]
