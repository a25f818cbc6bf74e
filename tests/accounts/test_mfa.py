"""Two-step verification: the admin has no login of its own, admins and coordinators must use TOTP."""

import datetime
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.conf import settings
from django.core.management import CommandError, call_command
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from accounts.mfa import DEMO_TOTP_SECRET, demo_totp_ensure, totp_code, totp_secret
from tests import factories


def _logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_admin_login_page_sends_to_allauths_login_keeping_next(client, db):
    response = client.get("/admin/login/?next=/admin/cards/card/")

    assert response.status_code == 302
    target = urlsplit(response.url)
    assert target.path == reverse("account_login")
    assert parse_qs(target.query)["next"] == ["/admin/cards/card/"]


def test_admin_pages_send_anonymous_visitors_to_allauths_login(client, db):
    response = client.get("/admin/", follow=True)

    assert response.redirect_chain[-1][0].startswith(reverse("account_login") + "?next=")
    assert response.status_code == 200


def test_admin_with_totp_cannot_log_in_with_the_password_alone(client, admin_user):
    # The admin's own login form no longer checks passwords at all.
    admin_form = client.post(
        "/admin/login/?next=/admin/", {"username": admin_user.email, "password": factories.PASSWORD}
    )
    assert admin_form.status_code == 302
    assert not _logged_in(client)

    # allauth's login takes the password, then asks for the code before logging in.
    password = client.post(reverse("account_login"), {"login": admin_user.email, "password": factories.PASSWORD})
    assert password.url == reverse("mfa_authenticate")
    assert not _logged_in(client)
    assert client.get("/admin/").status_code == 302

    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert wrong.status_code == 200
    assert not _logged_in(client)

    client.post(reverse("mfa_authenticate"), {"code": totp_code(factories.TOTP_SECRET)})
    assert _logged_in(client)
    assert client.get("/admin/").status_code == 200


def test_sixty_wrong_admin_passwords_are_throttled(client, admin_user):
    login_url = client.get("/admin/login/?next=/admin/").url
    statuses = []
    for _attempt in range(60):
        response = client.post(login_url, {"login": admin_user.email, "password": "wrong-password"})
        statuses.append(response.status_code)

    assert statuses[-1] == 429
    assert 429 in statuses[:35]
    # Even the right password is refused while throttled.
    client.post(login_url, {"login": admin_user.email, "password": factories.PASSWORD})
    assert client.session.get("account_authentication_records") is None
    assert not _logged_in(client)


@pytest.mark.parametrize("who", ["coordinator", "admin"])
def test_coordinator_or_admin_without_totp_is_sent_to_set_it_up(client, region, who):
    if who == "coordinator":
        user = factories.CoordinatorFactory(region=region).user
        page = reverse("accounts:region")
    else:
        user = factories.UserFactory(is_staff=True, is_superuser=True)
        page = reverse("admin:index")
    client.force_login(user)

    for path in (page, reverse("home"), reverse("cards:check")):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.url == reverse("mfa_activate_totp"), path

    setup = client.get(reverse("mfa_activate_totp"), follow=True)
    assert setup.status_code == 200
    # The setup page, or first the password check allauth asks before it: never a loop back.
    assert setup.redirect_chain == [] or setup.redirect_chain[-1][0].startswith(reverse("account_reauthenticate"))
    assert "must use two-step verification" in setup.text


def test_coordinator_sets_up_totp_and_then_reaches_the_region_page(client, coordinator):
    Authenticator.objects.filter(user=coordinator).delete()
    client.post(reverse("account_login"), {"login": coordinator.email, "password": factories.PASSWORD})
    assert client.get(reverse("accounts:region")).url == reverse("mfa_activate_totp")

    # The password typed a moment ago is not asked for again before the first authenticator.
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = page.context["form"].secret
    assert secret in page.text
    client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})

    assert totp_secret(coordinator) == secret
    assert client.get(reverse("accounts:region")).status_code == 200


def test_a_login_minutes_ago_asks_for_the_password_again_before_totp_is_set_up(client, coordinator):
    Authenticator.objects.filter(user=coordinator).delete()
    with time_machine.travel(timezone.now() - datetime.timedelta(minutes=6), tick=False):
        client.post(reverse("account_login"), {"login": coordinator.email, "password": factories.PASSWORD})

    reauthenticate = client.get(reverse("mfa_activate_totp"))
    assert reauthenticate.url.startswith(reverse("account_reauthenticate"))
    client.post(reauthenticate.url, {"password": factories.PASSWORD})
    assert client.get(reverse("mfa_activate_totp")).status_code == 200


