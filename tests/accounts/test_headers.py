"""Response headers and the one-side-per-login rule for allauth's staff pages."""

import os
import subprocess
import sys

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings as django_settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core import mail
from django.urls import reverse

from tests import factories


def _no_store(response) -> bool:
    directives = {part.strip() for part in response.headers.get("Cache-Control", "").split(",")}
    return "no-store" in directives


@pytest.fixture
def holder_client(client, site):
    account = factories.HolderUserFactory(email="maija@example.com")
    card = factories.CardFactory(site=site, number="K7000001", holder__account=account)
    client.force_login(account)
    client.card = card
    return client


def test_staff_card_pages_are_not_stored(distributor_client, site):
    card = factories.CardFactory(site=site)

    for path in (reverse("cards:check"), reverse("cards:detail", args=[card.pk])):
        response = distributor_client.get(path)
        assert response.status_code == 200
        assert _no_store(response), path


def test_region_pages_are_not_stored(client, coordinator, site):
    client.force_login(coordinator)

    for path in (reverse("accounts:region"), reverse("accounts:site", args=[site.pk])):
        response = client.get(path)
        assert response.status_code == 200
        assert _no_store(response), path


def test_omakaiku_pages_and_the_data_download_are_not_stored(holder_client):
    for name in ("home", "uses", "my_data", "my_data_download"):
        response = holder_client.get(reverse(f"omakaiku:{name}"))
        assert response.status_code == 200, name
        assert _no_store(response), name


@pytest.mark.parametrize(
    "name", ["omakaiku:login", "omakaiku:password_reset", "account_login", "account_reset_password"]
)
def test_login_and_reset_pages_are_not_stored(client, db, name):
    response = client.get(reverse(name))

    assert response.status_code == 200
    assert _no_store(response)


def test_anonymous_pages_outside_the_portals_are_not_forced_to_no_store(client, db):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert not _no_store(response)


@pytest.mark.parametrize("path", ["/accounts/login/", "/omakaiku/login/", "/no-such-page/", "/static/css/app.css"])
def test_permissions_policy_on_every_response(client, db, path):
    response = client.get(path)

    policy = {item.strip() for item in response.headers["Permissions-Policy"].split(",")}
    assert "camera=(self)" in policy
    assert {"microphone=()", "geolocation=()", "payment=()", "usb=()"} <= policy


def _settings_value(name: str, **env) -> str:
    """The value of a setting as the real settings module computes it from the environment."""
    code = f"import kaikukanta.settings as s; print(repr(getattr(s, {name!r}, None)))"
    environment = {key: value for key, value in os.environ.items() if key != "TRUSTED_PROXY_COUNT"}
    environment |= {"DEBUG": "false", "SECRET_KEY": "x" * 50, **env}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=django_settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_forwarded_proto_is_trusted_only_behind_a_declared_proxy():
    assert _settings_value("SECURE_PROXY_SSL_HEADER") == "None"
    assert _settings_value("SECURE_PROXY_SSL_HEADER", TRUSTED_PROXY_COUNT="0") == "None"
    assert _settings_value("SECURE_PROXY_SSL_HEADER", TRUSTED_PROXY_COUNT="1") == "('HTTP_X_FORWARDED_PROTO', 'https')"


def test_without_a_proxy_a_forged_forwarded_proto_is_ignored(client, db, settings):
    # The tests run with the default TRUSTED_PROXY_COUNT=0.
    settings.SECURE_SSL_REDIRECT = True

    response = client.get(reverse("account_login"), HTTP_X_FORWARDED_PROTO="https")

    # Django still sees plain HTTP, so it redirects to HTTPS instead of serving the page.
    assert response.status_code == 301
    assert response.url.startswith("https://")


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ("/accounts/password/change/", "omakaiku:settings"),
        ("/accounts/password/set/", "omakaiku:password_reset"),
        ("/accounts/password/reset/", "omakaiku:password_reset"),
        ("/accounts/2fa/", "omakaiku:home"),
        ("/accounts/2fa/totp/activate/", "omakaiku:home"),
        ("/accounts/2fa/recovery-codes/", "omakaiku:home"),
        ("/accounts/reauthenticate/", "omakaiku:home"),
    ],
)
def test_holders_are_sent_from_allauths_staff_pages_to_omakaiku(holder_client, path, target):
    response = holder_client.get(path)

    assert response.status_code == 302
    assert response.url == reverse(target)


