"""The read replica: which reads go to it, and that whoever just wrote reads the primary.

The settings are computed at import without ``DATABASE_REPLICA_URL``, so these tests add the
``replica`` alias themselves: it is the test database's own connection (the same data, the same
transaction), and what the tests look at is which alias the router chose for each read.
"""

import datetime
import json
import os
import subprocess
import sys

import pytest
import time_machine
from django.conf import settings as django_settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.core.exceptions import MiddlewareNotUsed
from django.db import DEFAULT_DB_ALIAS, connections, router
from django.http import HttpResponse, HttpResponseServerError
from django.urls import reverse
from django.utils import timezone

from accounts.models import Municipality, Region
from cards.models import CardUse
from kaikukanta.db_router import (
    PIN_SESSION_KEY,
    REPLICA,
    ReplicaReadsMiddleware,
    ReplicaRouter,
    replica_reads,
)
from tests import factories

pytestmark = pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")

ROUTERS = ["kaikukanta.db_router.ReplicaRouter"]


@pytest.fixture
def routed(settings):
    """The router installed, as ``DATABASE_REPLICA_URL`` does, but no replica alias yet."""
    settings.DATABASE_ROUTERS = ROUTERS
    settings.DATABASES = {alias: value for alias, value in settings.DATABASES.items() if alias != REPLICA}
    return settings


@pytest.fixture
def replica(routed, db):
    """A ``replica`` alias that is the test database's own connection."""
    routed.DATABASES = {
        **routed.DATABASES,
        REPLICA: {**routed.DATABASES[DEFAULT_DB_ALIAS], "TEST": {"MIRROR": "default"}},
    }
    connections[REPLICA] = connections[DEFAULT_DB_ALIAS]
    yield
    del connections[REPLICA]


@pytest.fixture
def reads(monkeypatch):
    """Where the router sent each read, as (model label, alias)."""
    seen = []
    choose = ReplicaRouter.db_for_read

    def recording(self, model, **hints):
        alias = choose(self, model, **hints)
        seen.append((model._meta.label, alias))
        return alias

    monkeypatch.setattr(ReplicaRouter, "db_for_read", recording)
    return seen


def card_reads(reads) -> set[str]:
    """The aliases the register's own tables (cards, uses, periods) were read from."""
    return {alias for label, alias in reads if label.startswith("cards.")}


# --- the router --------------------------------------------------------------------------


def test_without_a_replica_everything_reads_the_primary(routed, region):
    with replica_reads():
        assert Region.objects.all().db == DEFAULT_DB_ALIAS
        assert Region.objects.get(pk=region.pk)._state.db == DEFAULT_DB_ALIAS
    with pytest.raises(MiddlewareNotUsed):
        ReplicaReadsMiddleware(lambda request: HttpResponse())


def test_replica_reads_only_inside_a_replica_block(replica, region):
    assert Region.objects.get(pk=region.pk)._state.db == DEFAULT_DB_ALIAS

    with replica_reads():
        assert Region.objects.get(pk=region.pk)._state.db == REPLICA
        assert CardUse.objects.all().db == REPLICA

    assert Region.objects.get(pk=region.pk)._state.db == DEFAULT_DB_ALIAS


def test_writes_go_to_the_primary(replica, db):
    with replica_reads():
        region = Region.objects.create(name="Lappi")

    assert region._state.db == DEFAULT_DB_ALIAS
    assert Region.objects.filter(name="Lappi").exists()


def test_a_read_after_a_write_in_the_same_request_reads_the_primary(replica, region):
    with replica_reads():
        assert Region.objects.all().db == REPLICA
        municipality = Municipality.objects.create(name="Nokia", region=region)

        # It must see the row just written, which the replica may not have yet.
        found = Municipality.objects.get(pk=municipality.pk)
        assert found._state.db == DEFAULT_DB_ALIAS
        assert Region.objects.all().db == DEFAULT_DB_ALIAS


