"""A query compiled once gives what its QuerySet gives, for every value, and refuses to guess."""

import datetime
import threading

import pytest
from django.db import connection
from django.utils import timezone

from accounts.compiled import CompiledQuery, CompiledQueryMismatch
from cards.models import Card, CardUse

from .. import factories
from ..concurrency import thread_connections_close

_card = CompiledQuery(
    lambda pk: Card.objects.select_related("holder__municipality", "site__organisation").filter(pk=pk).order_by()[:1],
    pk=int,
)
_uses = CompiledQuery(
    lambda venue_id, since: (
        CardUse.objects.filter(venue_id=venue_id, created_at__gte=since)
        .select_related("card")
        .order_by("-created_at", "-pk")
    ),
    venue_id=int,
    since=datetime.datetime,
)
_by_number = CompiledQuery(lambda number: Card.objects.filter(number=number).order_by()[:1], number=str)


def _fields(obj) -> dict:
    return {key: value for key, value in vars(obj).items() if key != "_state"}


@pytest.fixture
def cards(site, other_site):
    return [factories.CardFactory(site=site), factories.CardFactory(site=other_site), factories.CardFactory(site=site)]


def test_each_call_gets_its_own_rows_with_their_related_objects(cards, django_assert_num_queries):
    for card in [*cards, cards[0]]:
        with django_assert_num_queries(1):
            found = _card.first(pk=card.pk)
            # The related objects came with it: reading them costs no query.
            assert found.holder.municipality.name == card.holder.municipality.name
            assert found.site.organisation.name == card.site.organisation.name
        expected = Card.objects.select_related("holder__municipality", "site__organisation").get(pk=card.pk)
        assert _fields(found) == _fields(expected)
        assert _fields(found.holder) == _fields(expected.holder)
    assert _card.first(pk=cards[-1].pk + 1000) is None
    assert _by_number.first(number=cards[1].number) == cards[1]
    assert _by_number.first(number="Z9999999") is None


def test_the_sql_is_kept_where_the_database_takes_the_values_as_they_are(cards):
    _card.first(pk=cards[0].pk)
    _by_number.first(number=cards[0].number)
    assert _card._compiled[connection.alias] is not None
    assert _by_number._compiled[connection.alias] is not None


def test_dates_and_times_as_arguments(venue):
    card = factories.CardFactory()
    old, new = (factories.CardUseFactory(venue=venue, card=card) for _ in range(2))
    CardUse.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(hours=2))
    since = timezone.now() - datetime.timedelta(hours=1)
    assert _uses.all(venue_id=venue.pk, since=since) == [new]
    assert _uses.all(venue_id=venue.pk, since=since - datetime.timedelta(hours=2)) == [new, old]
    assert _uses.all(venue_id=venue.pk + 1000, since=since) == []


@pytest.mark.parametrize("pk", [2**63, 10**20, -(2**63) - 1])
def test_a_number_no_column_can_hold_finds_nothing_as_the_queryset_would(cards, pk):
    """Django answers it without the database, which would refuse it (a 500 for /cards/10^20/)."""
    _card.first(pk=cards[0].pk)
    assert _card.first(pk=pk) is None
    assert _card.first(pk=2**63 - 1) is None  # the largest a column holds goes to the database


def test_a_value_of_another_type_runs_the_queryset_as_it_is(cards):
    assert _card.first(pk=str(cards[0].pk)) == cards[0]
    assert _by_number.first(number=None) is None  # IS NULL: another statement


def test_a_build_that_reads_more_than_its_arguments_fails_loudly(cards, settings):
    settings.COMPILED_QUERIES_CHECK = True
    site_of = {"id": cards[0].site_id}
    query = CompiledQuery(lambda pk: Card.objects.filter(pk=pk, site_id=site_of["id"]).order_by(), pk=int)
    assert query.all(pk=cards[0].pk) == [cards[0]]
    site_of["id"] = cards[1].site_id
    with pytest.raises(CompiledQueryMismatch, match="reads something besides its arguments"):
        query.all(pk=cards[1].pk)


def test_without_the_check_such_a_build_would_answer_from_the_kept_sql(cards, settings):
    """Why the check is on in development and tests: the kept SQL does not see the change."""
    settings.COMPILED_QUERIES_CHECK = False
    site_of = {"id": cards[0].site_id}
    query = CompiledQuery(lambda pk: Card.objects.filter(pk=pk, site_id=site_of["id"]).order_by(), pk=int)
    query.all(pk=cards[0].pk)
    site_of["id"] = cards[1].site_id
    assert query.all(pk=cards[1].pk) == []


@pytest.mark.parametrize(
    "build",
    [
        lambda number: Card.objects.filter(number__contains=number),  # wrapped in %…%: not the value itself
        lambda number: Card.objects.filter(number__startswith=number[:3]),
        lambda number: Card.objects.filter(number=number.upper()),
    ],
)
def test_a_query_whose_arguments_do_not_reach_the_sql_as_they_are_is_never_kept(cards, build):
    query = CompiledQuery(build, number=str)
    query.all(number=cards[0].number)
    assert query._compiled[connection.alias] is None
    assert query.all(number=cards[1].number) == list(build(cards[1].number))


def test_a_query_django_answers_without_sql_is_never_kept(cards):
    query = CompiledQuery(lambda pk: Card.objects.filter(pk=pk).none(), pk=int)
    assert query.all(pk=cards[0].pk) == []
    assert query._compiled[connection.alias] is None


def test_only_the_probed_types(cards):
    with pytest.raises(TypeError):
        CompiledQuery(lambda pk: Card.objects.filter(pk=pk), pk=float)


@pytest.mark.django_db(transaction=True)
def test_another_thread_uses_its_own_connection():
    cards = [factories.CardFactory() for _ in range(2)]
    assert _card.first(pk=cards[0].pk) == cards[0]
    found, failures = [], []

    def look_up():
        try:
            found.append(_card.first(pk=cards[1].pk))
        except Exception as error:  # noqa: BLE001 (reported below)
            failures.append(error)
        finally:
            thread_connections_close()

    thread = threading.Thread(target=look_up)
    thread.start()
    thread.join()
    assert failures == []
    assert found == [cards[1]]


def test_big_integer_columns_and_times_are_kept_on_postgresql(cards):
    """PostgreSQL's backend binds a big integer column's value in its own type (Int8)."""
    records = CompiledQuery(lambda card_id: Card.history.filter(id=card_id).order_by("-history_id"), card_id=int)
    assert [record.number for record in records.all(card_id=cards[1].pk)] == [cards[1].number]
    assert [record.number for record in records.all(card_id=cards[2].pk)] == [cards[2].number]
    assert records._compiled[connection.alias] is not None
    since = timezone.now() - datetime.timedelta(hours=1)
    _uses.all(venue_id=cards[0].site_id, since=since)
    # SQLite is given times as text, so there the query is compiled each time, as any other.
    assert (_uses._compiled[connection.alias] is not None) == (connection.vendor == "postgresql")
