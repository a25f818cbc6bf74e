"""The security log: each event by name and user id, and never an address, password, key or code."""

import contextlib
import json
import logging
import re

import pytest
from allauth.mfa import signals as mfa_signals
from allauth.mfa.models import Authenticator
from django.contrib.admin.models import CHANGE, LogEntry
from django.core import mail
from django.db import OperationalError, transaction
from django.test import RequestFactory
from django.urls import reverse

from accounts import services
from accounts.mfa import totp_code
from accounts.security_log import LOGGER_NAME, security_event
from cards.access import StatsLevel, StatsScope
from cards.models import Card
from stats import selectors as stats_selectors
from tests import factories

NEW_PASSWORD = "Uusi-salasana-kulttuuria-42"


def events(caplog) -> list[dict]:
    return [json.loads(record.getMessage()) for record in caplog.records if record.name == LOGGER_NAME]


def named(caplog, name: str) -> list[dict]:
    return [event for event in events(caplog) if event["event"] == name]


@pytest.fixture
def security_caplog(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    return caplog


@pytest.fixture
def everything_logged(caplog):
    """Every record of every logger at DEBUG; "django" too, which does not propagate to the root."""
    caplog.set_level(logging.DEBUG)
    django_logger = logging.getLogger("django")
    level = django_logger.level
    django_logger.setLevel(logging.DEBUG)
    django_logger.addHandler(caplog.handler)
    yield caplog
    django_logger.removeHandler(caplog.handler)
    django_logger.setLevel(level)


def _link(message) -> str:
    return re.search(r"https?://\S+/(?:accounts/password/reset/key|omakaiku/activate)/\S+", message.body).group(0)


# --- the guard -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "details",
    [
        {"target": "maija.meikalainen@example.com"},
        {"note": "x" * 201},
        {"user_ref": object()},
        {"password": "hunter2-hunter2"},
        {"reset_token": "abc"},
        {"key": "abc"},
        {"code": "123456"},
        {"session_id": "abc"},
        {"email_domain": "example"},
        {"ip": "10.0.0.1"},
    ],
)
def test_guard_refuses_addresses_long_text_objects_and_secret_names(security_caplog, details):
    with pytest.raises(ValueError, match="security_event") as refused:
        security_event("test.refused", **details)

    assert events(security_caplog) == []
    assert "example.com" not in str(refused.value)


def test_guard_refuses_a_model_instance_whose_text_is_an_address(security_caplog, distributor):
    with pytest.raises(ValueError, match="plain"):
        security_event("test.refused", target=distributor)


def test_event_names_must_be_stable_dotted_names(security_caplog):
    with pytest.raises(ValueError, match="event name"):
        security_event("Login failed for maija@example.com")


def test_an_event_is_one_json_line_with_user_id_role_address_and_time(security_caplog, coordinator):
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.7")
    request.user = coordinator

    security_event("test.done", request=request, table="regions", rows=12)

    [record] = [r for r in security_caplog.records if r.name == LOGGER_NAME]
    assert record.levelno == logging.INFO
    assert "\n" not in record.getMessage()
    event = json.loads(record.getMessage())
    assert event["event"] == "test.done"
    assert (event["user_id"], event["user_role"]) == (coordinator.pk, "staff")
    assert event["ip"] == "203.0.113.7"
    assert (event["table"], event["rows"]) == ("regions", 12)
    assert event["time"].endswith("+00:00")
    assert coordinator.email not in record.getMessage()


def test_admin_role_and_holder_role(security_caplog, admin_user):
    security_event("test.done", user=admin_user)
    security_event("test.done", user=factories.HolderUserFactory())

    assert [e["user_role"] for e in events(security_caplog)] == ["admin", "holder"]


@pytest.mark.parametrize(("proxies", "expected"), [(0, "10.0.0.5"), (1, "198.51.100.9")])
def test_the_address_behind_trusted_proxies_only(security_caplog, settings, proxies, expected):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.9"
    )  # the client may forge the first entry; the proxy appended the second

    security_event("test.done", request=request)

    assert events(security_caplog)[0]["ip"] == expected


# --- logins ----------------------------------------------------------------------------------------


def test_failed_login_with_an_unknown_address_logs_the_fact_and_source_only(client, db, security_caplog):
    client.post(reverse("account_login"), {"login": "stranger@example.org", "password": "guess-guess-1"})

    [event] = named(security_caplog, "login.failed")
    assert event["ip"] == "127.0.0.1"
    assert "user_id" not in event
    assert "stranger" not in security_caplog.text
    assert "guess-guess-1" not in security_caplog.text