def test_plain_distributor_needs_no_totp(distributor_client):
    assert distributor_client.get(reverse("home")).url == reverse("cards:list")
    assert distributor_client.get(reverse("cards:check")).status_code == 200
    assert distributor_client.get(reverse("cards:register")).status_code == 200


def test_staff_without_totp_can_still_log_out(client, region):
    user = factories.CoordinatorFactory(region=region).user
    client.force_login(user)

    response = client.post(reverse("account_logout"))

    assert response.status_code == 302
    assert not _logged_in(client)


def test_coordinator_cannot_switch_two_step_verification_off(client, coordinator):
    client.force_login(coordinator)

    client.post(reverse("mfa_deactivate_totp"))

    assert Authenticator.objects.filter(user=coordinator, type=Authenticator.Type.TOTP).exists()


def test_admin_logout_is_allauths(client, admin_user):
    client.force_login(admin_user)

    response = client.post("/admin/logout/")

    assert response.status_code == 302
    assert not _logged_in(client)


def test_demo_logins_get_the_published_secret_and_the_command_prints_the_code(db, settings, capsys):
    admin = factories.UserFactory(email="admin@example.fi", is_staff=True, is_superuser=True)
    own = factories.with_totp(factories.CoordinatorFactory(user__email="koordinaattori@example.fi").user)

    demo_totp_ensure(emails=[admin.email, own.email])

    assert totp_secret(admin) == DEMO_TOTP_SECRET
    assert totp_secret(own) == factories.TOTP_SECRET  # an existing authenticator is kept
    settings.DEBUG = True
    call_command("demo_totp_code", admin.email)
    assert capsys.readouterr().out.strip() == totp_code(DEMO_TOTP_SECRET)
    with pytest.raises(CommandError, match="demo authenticator"):
        call_command("demo_totp_code", own.email)


def test_demo_code_command_refuses_without_debug(db, settings):
    factories.with_totp(factories.UserFactory(email="admin@example.fi", is_staff=True))
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG"):
        call_command("demo_totp_code", "admin@example.fi")


def test_whoever_must_keep_two_step_verification_is_offered_no_way_to_switch_it_off(client, coordinator):
    client.force_login(coordinator)

    index = client.get(reverse("mfa_index"))
    # allauth asks for the password again first, on a page in Kaikukanta's form style.
    confirm = client.get(reverse("mfa_deactivate_totp"), follow=True)
    assert confirm.redirect_chain[-1][0].startswith(reverse("account_reauthenticate"))
    assert '<form method="post" action="/accounts/reauthenticate/" class="form" novalidate>' in confirm.text
    assert '<label for="id_password">Password' in confirm.text
    client.post(reverse("account_reauthenticate"), {"password": factories.PASSWORD})
    deactivate = client.get(reverse("mfa_deactivate_totp"))

    assert index.status_code == 200
    assert reverse("mfa_deactivate_totp") not in index.text
    assert "required for your role" in index.text
    assert "required for your role" in deactivate.text
    assert "<button" not in deactivate.text.split('id="main"')[-1].split("</main>")[0]
    assert Authenticator.objects.filter(user=coordinator, type=Authenticator.Type.TOTP).exists()


def test_a_distributor_who_chose_two_step_verification_may_switch_it_off(client, distributor):
    factories.with_totp(distributor)
    client.force_login(distributor)

    index = client.get(reverse("mfa_index"))

    assert f'<a class="button button--danger" href="{reverse("mfa_deactivate_totp")}">Switch off</a>' in index.text
    assert "required for your role" not in index.text


def _code_input(page) -> str:
    return re.search(r'<input[^>]*name="code"[^>]*>', page.text).group(0)


def test_every_code_field_opens_the_phones_number_keypad(client, admin_user, coordinator):
    # The app's codes and the recovery codes are digits only.
    client.post(reverse("account_login"), {"login": admin_user.email, "password": factories.PASSWORD})
    assert 'inputmode="numeric"' in _code_input(client.get(reverse("mfa_authenticate")))
    client.post(reverse("mfa_authenticate"), {"code": totp_code(factories.TOTP_SECRET)})
    client.post(reverse("account_logout"))

    Authenticator.objects.filter(user=coordinator).delete()
    client.post(reverse("account_login"), {"login": coordinator.email, "password": factories.PASSWORD})
    client.post(reverse("account_reauthenticate"), {"password": factories.PASSWORD})
    assert 'inputmode="numeric"' in _code_input(client.get(reverse("mfa_activate_totp")))


