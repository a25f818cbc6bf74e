"""Invitation and reset emails leave through the task queue; a failed invitation is shown, retried, resent."""

import datetime
import re
import smtplib

import pytest
import time_machine
from django.core import mail
from django.tasks import task_backends
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.adapter import STAFF_PASSWORD_RESET_TEMPLATE
from accounts.models import InvitationDelivery, User
from accounts.tasks import (
    INVITATION_RETRY_DELAYS,
    mail_error_name,
    password_state,
    send_invitation_email,
    send_password_reset_email,
)
from tests import factories

# Nothing listens on the discard port: connecting fails at once, as with a mail server that is down.
MAIL_SERVER_DOWN = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 2},
    }
}
MAIL_WORKS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


def _invite(client, site, email="uusi@example.fi"):
    return client.post(reverse("accounts:site", args=[site.pk]), {"email": email, "language": "en"})


def test_failed_invitation_is_marked_and_shown_with_a_resend(client, coordinator, site, committed, settings):
    settings.MAILERS = MAIL_SERVER_DOWN
    client.force_login(coordinator)

    with committed():
        response = _invite(client, site)

    assert response.status_code == 302
    user = User.objects.get(email="uusi@example.fi")
    delivery = InvitationDelivery.objects.get(user=user)
    assert delivery.state == InvitationDelivery.State.FAILED
    assert delivery.error == "ConnectionRefusedError"
    assert "uusi@example.fi" not in delivery.error
    page = client.get(reverse("accounts:site", args=[site.pk]))
    assert "Invitation failed on " in page.text
    membership = user.memberships.get()
    assert reverse("accounts:invitation_resend", args=[membership.pk]) in page.text
    assert "Resend the invitation to uusi@example.fi" in page.text

    settings.MAILERS = MAIL_WORKS
    with committed():
        resend = client.post(reverse("accounts:invitation_resend", args=[membership.pk]))

    assert resend.url == reverse("accounts:site", args=[site.pk])
    assert InvitationDelivery.objects.get(user=user).state == InvitationDelivery.State.SENT
    assert [message.to for message in mail.outbox] == [["uusi@example.fi"]]
    page = client.get(reverse("accounts:site", args=[site.pk]))
    # The message says what the request did (the mail may still wait in the queue), the list
    # whether it went out.
    assert "A new invitation to uusi@example.fi was created" in page.text
    assert "was sent again" not in page.text
    assert "Invitation sent on " in page.text
    assert "Resend the invitation to" not in page.text


def test_a_sent_invitation_says_so(client, coordinator, site, committed):
    client.force_login(coordinator)

    with committed():
        _invite(client, site)

    delivery = User.objects.get(email="uusi@example.fi").invitation
    assert delivery.state == InvitationDelivery.State.SENT
    assert delivery.attempts == 1


def test_a_queued_invitation_is_shown_as_queued(client, coordinator, site):
    client.force_login(coordinator)

    _invite(client, site)  # never committed: the task has not run

    assert User.objects.get(email="uusi@example.fi").invitation_state == "queued"
    assert "Invitation queued" in client.get(reverse("accounts:site", args=[site.pk])).text