def test_failed_login_with_a_known_address_names_the_account_by_id(client, distributor, security_caplog):
    client.post(reverse("account_login"), {"login": distributor.email, "password": "wrong-password"})

    [event] = named(security_caplog, "login.failed")
    assert (event["user_id"], event["user_role"]) == (distributor.pk, "staff")
    assert distributor.email not in security_caplog.text


def test_a_right_password_on_the_wrong_login_page_is_a_logged_failure(client, distributor, security_caplog):
    # A staff person at OmaKaiku's login page: refused like a wrong password, and logged as such.
    response = client.post(reverse("omakaiku:login"), {"login": distributor.email, "password": factories.PASSWORD})

    assert "_auth_user_id" not in client.session
    assert response.status_code == 200
    [event] = named(security_caplog, "login.failed")
    assert (event["user_id"], event["reason"]) == (distributor.pk, "wrong_portal")


def test_login_is_logged(client, distributor, security_caplog):
    client.post(reverse("account_login"), {"login": distributor.email, "password": factories.PASSWORD})

    [event] = named(security_caplog, "login.succeeded")
    assert (event["user_id"], event["ip"]) == (distributor.pk, "127.0.0.1")


def test_too_many_failed_logins_for_one_address_are_logged(client, distributor, security_caplog):
    for _attempt in range(7):
        client.post(reverse("account_login"), {"login": distributor.email, "password": "wrong-password"})

    refused = named(security_caplog, "ratelimit.login_refused")
    assert refused
    assert refused[0]["view"] == "account_login"
    assert distributor.email not in security_caplog.text


def test_a_429_is_logged_with_the_view_not_the_path(client, db, settings, security_caplog):
    settings.ACCOUNT_RATE_LIMITS = {"reset_password_from_key": "2/m/ip"}
    url = reverse("omakaiku:activate", kwargs={"uidb36": "zz", "key": "secret-looking-key-123"})
    statuses = [client.get(url).status_code for _attempt in range(3)]

    assert statuses[-1] == 429
    [event] = named(security_caplog, "ratelimit.throttled")
    assert (event["view"], event["ip"]) == ("omakaiku:activate", "127.0.0.1")
    assert "secret-looking-key-123" not in json.dumps(event)


# --- two-step verification ---------------------------------------------------------------------------


def test_a_wrong_and_a_right_code_are_logged(client, admin_user, security_caplog):
    client.post(reverse("account_login"), {"login": admin_user.email, "password": factories.PASSWORD})
    client.post(reverse("mfa_authenticate"), {"code": "000000"})
    client.post(reverse("mfa_authenticate"), {"code": totp_code(factories.TOTP_SECRET)})

    [failed] = named(security_caplog, "mfa.failed")
    [used] = named(security_caplog, "mfa.used")
    assert failed["user_id"] == used["user_id"] == admin_user.pk
    assert used["authenticator_type"] == "totp"
    assert named(security_caplog, "login.succeeded")[0]["user_id"] == admin_user.pk


@pytest.mark.parametrize(
    ("signal", "name"),
    [
        (mfa_signals.authenticator_added, "mfa.added"),
        (mfa_signals.authenticator_removed, "mfa.removed"),
        (mfa_signals.authenticator_reset, "mfa.reset"),
    ],
)
def test_authenticator_changes_are_logged(security_caplog, coordinator, signal, name, committed):
    authenticator = Authenticator.objects.get(user=coordinator)
    request = RequestFactory().post("/", REMOTE_ADDR="192.0.2.1")
    request.user = coordinator

    with committed():
        signal.send(sender=Authenticator, request=request, user=coordinator, authenticator=authenticator)

    [event] = named(security_caplog, name)
    assert (event["user_id"], event["authenticator_id"], event["ip"]) == (coordinator.pk, authenticator.pk, "192.0.2.1")


# --- passwords, invitations, downloads, the admin -------------------------------------------------------


