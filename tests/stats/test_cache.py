"""Computed tables are kept only while the register is unchanged: never an old figure."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cards import services
from tests import factories
from venues import services as venue_services


def _total_uses(client) -> str:
    response = client.get("/stats/")
    table = next(t for t in response.context["tables"] if t["table"].slug == "national-annual")
    return table["table"].total["total_uses"]


@pytest.fixture
def card(site, municipality):
    return factories.CardFactory(site=site, holder__municipality=municipality, holder__children_count=0)


def test_a_second_look_is_not_recomputed(client, card, venue):
    factories.CardUseFactory(card=card, venue=venue)
    with CaptureQueriesContext(connection) as first:
        client.get("/stats/")
    with CaptureQueriesContext(connection) as second:
        client.get("/stats/")
    assert len(second) < len(first)


def test_a_use_recorded_cancelled_or_imported_shows_at_once(client, card, venue, venue_user):
    assert _total_uses(client) == 0
    data = venue_services.UseData(number=card.number, used_on=timezone.localdate(), category="culture")
    use, _created = venue_services.card_use_record(venue=venue, actor=venue_user, data=data, idempotency_key="a" * 32)
    assert _total_uses(client) == 1

    venue_services.card_use_cancel(use=use, actor=venue_user, reason="mistake")
    assert _total_uses(client) == 0

    content = (
        "card_number,date,category,child_tickets,assistant_tickets,clients_under_16\n"
        f"{card.number},{timezone.localdate().isoformat()},sports,0,0,0\n"
    )
    venue_services.card_uses_import(venue=venue, actor=venue_user, content=content.encode())
    assert _total_uses(client) == 1


def test_a_card_change_shows_at_once(client, distributor, site, customer_data):
    def registered():
        response = client.get("/stats/")
        table = next(t for t in response.context["tables"] if t["table"].slug == "national-annual")
        return table["table"].total["cards_registered"]

    before = registered()
    for number in ["A1000001", "A1000002", "A1000003", "A1000004", "A1000005"]:
        services.card_register(site=site, actor=distributor, number=number, holder_data=customer_data)
    assert before != registered()


def _filters():
    from stats.filters import StatsFilter

    today = timezone.localdate()
    return StatsFilter(start=today.replace(month=1, day=1), end=today)


def test_a_table_being_computed_is_waited_for_not_computed_again(db, monkeypatch):
    from django.core.cache import caches

    from stats import cache as stats_cache

    monkeypatch.setattr(stats_cache, "POLL_SECONDS", 0.01)
    # Another worker holds the claim; its table lands in the cache while this one waits.
    answers = iter([None, None, "the other worker's table"])
    monkeypatch.setattr(caches["stats"], "get", lambda key, default=None: next(answers))
    monkeypatch.setattr(caches["stats"], "add", lambda *args, **kwargs: False)
    computed = []

    table = stats_cache.table_cached(
        fingerprint="f", scope=None, filters=_filters(), slug="x", compute=lambda: computed.append(1) or "mine"
    )

    assert table == "the other worker's table"
    assert computed == []


def test_a_claim_that_is_never_finished_is_not_waited_for_for_ever(db, monkeypatch):
    from django.core.cache import caches

    from stats import cache as stats_cache

    monkeypatch.setattr(stats_cache, "WAIT_SECONDS", 0.05)
    monkeypatch.setattr(stats_cache, "POLL_SECONDS", 0.01)
    monkeypatch.setattr(caches["stats"], "add", lambda *args, **kwargs: False)

    table = stats_cache.table_cached(
        fingerprint="f", scope=None, filters=_filters(), slug="y", compute=lambda: "computed"
    )

    assert table == "computed"


def test_the_claim_is_released_after_computing(db, monkeypatch):
    from django.core.cache import caches

    from stats import cache as stats_cache

    cache, stored = caches["stats"], []
    real_set = cache.set
    monkeypatch.setattr(cache, "set", lambda key, *args, **kwargs: stored.append(key) or real_set(key, *args, **kwargs))
    stats_cache.table_cached(fingerprint="f", scope=None, filters=_filters(), slug="z", compute=lambda: "first")
    cache.delete(stored[0])  # the table is gone (evicted); its claim must be too

    def no_waiting(seconds):
        raise AssertionError("waited for a claim nobody holds")

    monkeypatch.setattr(stats_cache.time, "sleep", no_waiting)
    table = stats_cache.table_cached(fingerprint="f", scope=None, filters=_filters(), slug="z", compute=lambda: "again")

    assert table == "again"
