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