def test_a_password_change_is_logged(client, distributor, security_caplog, committed):
    client.force_login(distributor)
    with committed():
        client.post(
            reverse("account_change_password"),
            {"oldpassword": factories.PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        )

    [event] = named(security_caplog, "password.changed")
    assert event["user_id"] == distributor.pk
    assert NEW_PASSWORD not in security_caplog.text


def test_a_first_password_is_logged(security_caplog, distributor, committed):
    from allauth.account.signals import password_set

    with committed():
        password_set.send(sender=type(distributor), request=RequestFactory().post("/"), user=distributor)

    [event] = named(security_caplog, "password.set")
    assert event["user_id"] == distributor.pk


def test_a_staff_invitation_names_the_coordinator_and_the_invitee_by_id(security_caplog, coordinator, site, committed):
    with committed():
        invited = services.staff_invite(actor=coordinator, site=site, email="uusi.jakaja@example.fi")

    [event] = named(security_caplog, "invitation.staff_sent")
    assert (event["user_id"], event["invitee_id"], event["site_id"]) == (coordinator.pk, invited.pk, site.pk)
    assert "uusi.jakaja" not in security_caplog.text


def test_a_change_rolled_back_leaves_no_line_and_an_attempt_still_does(security_caplog, coordinator, site, committed):
    # Found in review: an invitation whose transaction failed at the commit (a database outage)
    # was logged as sent to an account that never existed.
    with committed(), contextlib.suppress(RuntimeError), transaction.atomic():
        services.staff_invite(actor=coordinator, site=site, email="uusi.jakaja@example.fi")
        security_event("login.failed", user=coordinator)
        raise RuntimeError("the commit failed")

    assert named(security_caplog, "invitation.staff_sent") == []
    assert [event["user_id"] for event in named(security_caplog, "login.failed")] == [coordinator.pk]


def test_an_invitation_committed_is_logged_even_when_its_mail_cannot_be_queued(
    security_caplog, coordinator, site, committed, monkeypatch
):
    # Found in review: the mail's queueing ran first after the commit, and its failure (the
    # database lost a moment after the commit) left a saved invitation without its line.
    class LostQueue:
        def enqueue(self, **kwargs):
            raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "send_invitation_email", LostQueue())
    with pytest.raises(OperationalError), committed():
        invited = services.staff_invite(actor=coordinator, site=site, email="uusi.jakaja@example.fi")

    [event] = named(security_caplog, "invitation.staff_sent")
    assert event["invitee_id"] == invited.pk


def test_an_offline_files_check_and_import_are_logged_with_counts_only(
    client, venue_user, venue, security_caplog, committed
):
    # A check reads thousands of card numbers at once: who checked how many rows is kept.
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    card = factories.CardFactory(number="K7654321")
    client.force_login(venue_user)
    day = timezone.localdate().isoformat()
    content = f"card_number,date,category,child_tickets,assistant_tickets,clients_under_16\nK7654321,{day},culture,0,0,0\nK0000000,{day},culture,0,0,0\n"
    upload = SimpleUploadedFile("uses.csv", content.encode(), "text/csv")
    preview = client.post(reverse("venues:import"), {"venue": venue.pk, "file": upload})
    with committed():
        client.post(reverse("venues:import_confirm"), {"token": preview.context["token"]})

    [checked] = named(security_caplog, "import.checked")
    [recorded] = named(security_caplog, "import.recorded")
    assert (checked["user_id"], checked["venue_id"], checked["rows"]) == (venue_user.pk, venue.pk, 2)
    assert (recorded["user_id"], recorded["venue_id"], recorded["rows"]) == (venue_user.pk, venue.pk, 1)
    assert card.number not in security_caplog.text


def test_an_admin_change_is_logged_without_the_objects_text(
    client, admin_user, distributor, security_caplog, committed
):
    # The admin's LogEntry keeps the changed user's email as its text; the security log must not.
    with committed():
        LogEntry.objects.log_actions(admin_user.pk, [distributor], CHANGE, change_message="Changed email.")

    [event] = named(security_caplog, "admin.changed")
    assert (event["user_id"], event["model"], event["object_id"]) == (
        admin_user.pk,
        "accounts.user",
        str(distributor.pk),
    )
    assert distributor.email not in security_caplog.text


def _secret_parts(link: str) -> list[str]:
    """The token of a set-password link (the part after the user id), and its hash alone."""
    segments = [part for part in link.rstrip("/").split("/") if part]
    token = segments[-1].partition("-")[2] if "/reset/key/" in link else segments[-1]
    return [token, token.rsplit("-", 1)[-1]]


