"""Probes for the load balancer, and a friendly 503 (not a 500) while the database is down."""

import json
import logging
import os
import re
import subprocess
import sys
import uuid
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import OperationalError, connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from cards.models import CardUse
from kaikukanta import health
from tests import factories

# Transaction control passes, so the test's own transaction survives a simulated outage.
_TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE", "ROLLBACK")


@contextmanager
def database_down(only: str = ""):
    """Every query (or every one containing ``only``) fails as it does while PostgreSQL restarts."""

    def refuse(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith(_TRANSACTION_CONTROL) or only not in sql:
            return execute(sql, params, many, context)
        raise OperationalError("server closed the connection unexpectedly")

    with connection.execute_wrapper(refuse):
        yield


@pytest.fixture(autouse=True)
def _fresh_readiness(monkeypatch):
    # The passed migration check is remembered for the life of the process; each test starts afresh.
    monkeypatch.setattr(health, "_migrations_applied", False)
    monkeypatch.setattr(health, "_cache_tables_made", False)


@pytest.fixture
def errors(caplog):
    """ERROR records from every logger, Django's own included (they do not propagate to the root)."""
    django_logger = logging.getLogger("django")
    django_logger.addHandler(caplog.handler)
    caplog.set_level(logging.ERROR)
    yield lambda: [record for record in caplog.records if record.levelno >= logging.ERROR]
    django_logger.removeHandler(caplog.handler)


@pytest.fixture
def venue_client(client, venue_user):
    client.force_login(venue_user)
    # Exceptions become responses as they do in production, instead of being raised in the test.
    client.raise_request_exception = False
    return client


# --- /healthz and /readyz -------------------------------------------------------------------------


def test_healthz_answers_without_a_query_a_session_or_a_cookie(venue_client, django_assert_num_queries):
    # A browser with a session (and a CSRF cookie) opens it: nothing is read, saved or set.
    venue_client.cookies["csrftoken"] = "x" * 32
    with django_assert_num_queries(0):
        response = venue_client.get("/healthz")

    assert response.status_code == 200
    assert response.text == "ok\n"
    assert "Set-Cookie" not in response.headers
    assert not response.cookies


def test_healthz_answers_while_the_database_is_down(client):
    with database_down():
        response = client.get("/healthz")

    assert response.status_code == 200


def test_readyz_is_ok_when_the_database_answers_and_every_migration_is_applied(client, db):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.text == "ok\n"
    assert "Set-Cookie" not in response.headers


def test_readyz_is_503_while_a_migration_is_unapplied(client, db):
    app, name = sorted(MigrationLoader(connection).graph.leaf_nodes())[0]
    MigrationRecorder(connection).record_unapplied(app, name)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.text == "migrations not applied\n"


def test_readyz_is_503_while_a_cache_table_is_missing(client, db, settings):
    # migrate does not make the cache tables: an installation that skipped createcachetable
    # would answer every statistics page with an error.
    settings.CACHES = settings.CACHES | {
        "extra": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "kaikukanta_never_made"}
    }

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.text == "cache tables missing\n"


def test_readyz_is_503_while_the_database_is_down(client, db):
    with database_down():
        response = client.get("/readyz")

    assert response.status_code == 503
    assert response.text == "database unavailable\n"


# Where no Redis listens: refused at once (a Redis that never answers gives up after its timeout).
_REDIS_DOWN = {
    "BACKEND": "django.core.cache.backends.redis.RedisCache",
    "LOCATION": "redis://127.0.0.1:1/0",
    "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
}


@pytest.mark.parametrize("alias", ["default", "stats"])
def test_readyz_stays_ready_while_a_cache_kept_in_redis_is_down(client, db, settings, alias):
    # Every instance shares the Redis: out of rotation, all of them would be, and the desk and
    # OmaKaiku, which need no cache, would go down with the logins and statistics that do.
    settings.CACHES = settings.CACHES | {alias: _REDIS_DOWN}

    response = client.get("/readyz")

    assert response.status_code == 200


