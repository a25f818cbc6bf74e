"""The change history that the card page, OmaKaiku's data export and the statistics read."""

import pytest

from accounts.models import User
from cards.models import Card
from tests import factories

pytestmark = pytest.mark.django_db


def test_each_objects_history_holds_its_own_records_only():
    # The manager class is made once per process (kaikukanta/history.py); the object it is
    # bound to must still be each read's own.
    first, second = factories.CardFactory(), factories.CardFactory()
    second.mobile_enabled = not second.mobile_enabled
    second.save()
    assert type(first.history) is type(second.history)
    assert {record.id for record in first.history.all()} == {first.pk}
    assert {record.id for record in second.history.all()} == {second.pk}
    assert second.history.count() == 2
    assert Card.history.filter(id__in=[first.pk, second.pk]).count() == 3
    # Each model keeps its own history model behind the shared manager class.
    assert User.history.model is not Card.history.model