@pytest.fixture
def deferring_tasks(settings):
    """A task backend that can run tasks later (as the database backend does): it only records them."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    backend = task_backends["default"]
    backend.clear()
    return backend


def test_failure_is_retried_later_with_back_off_then_marked_failed(db, settings, deferring_tasks):
    settings.MAILERS = MAIL_SERVER_DOWN
    user = factories.UserFactory(activated_at=None, password=None)
    services.user_invite(user=user, template=services.STAFF_INVITATION_TEMPLATE, context={"site_name": "X"})
    kwargs = {
        "user_id": user.pk,
        "template": services.STAFF_INVITATION_TEMPLATE,
        "context": {"site_name": "X"},
        "invited_at": user.invited_at.isoformat(),
    }

    waits = []
    for attempt in range(1, len(INVITATION_RETRY_DELAYS) + 2):
        before = timezone.now()
        send_invitation_email.call(**kwargs, attempt=attempt)
        delivery = InvitationDelivery.objects.get(user=user)
        assert delivery.attempts == attempt
        if attempt <= len(INVITATION_RETRY_DELAYS):
            assert delivery.state == InvitationDelivery.State.QUEUED
            retry = deferring_tasks.results[-1]
            assert retry.kwargs["attempt"] == attempt + 1
            waits.append(retry.task.run_after - before)
    assert InvitationDelivery.objects.get(user=user).state == InvitationDelivery.State.FAILED
    assert len(deferring_tasks.results) == len(INVITATION_RETRY_DELAYS)
    for wait, expected in zip(waits, INVITATION_RETRY_DELAYS, strict=True):
        assert expected <= wait < expected + datetime.timedelta(seconds=5)


def test_a_retry_after_a_resend_does_not_send_the_old_invitation(db, settings):
    user = factories.UserFactory(activated_at=None, password=None)
    services.user_invite(user=user, template=services.STAFF_INVITATION_TEMPLATE, context={"site_name": "X"})
    old = user.invited_at.isoformat()
    services.user_invite(user=user, template=services.STAFF_INVITATION_TEMPLATE, context={"site_name": "X"})

    send_invitation_email.call(
        user_id=user.pk, template=services.STAFF_INVITATION_TEMPLATE, context={}, invited_at=old, attempt=2
    )

    assert mail.outbox == []


def test_resend_is_refused_once_the_password_is_set(coordinator, distributor):
    with pytest.raises(services.ValidationError) as excinfo:
        services.staff_invitation_resend(actor=coordinator, user=distributor)

    assert excinfo.value.code == "already_activated"


def test_resend_is_only_for_the_coordinators_own_region(db):
    far = factories.MembershipFactory(
        user__activated_at=None, site__municipality=factories.MunicipalityFactory(name="Oulu")
    ).user
    other_coordinator = factories.CoordinatorFactory().user

    with pytest.raises(services.PermissionDenied):
        services.staff_invitation_resend(actor=other_coordinator, user=far)


# --- password reset through the task queue ------------------------------------------------------


@pytest.mark.parametrize("url_name", ["account_reset_password", "omakaiku:password_reset"])
def test_nobody_can_fill_a_persons_inbox_with_reset_mails(client, site, committed, url_name):
    staff = factories.MembershipFactory(site=site, user__email="jakaja@example.fi").user
    holder = factories.HolderUserFactory(email="maija@example.com")
    known = holder if url_name.startswith("omakaiku") else staff

    with time_machine.travel(timezone.now(), tick=False) as traveller:
        with committed():
            for _attempt in range(5):
                client.post(reverse(url_name), {"email": known.email})
        assert len(mail.outbox) == 3  # at most 3 in 10 minutes
        traveller.shift(datetime.timedelta(minutes=11))
        with committed():
            client.post(reverse(url_name), {"email": known.email})
        assert len(mail.outbox) == 4


@pytest.mark.parametrize("url_name", ["account_reset_password", "omakaiku:password_reset"])
def test_reset_with_the_mail_server_down_answers_as_for_an_unknown_address(client, site, settings, committed, url_name):
    settings.MAILERS = MAIL_SERVER_DOWN
    staff = factories.MembershipFactory(site=site, user__email="jakaja@example.fi").user
    holder = factories.HolderUserFactory(email="maija@example.com")
    known = holder if url_name.startswith("omakaiku") else staff

    with committed():
        known_response = client.post(reverse(url_name), {"email": known.email})
        unknown_response = client.post(reverse(url_name), {"email": "nobody@example.fi"})

    assert known_response.status_code == unknown_response.status_code == 302
    assert known_response.url == unknown_response.url


def test_a_reset_mail_that_fails_is_tried_again_later_then_given_up(client, distributor, settings, deferring_tasks):
    settings.MAILERS = MAIL_SERVER_DOWN
    kwargs = {
        "user_id": distributor.pk,
        "template": STAFF_PASSWORD_RESET_TEMPLATE,
        "url_name": "account_reset_password_from_key",
    }

    waits = []
    for attempt in range(1, len(INVITATION_RETRY_DELAYS) + 2):
        before = timezone.now()
        send_password_reset_email.call(**kwargs, attempt=attempt, requested_at=before.isoformat())
        if attempt <= len(INVITATION_RETRY_DELAYS):
            retry = deferring_tasks.results[-1]
            assert retry.kwargs["attempt"] == attempt + 1
            waits.append(retry.task.run_after - before)
    assert len(deferring_tasks.results) == len(INVITATION_RETRY_DELAYS)
    for wait, expected in zip(waits, INVITATION_RETRY_DELAYS, strict=True):
        assert expected <= wait < expected + datetime.timedelta(seconds=5)

    settings.MAILERS = MAIL_WORKS
    send_password_reset_email.call(**kwargs, attempt=2, requested_at=timezone.now().isoformat())
    assert [message.to for message in mail.outbox] == [[distributor.email]]


def test_a_reset_retried_after_the_person_logged_in_is_not_sent(client, distributor):
    asked = timezone.now() - datetime.timedelta(minutes=5)
    client.force_login(distributor)  # remembered the password meanwhile

    send_password_reset_email.call(
        user_id=distributor.pk,
        template=STAFF_PASSWORD_RESET_TEMPLATE,
        url_name="account_reset_password_from_key",
        attempt=2,
        requested_at=asked.isoformat(),
    )

    assert mail.outbox == []


def test_a_reset_retried_after_the_password_was_set_is_not_sent(distributor):
    # Set from another reset mail, without logging in: the retry would mail one more working link.
    asked = password_state(distributor)
    distributor.set_password("Uusi-salasana-kulttuuria-42")
    distributor.save()

    send_password_reset_email.call(
        user_id=distributor.pk,
        template=STAFF_PASSWORD_RESET_TEMPLATE,
        url_name="account_reset_password_from_key",
        attempt=2,
        requested_at=timezone.now().isoformat(),
        password_at_request=asked,
    )

    assert mail.outbox == []


def test_staff_reset_mail_links_to_kaikukanta_and_holder_reset_to_omakaiku(client, site, committed, settings):
    settings.SITE_URL = "http://127.0.0.1:8123"
    staff = factories.MembershipFactory(site=site, user__email="jakaja@example.fi", user__language="en").user
    holder = factories.HolderUserFactory(email="maija@example.com", language="en")

    with committed():
        client.post(reverse("account_reset_password"), {"email": staff.email})
        client.post(reverse("omakaiku:password_reset"), {"email": holder.email})

    staff_mail, holder_mail = mail.outbox
    assert staff_mail.to == [staff.email]
    assert re.search(r"^http://127\.0\.0\.1:8123/accounts/password/reset/key/\S+$", staff_mail.body, re.M)
    assert holder_mail.to == [holder.email]
    assert re.search(r"^http://127\.0\.0\.1:8123/omakaiku/activate/\S+$", holder_mail.body, re.M)
    # Both say how long the link works, and that no one should answer them.
    hours = settings.PASSWORD_RESET_TIMEOUT // 3600
    for message in (staff_mail, holder_mail):
        assert f"It works once, for {hours} hours:" in message.body
        assert message.extra_headers["Auto-Submitted"] == "auto-generated"
    # Holders know Kaikukortti and OmaKaiku; the register's name is the staff's.
    assert str(staff_mail.message()["From"]) == "Kaikukanta <noreply@kaikukortti.fi>"
    assert str(holder_mail.message()["From"]) == "Kaikukortti – OmaKaiku <noreply@kaikukortti.fi>"


def test_reset_mail_is_not_sent_inside_the_request(client, distributor):
    # Without a commit the task is never enqueued: the request itself sends nothing.
    response = client.post(reverse("account_reset_password"), {"email": distributor.email})

    assert response.status_code == 302
    assert mail.outbox == []


# --- readable development mail, links that follow the served address -----------------------------


def test_console_mail_is_readable_text_with_links_on_one_line(client, coordinator, site, committed, settings, capsys):
    settings.SITE_URL = "http://127.0.0.1:8123"
    settings.MAILERS = {"default": {"BACKEND": "accounts.mail.ConsoleEmailBackend"}}
    client.force_login(coordinator)
    site.name = "Sosiaalityö Hämeenkatu"
    site.save()

    with committed():
        _invite(client, site, email="jakaja.uusi@example.fi")

    output = capsys.readouterr().out
    assert "Sosiaalityö Hämeenkatu" in output
    assert "=C3=" not in output
    assert "quoted-printable" not in output
    links = re.findall(r"^http://127\.0\.0\.1:8123/accounts/password/reset/key/\S+/$", output, re.M)
    assert len(links) == 1
    # The printed link works as it stands.
    client.logout()
    assert client.get(links[0], follow=True).context["form"] is not None


def test_consolemail_url_gives_the_readable_backend():
    from kaikukanta.settings import _mailer

    assert _mailer("consolemail://")["BACKEND"] == "accounts.mail.ConsoleEmailBackend"


@pytest.mark.parametrize(
    ("url", "path"), [("filemail:///var/mail/kaikukanta", "/var/mail/kaikukanta"), ("filemail://mail", "mail")]
)
def test_filemail_url_keeps_its_path_as_written(url, path):
    # filemail:///tmp/x once wrote set-password links under the app's own folder, as "tmp/x".
    from kaikukanta.settings import _mailer

    assert _mailer(url) == {
        "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "OPTIONS": {"file_path": path},
    }


def test_make_run_serves_links_for_its_own_port(settings):
    import shutil
    import subprocess

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    result = subprocess.run(
        ["make", "-n", "run", "PORT=8123", "HOST=127.0.0.1"],
        cwd=settings.BASE_DIR,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )

    runserver = next(line for line in result.stdout.splitlines() if "runserver" in line)
    assert 'SITE_URL="${SITE_URL:-http://127.0.0.1:8123}"' in runserver
    assert runserver.endswith("runserver 127.0.0.1:8123")


def test_a_holders_failed_invitation_is_said_at_the_top_of_the_card_page(
    distributor_client, distributor, site, customer_data, committed, settings
):
    # On a phone the OmaKaiku panel, with its resend button, is screens below the message
    # "invitation created"; the failure is said where the page begins.
    from cards import services as card_services

    settings.MAILERS = MAIL_SERVER_DOWN
    with committed():
        card = card_services.card_register(
            site=site, actor=distributor, number="A1234567", holder_data=customer_data, email="maija@example.com"
        )

    page = distributor_client.get(reverse("cards:detail", args=[card.pk])).text

    notice = page.index("data-invitation-failed")
    assert notice < page.index('id="omakaiku-heading"')
    assert "The OmaKaiku invitation could not be sent (" in page
    # The server was down: the address may be right, and staff are not sent to change it.
    assert "the mail service did not answer. The email address need not be changed" in page
    assert "Check the email address" not in page
    # The server refused the address itself (the failure's class name is what is stored).
    refused = smtplib.SMTPRecipientsRefused({"maija@example.com": (550, b"5.1.1 maija@example.com: no such user")})
    InvitationDelivery.objects.filter(user=card.holder.account).update(error=mail_error_name(refused))
    page = distributor_client.get(reverse("cards:detail", args=[card.pk])).text
    assert "the mail server refused the address. Check the email address" in page
    assert "did not answer" not in page
    settings.MAILERS = MAIL_WORKS
    with committed():
        card_services.card_omakaiku_resend(card=card, actor=distributor)
    assert "data-invitation-failed" not in distributor_client.get(reverse("cards:detail", args=[card.pk])).text


def test_what_is_kept_of_a_refused_recipient_is_its_reply_code_not_its_address():
    for_good = smtplib.SMTPRecipientsRefused({"maija@example.com": (550, b"5.1.1 maija@example.com unknown")})
    for_now = smtplib.SMTPRecipientsRefused({"maija@example.com": (450, b"4.2.0 greylisted, try again")})

    assert mail_error_name(for_good) == "SMTPRecipientsRefused 550"
    assert InvitationDelivery(error=mail_error_name(for_good)).address_refused
    # Greylisted: the address may be right, and the retries will tell.
    assert not InvitationDelivery(error=mail_error_name(for_now)).address_refused
    assert not InvitationDelivery(error="ConnectionRefusedError").address_refused