def test_the_cache_table_stays_on_the_primary_and_its_writes_change_nothing(replica, db):
    entry = DatabaseCache("kaikukanta_stats_cache", {}).cache_model_class

    with replica_reads():
        assert router.db_for_read(entry) == DEFAULT_DB_ALIAS
        # Storing a computed table is no write the page reads back: its other figures stay on the replica.
        assert router.db_for_write(entry) == DEFAULT_DB_ALIAS
        assert router.db_for_read(CardUse) == REPLICA


def test_objects_from_the_replica_and_the_primary_may_be_related(replica, municipality):
    other = factories.RegionFactory(name="Uusimaa")
    with replica_reads():
        from_replica = Region.objects.get(pk=other.pk)
    assert from_replica._state.db == REPLICA

    municipality.region = from_replica
    municipality.save()

    assert Municipality.objects.get(pk=municipality.pk).region == other


def test_migrations_run_on_the_primary_only():
    assert ReplicaRouter().allow_migrate(DEFAULT_DB_ALIAS, "cards")
    assert not ReplicaRouter().allow_migrate(REPLICA, "cards")


# --- the middleware ----------------------------------------------------------------------


def _call(request, status=200, write=False) -> str:
    """Run ``request`` through the middleware; the alias a read of uses got inside the view."""
    seen = {}

    def view(request):
        if write:
            factories.RegionFactory()
        seen["alias"] = router.db_for_read(CardUse)
        return HttpResponse(status=status) if status < 500 else HttpResponseServerError()

    ReplicaReadsMiddleware(view)(request)
    return seen["alias"]


def _request(rf, method, path, *, session=None, user=None):
    request = rf.generic(method, path)
    request.session = session if session is not None else SessionStore()
    request.user = user or AnonymousUser()
    return request


@pytest.mark.parametrize(
    ("method", "path", "alias"),
    [
        ("GET", "/stats/", REPLICA),
        ("GET", "/stats/dashboard/", REPLICA),
        ("HEAD", "/stats/national-annual.csv", REPLICA),
        ("POST", "/stats/", DEFAULT_DB_ALIAS),
        ("GET", "/cards/", DEFAULT_DB_ALIAS),
        ("GET", "/venue/uses/", DEFAULT_DB_ALIAS),
        ("GET", "/statsx/", DEFAULT_DB_ALIAS),
    ],
)
def test_only_safe_statistics_requests_read_the_replica(replica, rf, method, path, alias):
    assert _call(_request(rf, method, path)) == alias


def test_a_session_that_posted_reads_the_primary_for_the_pin_window(replica, rf, distributor, settings):
    session = SessionStore()
    _call(_request(rf, "POST", "/cards/1/renew/", session=session, user=distributor), status=302)

    assert _call(_request(rf, "GET", "/stats/", session=session, user=distributor)) == DEFAULT_DB_ALIAS
    # Another person is not pinned by it.
    assert _call(_request(rf, "GET", "/stats/")) == REPLICA

    later = timezone.now() + datetime.timedelta(seconds=settings.DATABASE_REPLICA_PIN_SECONDS + 1)
    with time_machine.travel(later, tick=False):
        assert _call(_request(rf, "GET", "/stats/", session=session, user=distributor)) == REPLICA


def test_the_pin_window_is_configurable(replica, rf, distributor, settings):
    settings.DATABASE_REPLICA_PIN_SECONDS = 60
    session = SessionStore()
    _call(_request(rf, "POST", "/cards/1/renew/", session=session, user=distributor), status=302)

    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=30), tick=False):
        assert _call(_request(rf, "GET", "/stats/", session=session, user=distributor)) == DEFAULT_DB_ALIAS
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=61), tick=False):
        assert _call(_request(rf, "GET", "/stats/", session=session, user=distributor)) == REPLICA


def test_a_get_that_wrote_pins_the_session_too(replica, rf, distributor):
    session = SessionStore()
    _call(_request(rf, "GET", "/cards/", session=session, user=distributor), write=True)

    assert _call(_request(rf, "GET", "/stats/", session=session, user=distributor)) == DEFAULT_DB_ALIAS


def test_a_failed_post_does_not_pin(replica, rf, distributor):
    # A request that ended in a server error was rolled back: nothing to wait for.
    session = SessionStore()
    _call(_request(rf, "POST", "/cards/1/renew/", session=session, user=distributor), status=500)

    assert PIN_SESSION_KEY not in session
    assert _call(_request(rf, "GET", "/stats/", session=session, user=distributor)) == REPLICA