def test_the_full_flow_leaks_no_address_password_key_or_session(
    client, admin_user, distributor, site, committed, everything_logged
):
    """A staff login with a wrong password, the right one and the code, an admin action, a statistics
    download, an OmaKaiku invitation and a password reset: every line of every logger is searched
    for what must never be in a log."""
    from django.test import Client

    card = factories.CardFactory(site=site, inactive=True)
    holder_card = factories.CardFactory(site=site)
    holder_email = "maija.meikalainen@example.com"
    slug = stats_selectors.stats_table_slugs(scope=StatsScope(StatsLevel.NATIONAL))[0]
    distributor_client, anonymous = Client(), Client()
    everything_logged.clear()  # what the fixtures did (factory_boy logs the values it makes)

    login = reverse("account_login")
    client.post(login, {"login": admin_user.email, "password": "wrong-pass-1"})
    client.post(login, {"login": admin_user.email, "password": factories.PASSWORD})
    code = totp_code(factories.TOTP_SECRET)
    client.post(reverse("mfa_authenticate"), {"code": code})
    assert client.session["_auth_user_id"] == str(admin_user.pk)
    with committed():
        client.post(
            reverse("admin:cards_card_changelist"),
            {"action": "reactivate", "_selected_action": [card.pk], "apply": "1", "reason": "found"},
        )
    download_url = reverse("stats:dashboard_download", kwargs={"slug": slug, "extension": "csv"})
    assert client.get(download_url + "?start=2025-01-01&end=2025-12-31").status_code == 200

    distributor_client.post(login, {"login": distributor.email, "password": factories.PASSWORD})
    with committed():
        distributor_client.post(
            reverse("cards:omakaiku", args=[holder_card.pk]), {"email": holder_email, "language": "fi"}
        )
    invitation_link = _link(mail.outbox[-1])

    with committed():
        anonymous.post(reverse("account_reset_password"), {"email": distributor.email})
    reset_link = _link(mail.outbox[-1])
    form_url = anonymous.get(reset_link, follow=True).redirect_chain[-1][0]
    with committed():
        anonymous.post(form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    card.refresh_from_db()
    distributor.refresh_from_db()
    holder_card.holder.refresh_from_db()
    assert card.status == Card.Status.ACTIVE
    assert distributor.check_password(NEW_PASSWORD)
    by_name = {event["event"]: event for event in events(everything_logged)}
    assert by_name["login.failed"]["user_id"] == admin_user.pk
    assert by_name["mfa.used"]["user_id"] == admin_user.pk
    expected_action = {"user_id": admin_user.pk, "action": "reactivate", "card_id": card.pk, "ip": "127.0.0.1"}
    assert by_name["admin.card_action"].items() >= expected_action.items()
    assert by_name["stats.downloaded"]["table"] == slug
    assert by_name["stats.downloaded"]["user_id"] == admin_user.pk
    assert by_name["invitation.holder_sent"]["user_id"] == distributor.pk
    assert by_name["invitation.holder_sent"]["invitee_id"] == holder_card.holder.account_id
    assert by_name["password.reset_requested"]["user_id"] == distributor.pk
    assert by_name["password.reset_requested"]["ip"] == "127.0.0.1"  # logged in the request, not by the worker
    assert by_name["password.reset_completed"]["user_id"] == distributor.pk
    assert [e["user_id"] for e in named(everything_logged, "login.succeeded")] == [admin_user.pk, distributor.pk]

    text = everything_logged.text + "\n".join(str(record.args) for record in everything_logged.records)
    sessions = [c.session.session_key for c in (client, distributor_client, anonymous)]
    never = [admin_user.email, distributor.email, holder_email, factories.PASSWORD, NEW_PASSWORD, "wrong-pass-1"]
    never += _secret_parts(reset_link) + _secret_parts(invitation_link) + [key for key in sessions if key]
    assert len(never) >= 12
    for secret in never:
        assert secret not in text, "a secret or an address reached the log"
    assert not re.search(rf"(?<!\d){code}(?!\d)", text)


@pytest.mark.parametrize("how", ["page", "action"])
def test_an_authenticator_removed_in_the_admin_is_logged_as_mfa_removed(
    client, admin_user, coordinator, security_caplog, how, committed
):
    # Operators alert on mfa.removed: the lost-phone procedure in the admin must say it too.
    record = Authenticator.objects.get(user=coordinator, type=Authenticator.Type.TOTP)
    client.force_login(admin_user)
    security_caplog.clear()

    with committed():
        if how == "page":
            client.post(reverse("admin:accounts_authenticatorrecord_delete", args=[record.pk]), {"post": "yes"})
        else:
            client.post(
                reverse("admin:accounts_authenticatorrecord_changelist"),
                {"action": "delete_selected", "_selected_action": [record.pk], "post": "yes"},
            )

    assert not Authenticator.objects.filter(pk=record.pk).exists()
    [removed] = named(security_caplog, "mfa.removed")
    assert removed["user_id"] == coordinator.pk
    assert removed["authenticator_id"] == record.pk
    assert removed["removed_by_admin"] == admin_user.pk
    assert removed["ip"] == "127.0.0.1"