# allauth's e-mail management: a login's address is managed by whoever manages the person
# (the national admin for staff, the managing site for a holder), never by the person.
EMAIL_MANAGEMENT_PATHS = ["/accounts/email/", "/accounts/confirm-email/", "/accounts/confirm-email/MTQ:abc123/"]


@pytest.mark.parametrize("path", EMAIL_MANAGEMENT_PATHS)
@pytest.mark.parametrize("who", [None, "distributor", "holder"])
def test_allauths_email_management_is_no_page_for_anyone(client, db, site, path, who):
    if who == "distributor":
        client.force_login(factories.MembershipFactory(site=site).user)
    elif who == "holder":
        client.force_login(factories.HolderUserFactory())

    assert client.get(path).status_code == 404


def test_staff_cannot_resend_an_email_verification(client, distributor, committed):
    EmailAddress.objects.filter(user=distributor).update(verified=False)
    client.force_login(distributor)

    with committed():
        response = client.post("/accounts/email/", {"action_send": "", "email": distributor.email})

    assert response.status_code == 404
    assert mail.outbox == []


def test_no_page_links_to_allauths_email_management():
    from django.urls import NoReverseMatch

    for name in ("account_email", "account_email_verification_sent"):
        with pytest.raises(NoReverseMatch):
            reverse(name)
    with pytest.raises(NoReverseMatch):
        reverse("account_confirm_email", args=["MTQ:abc123"])


def test_every_other_allauth_page_is_still_there():
    # kaikukanta/urls.py lists allauth's URLs itself; a page allauth adds (a new setting, a new
    # version) must not go missing unnoticed.
    import allauth.urls
    from django.urls import URLResolver, get_resolver

    def names(patterns):
        for pattern in patterns:
            yield from names(pattern.url_patterns) if isinstance(pattern, URLResolver) else [pattern.name]

    ours = set(names(get_resolver().url_patterns))
    allauths = set(names(allauth.urls.urlpatterns))

    assert allauths - ours == {"account_email", "account_email_verification_sent", "account_confirm_email"}


def test_holder_posting_to_a_staff_page_changes_nothing(holder_client):
    before = holder_client.session["_auth_user_hash"]

    response = holder_client.post(
        "/accounts/password/change/", {"oldpassword": factories.PASSWORD, "password1": "x" * 12, "password2": "x" * 12}
    )

    assert response.status_code == 302
    assert holder_client.session["_auth_user_hash"] == before


def test_holder_can_still_log_out_through_allauth(holder_client):
    holder_client.post(reverse("account_logout"))

    assert "_auth_user_id" not in holder_client.session


def test_staff_still_open_allauths_pages(distributor_client):
    assert distributor_client.get("/accounts/2fa/").status_code == 200


def test_the_language_cookie_is_as_guarded_as_the_others(client, db):
    # Found in review: the session and CSRF cookies were HttpOnly and SameSite, the language
    # cookie neither (its Secure flag follows production settings, as theirs do).
    response = client.post(reverse("set_language"), {"language": "sv", "next": "/"})

    cookie = response.cookies[django_settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "sv"
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_the_login_message_carries_no_email_address(client, distributor):
    # Found in review: allauth's "Successfully signed in as jakaja@example.fi" travelled in the
    # signed, not encrypted, messages cookie to the next page.
    response = client.post(reverse("account_login"), {"login": distributor.email, "password": factories.PASSWORD})

    stored = CookieStorage(response.wsgi_request)._decode(response.cookies["messages"].value)
    assert [str(message) for message in stored] == ["You are logged in."]
    assert "You are logged in." in client.get(response.url, follow=True).content.decode()