def test_a_login_while_the_redis_cache_is_down_answers_a_friendly_503(client, db, settings, errors):
    settings.CACHES = settings.CACHES | {"default": _REDIS_DOWN}
    client.raise_request_exception = False
    user = factories.UserFactory()

    response = client.post(reverse("account_login"), {"login": user.email, "password": factories.PASSWORD})

    _assert_friendly_503(response)
    [record] = errors()
    assert record.getMessage().startswith("Cache unavailable, answered 503: ConnectionError")
    assert user.email not in record.getMessage()


def test_probes_answer_plain_http_and_the_balancers_host_in_production(client, db, settings):
    # Production: HTTPS everywhere; the balancer probes http://10.0.0.5:8000/healthz.
    settings.SECURE_SSL_REDIRECT = True
    probe = {"HTTP_HOST": "10.0.0.5:8000"}

    assert client.get("/healthz", **probe).status_code == 200
    assert client.get("/readyz", **probe).status_code in (200, 503)
    # Every other page still goes to HTTPS, and still refuses a host not in ALLOWED_HOSTS.
    assert client.get("/", HTTP_HOST="127.0.0.1").status_code == 301
    assert client.get("/", secure=True, **probe).status_code == 400


# --- 503 while the database is unavailable --------------------------------------------------------


def _assert_friendly_503(response):
    assert response.status_code == 503
    assert response["Retry-After"] == str(health.RETRY_AFTER_SECONDS)
    assert "no-store" in response["Cache-Control"]
    assert "<h1>Service temporarily unavailable</h1>" in response.text
    assert "Please wait a little and try again." in response.text
    assert '<html lang="en">' in response.text


def test_a_view_that_cannot_reach_the_database_answers_a_friendly_503(venue_client, venue, monkeypatch, errors):
    def unreachable(**kwargs):
        raise OperationalError("connection to server at 127.0.0.1, port 5432 failed: Connection refused")

    monkeypatch.setattr("venues.selectors.venue_recent_uses", unreachable)

    response = venue_client.get(reverse("venues:desk"))

    _assert_friendly_503(response)
    [record] = errors()
    assert "Database unavailable" in record.getMessage()
    assert "OperationalError" in record.getMessage()


def test_a_session_that_cannot_be_read_in_the_middleware_answers_503_and_logs_once(venue_client, venue, errors):
    with database_down():
        response = venue_client.get(reverse("venues:desk"))

    _assert_friendly_503(response)
    [record] = errors()
    # Failed before the URL was resolved, still named by its pattern.
    assert record.getMessage().endswith("(GET venue/)")


def test_a_session_that_cannot_be_saved_answers_503_not_400(venue_client, venue, errors):
    # The desk remembers the venue in the session; saving it fails after the page was made.
    with database_down(only='UPDATE "django_session"'):
        response = venue_client.get(reverse("venues:desk"), {"venue": venue.pk})

    _assert_friendly_503(response)
    assert len(errors()) == 1


def test_the_log_line_names_the_url_pattern_not_the_path_with_its_token(client, db, errors):
    client.raise_request_exception = False
    with database_down():
        response = client.get("/omakaiku/activate/3x/secret-invitation-token/")

    assert response.status_code == 503
    [record] = errors()
    assert "secret-invitation-token" not in record.getMessage()
    assert "(GET omakaiku/activate/" in record.getMessage()


def test_omakaiku_keeps_its_own_name_on_the_503_page(client, db):
    client.force_login(factories.HolderUserFactory())
    client.raise_request_exception = False
    with database_down():
        response = client.get(reverse("omakaiku:home"))

    assert response.status_code == 503
    assert 'class="brand" href="/omakaiku/">OmaKaiku</a>' in response.text


def test_a_use_whose_request_fails_half_way_is_not_recorded(venue_client, venue, site, monkeypatch):
    card = factories.CardFactory(site=site, number="K1234567")

    def unreachable(*args, **kwargs):
        # After the use was written: the database goes away before the request ends.
        assert CardUse.objects.filter(card=card).exists()
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr("venues.views.messages.success", unreachable)
    data = {
        "venue": venue.pk,
        "number": card.number,
        "token": uuid.uuid4().hex,
        "used_on": timezone.localdate().isoformat(),
        "category": "culture",
        "child_tickets": "0",
        "assistant_tickets": "0",
    }

    response = venue_client.post(reverse("venues:record"), data)

    _assert_friendly_503(response)
    assert not CardUse.objects.exists()