def test_a_lost_phone_removed_by_an_admin_takes_its_recovery_codes_along(client, admin_user, coordinator):
    # Found in review: the admin removed only the app; a password alone then read the ten
    # recovery codes, and they still signed in after a new phone was set up.
    RecoveryCodes.activate(coordinator)
    totp = Authenticator.objects.get(user=coordinator, type=Authenticator.Type.TOTP)
    client.force_login(admin_user)
    client.post(reverse("admin:accounts_authenticatorrecord_delete", args=[totp.pk]), {"post": "yes"})

    assert not Authenticator.objects.filter(user=coordinator).exists()


@pytest.mark.parametrize(
    "name", ["mfa_view_recovery_codes", "mfa_generate_recovery_codes", "mfa_download_recovery_codes"]
)
def test_without_an_authenticator_the_recovery_code_pages_lead_to_setting_one_up(client, coordinator, name):
    # Codes left over from before (made while the app was there) are not shown to a password alone.
    RecoveryCodes.activate(coordinator)
    Authenticator.objects.filter(user=coordinator, type=Authenticator.Type.TOTP).delete()
    client.post(reverse("account_login"), {"login": coordinator.email, "password": factories.PASSWORD})

    response = client.get(reverse(name))

    assert response.status_code == 302
    assert response.url == reverse("mfa_activate_totp")


def test_the_new_recovery_codes_are_shown_without_the_password_again_after_setting_up(client, coordinator):
    # Found in review: allauth shows the codes straight after the app is set up, and asked for the
    # password typed a minute before; a person giving up there had codes they never saw.
    Authenticator.objects.filter(user=coordinator).delete()
    client.post(reverse("account_login"), {"login": coordinator.email, "password": factories.PASSWORD})
    secret = client.get(reverse("mfa_activate_totp")).context["form"].secret

    activated = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)}, follow=True)

    assert activated.redirect_chain[-1][0] == reverse("mfa_view_recovery_codes")
    assert activated.status_code == 200
    assert len(activated.context["unused_codes"]) == 10


def test_an_authenticator_set_up_before_this_login_still_asks_for_the_password_to_change(client, distributor):
    with time_machine.travel(timezone.now() - datetime.timedelta(days=1)):
        factories.with_totp(distributor)
    client.post(reverse("account_login"), {"login": distributor.email, "password": factories.PASSWORD})
    client.post(reverse("mfa_authenticate"), {"code": totp_code(factories.TOTP_SECRET)})
    assert _logged_in(client)

    response = client.get(reverse("mfa_deactivate_totp"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_reauthenticate"))


@pytest.mark.parametrize(
    ("language", "ours", "allauths"),
    [
        ("fi", ["todennussovellus", "varakoodi"], ["tunnistinsovellus", "palautuskoodi"]),
        ("sv", ["autentiseringsapp", "reservkod"], ["återställningskod"]),
    ],
)
def test_setting_up_two_step_speaks_of_the_app_and_the_codes_in_one_term(client, coordinator, language, ours, allauths):
    # Found in review: allauth's messages and our pages named the app and the codes differently.
    Authenticator.objects.filter(user=coordinator).delete()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.post(reverse("account_login"), {"login": coordinator.email, "password": factories.PASSWORD})
    secret = client.get(reverse("mfa_activate_totp")).context["form"].secret
    codes = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)}, follow=True).content.decode()
    with translation.override(language):
        said = render_to_string("mfa/messages/totp_activated.txt") + render_to_string(
            "mfa/messages/recovery_codes_generated.txt"
        )

    text = (codes + said).lower()
    assert all(word in text for word in ours)
    assert not any(word in text for word in allauths)


@pytest.mark.parametrize(
    ("method", "name"),
    [("get", "mfa_deactivate_totp"), ("post", "mfa_generate_recovery_codes"), ("get", "mfa_download_recovery_codes")],
)
def test_right_after_setting_up_only_the_new_codes_are_shown_without_the_password(client, distributor, method, name):
    # Found in review: the waiver for the codes page also let a session left open minutes after
    # the setup switch two-step off, or make and download new codes, without the password.
    client.post(reverse("account_login"), {"login": distributor.email, "password": factories.PASSWORD})
    secret = client.get(reverse("mfa_activate_totp")).context["form"].secret
    client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})

    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=2)):
        response = getattr(client, method)(reverse(name))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_reauthenticate"))
    assert Authenticator.objects.filter(user=distributor, type=Authenticator.Type.TOTP).exists()
