"""A staff person's own account page: the language of their emails, the way to their password
and two-step verification."""

import pytest
from django.core import mail
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db

URL = "/account/"


def test_the_navigation_leads_to_the_account_page(distributor_client):
    page = distributor_client.get(reverse("help"), HTTP_ACCEPT_LANGUAGE="en").text
    nav = page[page.index('<nav class="site-nav"') : page.index("</nav>")]
    assert f'<a href="{URL}">Your account</a>' in nav


def test_the_page_shows_the_login_the_language_and_the_ways_on(distributor_client, distributor):
    page = distributor_client.get(URL, HTTP_ACCEPT_LANGUAGE="en").text

    assert "You log in as jakaja@example.fi." in page
    # The invitation's language (Finnish by default) is the one chosen, each named in itself.
    assert '<input type="radio" name="language" value="fi" id="id_language_0" required checked>' in page
    assert '<input type="radio" name="language" value="sv" id="id_language_1" required>' in page
    assert '<label class="radio" lang="sv">' in page
    assert f'href="{reverse("account_change_password")}"' in page
    assert f'href="{reverse("mfa_index")}"' in page
    assert "Two-step verification is not in use." in page


def test_a_chosen_language_is_saved_and_the_next_reset_mail_speaks_it(
    client, distributor_client, distributor, committed
):
    response = distributor_client.post(URL, {"language": "sv"}, HTTP_ACCEPT_LANGUAGE="en", follow=True)

    assert response.redirect_chain == [(URL, 302)]
    assert "The language of your emails is saved." in response.text
    distributor.refresh_from_db()
    assert distributor.language == "sv"
    assert distributor.history.first().history_user == distributor

    # Forgotten later: the reset mail is in Swedish, whatever the browser asking for it speaks.
    client.logout()
    with committed():
        client.post(reverse("account_reset_password"), {"email": distributor.email}, HTTP_ACCEPT_LANGUAGE="fi")
    assert len(mail.outbox) == 1
    assert "lösenord" in mail.outbox[0].body.lower()


@pytest.mark.parametrize("bad", ["xx", "²", "s\x00v", "sv" * 3000, "", None])
def test_a_bad_language_is_refused_with_a_message_and_nothing_changes(distributor_client, distributor, bad):
    response = distributor_client.post(URL, {} if bad is None else {"language": bad}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert 'class="error"' in response.text
    distributor.refresh_from_db()
    assert distributor.language == "fi"


def test_holders_are_not_let_in_and_visitors_are_asked_to_log_in(client, db):
    holder = factories.HolderUserFactory()
    assert client.get(URL).status_code == 302
    assert client.get(URL).url.startswith(reverse("account_login"))

    client.force_login(holder)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"language": "sv"}).status_code == 403
    holder.refresh_from_db()
    assert holder.language == "fi"


def test_a_coordinator_is_told_to_ask_kaikukeskus_for_another_address(client, coordinator):
    # The coordinator is the one a site's staff would ask: they themselves ask Kaikukeskus.
    client.force_login(coordinator)
    page = client.get(URL, HTTP_ACCEPT_LANGUAGE="en").text
    assert "You log in as koordinaattori@example.fi. To log in with another address, ask Kaikukeskus." in page
    assert "regional coordinator" not in page
