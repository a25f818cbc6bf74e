"""Cross-cutting promises: languages, security headers, sessions, no 500s."""

import pytest
from django.conf import settings
from django.urls import reverse


def test_finnish_is_the_default_language(client, db, settings):
    # The project's own value, not one set here: tests/conftest.py switches tests to English.
    from kaikukanta import settings as project_settings

    settings.LANGUAGE_CODE = project_settings.LANGUAGE_CODE

    response = client.get(reverse("account_login"))  # no Accept-Language, no cookie

    assert project_settings.LANGUAGE_CODE == "fi"
    assert '<html lang="fi">' in response.text
    assert "Kirjaudu Kaikukantaan" in response.text


@pytest.mark.parametrize(("code", "word"), [("fi", "Kirjaudu"), ("sv", "Logga in"), ("en", "Log in")])
def test_login_page_speaks_each_language(client, db, code, word):
    response = client.get(reverse("account_login"), HTTP_ACCEPT_LANGUAGE=code)

    assert f'<html lang="{code}">' in response.text
    assert word in response.text


def test_language_switcher_remembers_the_choice(client, db):
    client.post(reverse("set_language"), {"language": "sv", "next": "/"})

    assert '<html lang="sv">' in client.get(reverse("account_login")).text


def test_content_security_policy_forbids_inline_scripts(client, db):
    response = client.get(reverse("account_login"))

    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "<script>" not in response.text
    assert " onclick=" not in response.text


def test_sessions_end_after_thirty_idle_minutes():
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST


def test_passwords_are_hashed_with_argon2():
    from kaikukanta import settings as project_settings  # the tests themselves use a fast hasher

    assert project_settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_login_is_rate_limited(client, db, distributor):
    for _attempt in range(12):
        response = client.post(reverse("account_login"), {"login": distributor.email, "password": "wrong"})

    assert response.status_code == 429 or "Too many failed login attempts" in response.text


def test_unknown_pages_answer_404_not_500(client, distributor_client):
    assert distributor_client.get("/cards/99999999/").status_code == 404
    assert distributor_client.get("/cards/abc/").status_code == 404
