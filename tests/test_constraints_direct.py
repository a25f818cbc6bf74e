"""The database constraints hold for writes made past the services (a shell, a data fix)."""

import pytest
from django.db import IntegrityError, transaction

from accounts.models import User
from cards.models import Card
from tests import factories

pytestmark = pytest.mark.django_db


def test_a_holders_login_cannot_be_made_an_admin_past_the_services():
    holder = factories.HolderUserFactory()

    # Both flags: admin access always comes with every permission (user_admin_is_superuser),
    # so only the holder rule stands between this update and a holder in the Django admin.
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=holder.pk).update(is_staff=True, is_superuser=True)

    holder.refresh_from_db()
    assert (holder.is_staff, holder.is_superuser) == (False, False)


@pytest.mark.parametrize("number", ["X1234567", "Z1234567"])
def test_a_physical_card_cannot_have_an_assigned_looking_number_past_the_services(number):
    card = factories.CardFactory(number="A1234567")

    with pytest.raises(IntegrityError), transaction.atomic():
        Card.objects.filter(pk=card.pk).update(number=number)
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.CardFactory(number=number)

    card.refresh_from_db()
    assert card.number == "A1234567"
    assert not Card.objects.filter(number=number).exists()
