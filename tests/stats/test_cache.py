"""Computed tables are kept only while the register is unchanged: never an old figure."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
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


def _shown_totals(client) -> str:
    """The national table's totals row as the page shows it (its HTML, not the view's context)."""
    html = client.get("/stats/").text
    section = html[html.index('id="stats-national-annual"') :]
    start = section.index('<tr class="stats-total">')
    return section[start : section.index("</tr>", start)]


def test_a_second_look_reuses_the_rendered_tables(client, card, venue):
    factories.CardUseFactory(card=card, venue=venue)
    first = client.get("/stats/")
    second = client.get("/stats/")
    assert "stats/_table.html" in [t.name for t in first.templates]
    assert "stats/_table.html" not in [t.name for t in second.templates]
    assert second.text.count('class="stats-total"') == first.text.count('class="stats-total"') > 0


def test_a_reused_rendering_is_never_an_old_one(client, card, venue, venue_user):
    from stats import views

    before = _shown_totals(client)
    _record(card, venue, venue_user, "d")
    after = _shown_totals(client)
    views._html_memo.clear()
    assert after != before
    assert after == _shown_totals(client)  # what a fresh rendering shows


def _filters():
    from stats.filters import StatsFilter

    today = timezone.localdate()
    return StatsFilter(start=today.replace(month=1, day=1), end=today)


def test_a_table_being_computed_is_waited_for_not_computed_again(db, monkeypatch):
    from django.core.cache import caches

    from stats import cache as stats_cache

    monkeypatch.setattr(stats_cache, "POLL_SECONDS", 0.01)
    # Another worker holds the claim; its table lands in the cache while this one waits.
    theirs = stats_cache.CachedTable("f", timezone.now(), "the other worker's table")
    answers = iter([None, None, theirs])
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


# --- a busy register: pages show the last table while one recomputation waits in the queue ---


@pytest.fixture
def queued(settings):
    """A task backend that only queues (as the database worker's queue does until it runs)."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    from django.tasks import default_task_backend

    return default_task_backend


def _record(card, venue, venue_user, key):
    data = venue_services.UseData(number=card.number, used_on=timezone.localdate(), category="culture")
    venue_services.card_use_record(venue=venue, actor=venue_user, data=data, idempotency_key=key * 32)


def test_after_a_change_the_page_shows_the_last_table_and_queues_one_update(client, card, venue, venue_user, queued):
    from stats.tasks import stats_table_refresh

    assert _total_uses(client) == 0
    _record(card, venue, venue_user, "a")

    page = client.get("/stats/")
    again = client.get("/stats/")

    assert _total_uses(client) == 0  # the table computed before the use, marked as such
    assert "being updated" in page.text
    assert page.text.count("data-stats-updating") == 2  # both public tables
    refreshes = [r for r in queued.results if r.task.func is stats_table_refresh.func]
    assert len(refreshes) == 2  # one per table, not one per visitor
    assert again.status_code == 200

    for result in refreshes:
        stats_table_refresh.call(*result.args, **result.kwargs)
    page = client.get("/stats/")

    assert _total_uses(client) == 1
    assert "data-stats-updating" not in page.text


def test_a_download_after_a_change_is_as_new_as_the_register(client, card, venue, venue_user, queued):
    client.get("/stats/")
    _record(card, venue, venue_user, "b")

    response = client.get("/stats/national-annual.csv")

    lines = response.content.decode("utf-8-sig").splitlines()
    header = next(line.split(";") for line in lines if line.startswith("Year;"))
    total = next(line.split(";") for line in lines if line.startswith("Total;"))
    assert total[header.index("Total uses")] == "1"


def test_a_table_older_than_the_limit_is_computed_at_once(client, card, venue, venue_user, queued):
    import datetime

    import time_machine

    client.get("/stats/")
    _record(card, venue, venue_user, "c")
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=16)):
        assert _total_uses(client) == 1


def test_a_login_is_no_change_to_the_register(client, distributor):
    from accounts.models import User
    from stats.cache import register_fingerprint

    before, rows = register_fingerprint(), User.history.count()
    client.post(reverse("account_login"), {"login": distributor.email, "password": factories.PASSWORD})

    distributor.refresh_from_db()
    assert distributor.last_login is not None
    assert User.history.count() == rows
    assert register_fingerprint() == before


def test_an_organisation_renamed_is_a_change_to_the_register(site):
    # Every table labels a site with its organisation: a download must not keep the old name.
    from stats.cache import register_fingerprint

    before = register_fingerprint()
    site.organisation.name = "Nokian seurakuntayhtymä"
    site.organisation.save()

    assert register_fingerprint() != before


def test_a_summary_build_is_a_change_to_the_fingerprint(db):
    """A use committed after rows with higher ids leaves every newest id unchanged; the next
    summary build still changes the fingerprint, so cached tables are computed again."""
    from stats.cache import register_fingerprint
    from stats.summary import summary_build

    before = register_fingerprint()
    summary_build()
    assert register_fingerprint() != before


def test_a_refresh_queued_twice_computes_once(client, card, venue, venue_user, queued, monkeypatch):
    """Under load a page can read the old table just before the first refresh stores the new one,
    and queue a second refresh: that one finds the table up to date and computes nothing."""
    from stats import selectors
    from stats.tasks import stats_table_refresh

    client.get("/stats/")
    _record(card, venue, venue_user, "e")
    client.get("/stats/")
    refresh = next(r for r in queued.results if r.task.func is stats_table_refresh.func)
    computed = []
    real = selectors.stats_public_table
    monkeypatch.setattr(selectors, "stats_public_table", lambda **kw: computed.append(kw["slug"]) or real(**kw))

    stats_table_refresh.call(*refresh.args, **refresh.kwargs)
    stats_table_refresh.call(*refresh.args, **refresh.kwargs)

    assert computed == [refresh.kwargs["slug"]]
    assert _total_uses(client) == 1


def test_while_a_refresh_is_queued_other_visitors_do_not_claim_it_again(client, card, venue, venue_user, queued):
    """The page's one cache read says a refresh is already queued (each claim attempt is queries
    on the database cache, for every table of every page view while the worker recomputes)."""
    from django.core.cache import caches

    client.get("/stats/")
    _record(card, venue, venue_user, "f")
    cache, claims = caches["stats"], []
    real_add = cache.add

    def add(key, *args, **kwargs):
        claims.append(key)
        return real_add(key, *args, **kwargs)

    cache.add = add
    try:
        first = client.get("/stats/")
        claimed_by_first = len(claims)
        second = client.get("/stats/")
    finally:
        del cache.add
    assert claimed_by_first == 2  # one refresh per public table
    assert len(claims) == claimed_by_first  # the second visitor tried none
    assert second.text.count("data-stats-updating") == first.text.count("data-stats-updating") == 2
