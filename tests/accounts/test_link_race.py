"""A set-password link used twice at the same moment (a double click, or two devices) sets one password."""

import re

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.models import User
from cards import services as card_services
from tests import factories
from tests.concurrency import holding

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor == "sqlite", reason="SQLite serialises all writers; the race needs PostgreSQL"
    ),
]

FIRST, SECOND = "Ensimmainen-salasana-42", "Toinen-salasana-kaikille-43"


def _opened(link: str) -> tuple[Client, str]:
    """A browser that has opened the link: its form's address (the key is kept in its session)."""
    client = Client(REMOTE_ADDR="192.0.2.7")
    page = client.get(link, follow=True)
    return client, page.redirect_chain[-1][0]


def _set_by_another_request(user_id: int):
    """The link's first use, committing a moment after the second one has started."""

    def set_password():
        user = User.objects.select_for_update().get(pk=user_id)
        user.set_password(FIRST)
        user.save()

    return holding(set_password)


def test_a_holders_invitation_link_sent_twice_at_once_sets_one_password(site, distributor, customer_data):
    card_services.card_register(
        site=site,
        actor=distributor,
        number="A1234567",
        holder_data=customer_data,
        email="maija@example.com",
        language="en",
    )
    link = re.search(r"https?://\S+(/omakaiku/activate/\S+/)", mail.outbox[0].body).group(1)
    client, form_url = _opened(link)
    user = User.objects.get(email="maija@example.com")

    first = _set_by_another_request(user.pk)
    second = client.post(form_url, {"new_password1": SECOND, "new_password2": SECOND, "accept_privacy": "on"})
    first.join()

    assert second.status_code == 400
    assert "This link no longer works" in second.text
    assert "_auth_user_id" not in client.session
    user.refresh_from_db()
    assert user.check_password(FIRST)


def test_a_staff_invitation_link_sent_twice_at_once_sets_one_password(region):
    coordinator = factories.CoordinatorFactory(region=region).user
    site = factories.SiteFactory(municipality__region=region)
    inviting = Client()
    inviting.force_login(factories.with_totp(coordinator))
    inviting.post(reverse("accounts:site", args=[site.pk]), {"email": "uusi@example.fi", "language": "sv"})
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", mail.outbox[0].body).group(1)
    client, form_url = _opened(link)
    user = User.objects.get(email="uusi@example.fi")

    first = _set_by_another_request(user.pk)
    second = client.post(form_url, {"password1": SECOND, "password2": SECOND})
    first.join()

    assert second.status_code == 200
    assert "password1" not in second.text  # the "link no longer works" page, not the form again
    assert "Länken fungerar inte längre" in second.text  # in the invitation's language, as the form was
    user.refresh_from_db()
    assert user.check_password(FIRST)