def test_other_errors_still_answer_the_500_page(venue_client, venue, monkeypatch):
    def broken(**kwargs):
        raise ValueError("a bug, not an outage")

    monkeypatch.setattr("venues.selectors.venue_recent_uses", broken)

    response = venue_client.get(reverse("venues:desk"))

    assert response.status_code == 500
    assert "Something went wrong. Please try again in a moment." in response.text
    assert "Retry-After" not in response.headers


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_the_503_page_speaks_the_visitors_language_whatever_the_last_request_left(venue_client, venue, language):
    # A worker's previous request left another language active; this one's session cannot be
    # read, so the locale middleware never runs for it.
    venue_client.cookies["django_language"] = language
    with translation.override("sv" if language != "sv" else "fi"), database_down():
        response = venue_client.get(reverse("venues:desk"))

    assert response.status_code == 503
    assert f'<html lang="{language}">' in response.text
    assert response["Content-Language"] == language
    heading = {"fi": "Palvelu on tilapäisesti poissa käytöstä", "sv": "Tjänsten är tillfälligt ur bruk"}
    assert heading.get(language, "Service temporarily unavailable") in response.text


@pytest.mark.parametrize(("path", "brand"), [("/accounts/login/", "Kaikukanta"), ("/omakaiku/login/", "OmaKaiku")])
def test_a_form_refused_for_its_security_token_gets_the_sites_own_page_in_its_language(client, db, path, brand):
    # Found in review: Django's own page, marked English over Finnish text, spoke of DEBUG and
    # had no way back (a login form opened before logging in and out in another tab).
    client = Client(enforce_csrf_checks=True)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "sv"

    response = client.post(path, {"login": "x@example.fi", "password": "x"}, HTTP_REFERER=f"http://testserver{path}")

    assert response.status_code == 403
    assert '<html lang="sv">' in response.text
    assert "Formuläret kunde inte skickas" in response.text
    assert "DEBUG" not in response.text
    assert f'<a href="http://testserver{path}">' in response.text
    assert re.search(rf'class="brand"[^>]*>\s*{brand}', response.text)


def test_the_security_token_page_links_back_to_this_site_only(client, db):
    client = Client(enforce_csrf_checks=True)

    response = client.post("/accounts/login/", {}, HTTP_REFERER="https://evil.example/phish")

    assert "evil.example" not in response.text
    assert '<a href="/accounts/login/">' in response.text


# --- giving up on a server that never answers -----------------------------------------------------


def _settings_from(**env) -> dict:
    """DATABASES and CACHES as the settings module computes them from ``env`` (in a new process)."""
    code = "import json, kaikukanta.settings as s; print(json.dumps({'databases': s.DATABASES, 'caches': s.CACHES}))"
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_", "CACHE_"))}
    environment |= {"DEBUG": "false", "SECRET_KEY": "x" * 50, **env}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, env=environment, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def test_postgresql_and_redis_connections_give_up_after_seconds_not_minutes():
    # Found in review: a server that took the connection and never answered held each worker for
    # 60 s, until gunicorn killed it with a 500, and the outage's log line never came.
    values = _settings_from(
        DATABASE_URL="postgres://kk@db.example:5432/kk",
        DATABASE_REPLICA_URL="postgres://kk@replica.example:5432/kk",
        CACHE_URL="redis://cache.example:6379/0",
        STATS_CACHE_URL="redis://cache.example:6380/0?socket_timeout=7",
    )

    assert values["databases"]["default"]["OPTIONS"]["connect_timeout"] == 5
    assert values["databases"]["replica"]["OPTIONS"]["connect_timeout"] == 5
    assert values["caches"]["default"]["OPTIONS"]["socket_connect_timeout"] == 2
    assert values["caches"]["default"]["OPTIONS"]["socket_timeout"] == 2
    assert values["caches"]["stats"]["OPTIONS"]["socket_timeout"] == 7  # as the address says


def test_a_connect_timeout_in_the_database_address_wins():
    values = _settings_from(
        DATABASE_URL="postgres://kk@db.example:5432/kk?connect_timeout=2", DATABASE_CONNECT_TIMEOUT="9"
    )

    assert values["databases"]["default"]["OPTIONS"]["connect_timeout"] == 2