def test_a_visitor_without_a_session_gets_none(replica, rf):
    session = SessionStore()
    _call(_request(rf, "POST", "/i18n/setlang/", session=session), status=302)

    assert session.session_key is None
    assert not session.modified


# --- through the whole stack -------------------------------------------------------------


def _stats(client, path, reads):
    """GET a statistics page with an empty statistics cache, so its figures are read again."""
    caches["stats"].clear()
    reads.clear()
    response = client.get(path)
    assert response.status_code == 200
    return card_reads(reads)


def test_public_statistics_read_the_replica(replica, reads, client, site):
    factories.CardFactory(site=site)

    assert _stats(client, reverse("stats:public"), reads) == {REPLICA}
    assert _stats(client, reverse("stats:public_download", args=["national-annual", "csv"]), reads) == {REPLICA}


def test_a_venue_that_records_a_use_sees_it_counted_from_the_primary(replica, reads, client, venue_user, venue, site):
    card = factories.CardFactory(site=site, issued_on=timezone.localdate() - datetime.timedelta(days=30))
    client.force_login(venue_user)
    dashboard = reverse("stats:dashboard") + f"?scope=venue-{venue.pk}"
    assert _stats(client, dashboard, reads) == {REPLICA}

    desk = client.get(reverse("venues:desk"), {"number": card.number})
    recorded = client.post(
        reverse("venues:record"),
        {
            "venue": venue.pk,
            "number": card.number,
            "token": desk.context["form"].initial["token"],
            "used_on": timezone.localdate().isoformat(),
            "category": "culture",
            "child_tickets": "0",
            "assistant_tickets": "0",
        },
    )
    assert recorded.status_code == 302
    assert CardUse.objects.filter(card=card, venue=venue).exists()

    # The replica may not have the use yet: the figures the venue looks at next come from the primary.
    assert _stats(client, dashboard, reads) == {DEFAULT_DB_ALIAS}

    later = timezone.now() + datetime.timedelta(seconds=django_settings.DATABASE_REPLICA_PIN_SECONDS + 1)
    with time_machine.travel(later):
        assert _stats(client, dashboard, reads) == {REPLICA}


# --- the settings --------------------------------------------------------------------------


def _database_settings(**env) -> dict:
    """DATABASES, DATABASE_ROUTERS and MIDDLEWARE as the settings module computes them from ``env``."""
    code = (
        "import json, kaikukanta.settings as s; print(json.dumps({'databases': s.DATABASES, "
        "'routers': getattr(s, 'DATABASE_ROUTERS', []), 'middleware': s.MIDDLEWARE}, default=str))"
    )
    environment = {key: value for key, value in os.environ.items() if not key.startswith("DATABASE_")}
    environment |= {"DEBUG": "false", "SECRET_KEY": "x" * 50, "DATABASE_URL": "postgres://kk@db.example:5432/kk", **env}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=django_settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_without_a_replica_url_there_is_one_database_and_no_router():
    values = _database_settings()

    assert list(values["databases"]) == ["default"]
    assert values["routers"] == []


def test_a_replica_url_adds_the_replica_and_the_router():
    values = _database_settings(DATABASE_REPLICA_URL="postgres://reader@replica.example:5432/kk", CONN_MAX_AGE="30")

    replica = values["databases"]["replica"]
    assert (replica["HOST"], replica["USER"], replica["NAME"]) == ("replica.example", "reader", "kk")
    assert replica["ENGINE"] == values["databases"]["default"]["ENGINE"]
    assert (replica["CONN_MAX_AGE"], replica["CONN_HEALTH_CHECKS"]) == (30, True)
    assert replica["TEST"] == {"MIRROR": "default"}
    # No transaction per request on the replica (it would connect to it on every request).
    assert not replica.get("ATOMIC_REQUESTS")
    assert values["routers"] == ROUTERS
    middleware = values["middleware"]
    assert middleware.index("kaikukanta.db_router.ReplicaReadsMiddleware") > middleware.index(
        "accounts.middleware.AccountRulesMiddleware"
    )
