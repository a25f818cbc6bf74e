"""OmaKaiku's settings: the password, the language of emails and the expiry reminders."""

import logging
import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from omakaiku.models import HolderPreferences
from tests import factories

SETTINGS = reverse("omakaiku:settings")
PASSWORD_CHANGE = reverse("omakaiku:password_change")
NEW_PASSWORD = "Uusi-kulttuurisalasana-7"


@pytest.fixture
def holder(site):
    account = factories.HolderUserFactory(email="maija@example.com", language="fi")
    factories.CardFactory(site=site, number="K7000001", holder__account=account)
    return account


@pytest.fixture
def holder_client(client, holder):
    client.force_login(holder)
    return client


def input_tag(page, element_id: str) -> str:
    """The ``<input>`` tag with the id, as rendered."""
    return re.search(rf'<input [^>]*id="{element_id}"[^>]*>', page.text).group(0)


def change_password(client, *, current=factories.PASSWORD, new=NEW_PASSWORD, again=None):
    return client.post(
        PASSWORD_CHANGE, {"old_password": current, "new_password1": new, "new_password2": again or new}, follow=True
    )


def test_the_page_shows_the_current_choices_and_is_in_the_navigation(holder_client):
    page = holder_client.get(SETTINGS)

    assert page.status_code == 200
    assert f'href="{SETTINGS}" aria-current="page"' in page.text
    assert " checked" in input_tag(page, "id_language_0")  # fi
    # Reminders are on until the holder turns them off.
    assert " checked" in input_tag(page, "id_expiry_reminders")
    assert "maija@example.com" in page.text


def test_holder_changes_the_password_stays_logged_in_and_other_sessions_end(holder_client, holder, caplog, committed):
    other_device = Client()
    other_device.force_login(holder)

    with caplog.at_level(logging.INFO, logger="kaikukanta.security"), committed():
        response = change_password(holder_client)

    assert response.redirect_chain[-1][0] == SETTINGS
    assert "Your password is changed." in response.text
    holder.refresh_from_db()
    assert holder.check_password(NEW_PASSWORD)
    assert holder_client.get(SETTINGS).status_code == 200
    assert other_device.get(SETTINGS).url.startswith(reverse("omakaiku:login"))
    assert '"event": "password.changed"' in caplog.text
    assert NEW_PASSWORD not in caplog.text


def test_a_wrong_current_password_is_a_form_error_and_changes_nothing(holder_client, holder):
    response = change_password(holder_client, current="not-my-password")

    assert response.status_code == 200
    assert "Your current password was entered incorrectly." in response.text
    holder.refresh_from_db()
    assert holder.check_password(factories.PASSWORD)
    assert holder_client.get(SETTINGS).status_code == 200


@pytest.mark.parametrize(
    ("new", "again", "error", "beside"),
    [
        ("short", None, "This password is too short.", "new_password1"),
        (NEW_PASSWORD, NEW_PASSWORD + "x", "The two password fields", "new_password2"),
        ("maija@example.com", None, "too similar to the email address", "new_password1"),
    ],
)
def test_a_weak_or_mistyped_new_password_is_refused(holder_client, holder, new, again, error, beside):
    response = change_password(holder_client, new=new, again=again)

    assert response.status_code == 200
    assert error in response.text
    # Beside the field to fix: a rule of passwords beside the new one, a typo beside the repetition.
    assert list(response.context["password_form"].errors) == [beside]
    holder.refresh_from_db()
    assert holder.check_password(factories.PASSWORD)


def test_guessing_the_current_password_is_rate_limited(holder_client, holder):
    statuses = [change_password(holder_client, current=f"guess-{n}").status_code for n in range(6)]

    assert statuses == [200] * 5 + [429]
    holder.refresh_from_db()
    assert holder.check_password(factories.PASSWORD)
    # The pause is said in OmaKaiku's own look, with its way back, not the staff register's.
    paused = change_password(holder_client, current="guess-7")
    assert '<body class="omakaiku">' in paused.text
    assert 'href="/omakaiku/">' in paused.text
    assert 'href="/help/"' not in paused.text


def test_holder_chooses_the_language_of_emails(holder_client, holder):
    response = holder_client.post(SETTINGS, {"language": "sv", "expiry_reminders": "on"}, follow=True)

    assert "Your email settings are saved." in response.text
    holder.refresh_from_db()
    assert holder.language == "sv"
    assert HolderPreferences.objects.get(user=holder).expiry_reminders is True
    # Only the emails: the pages stay in the language the browser asks for.
    assert response.headers["Content-Language"] == "en"


def test_holder_turns_the_expiry_reminders_off_and_on(holder_client, holder):
    holder_client.post(SETTINGS, {"language": "fi"})

    assert HolderPreferences.objects.get(user=holder).expiry_reminders is False
    page = holder_client.get(SETTINGS)
    assert " checked" not in input_tag(page, "id_expiry_reminders")

    holder_client.post(SETTINGS, {"language": "fi", "expiry_reminders": "on"})
    assert HolderPreferences.objects.get(user=holder).expiry_reminders is True


@pytest.mark.parametrize(
    "data", [{}, {"language": "de"}, {"language": "fi\x00", "expiry_reminders": "on"}, {"language": "x" * 10_000}]
)
def test_bad_settings_input_is_a_form_error_not_a_crash(holder_client, holder, data):
    response = holder_client.post(SETTINGS, data)

    assert response.status_code == 200
    assert "Please check the form" in response.text
    holder.refresh_from_db()
    assert holder.language == "fi"
    assert not HolderPreferences.objects.exists()


@pytest.mark.parametrize(
    "data", [{}, {"old_password": "x"}, {"old_password": ["a", "b"], "new_password1": "\x00", "new_password2": ""}]
)
def test_bad_password_input_is_a_form_error_not_a_crash(holder_client, data):
    response = holder_client.post(PASSWORD_CHANGE, data)

    assert response.status_code == 200
    assert "Please check the form" in response.text


def test_opening_the_password_address_shows_the_settings_page(holder_client):
    response = holder_client.get(PASSWORD_CHANGE)

    assert response.url == SETTINGS


def test_staff_cannot_open_the_settings_and_strangers_are_sent_to_log_in(client, distributor):
    anonymous = client.get(SETTINGS)
    assert anonymous.url.startswith(reverse("omakaiku:login"))
    assert client.post(PASSWORD_CHANGE).url.startswith(reverse("omakaiku:login"))

    client.force_login(distributor)
    assert client.get(SETTINGS).status_code == 403
    assert client.post(SETTINGS, {"language": "sv"}).status_code == 403
    assert client.post(PASSWORD_CHANGE, {"old_password": factories.PASSWORD}).status_code == 403
    assert User.objects.get(pk=distributor.pk).language == "fi"


def test_the_privacy_notice_names_the_keeper_who_sees_what_and_where_to_complain(client, db, settings):
    settings.SERVICE_CONTACT_EMAIL = "tietosuoja@kaikukortti.example"

    page = client.get(reverse("omakaiku:privacy"), HTTP_ACCEPT_LANGUAGE="fi").text

    assert '<a href="mailto:tietosuoja@kaikukortti.example">tietosuoja@kaikukortti.example</a>' in page
    assert "<h2>Kuka näkee tietosi</h2>" in page
    assert "tietosuojavaltuutetulle" in page
