"""Long lists page by position in the list (keyset), newest first, without counting every row."""

import base64
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts import paging
from cards.models import Card
from tests import factories


def _numbers(html: str) -> list[str]:
    return re.findall(r'href="/cards/\d+/">([A-Z0-9]+)</a>', html)


def _link(html: str, rel: str) -> str | None:
    match = re.search(rf'<a href="([^"]+)" rel="{rel}">', html)
    return reverse("cards:list") + match.group(1).replace("&amp;", "&") if match else None


@pytest.fixture
def sixty_cards(site):
    # Twenty share one timestamp, as rows loaded in one go do: the id settles their order.
    moment = timezone.now()
    with time_machine.travel(moment, tick=False):
        factories.CardFactory.create_batch(20, site=site)
    factories.CardFactory.create_batch(40, site=site)
    return list(Card.objects.filter(site=site).order_by("-created_at", "-pk").values_list("number", flat=True))


def test_walking_the_card_list_shows_every_card_once_newest_first(distributor_client, sixty_cards):
    seen, url = [], reverse("cards:list")
    while url:
        html = distributor_client.get(url).text
        seen += _numbers(html)
        url = _link(html, "next")

    assert seen == sixty_cards


def test_the_newer_link_leads_back_to_the_same_page(distributor_client, sixty_cards):
    first = distributor_client.get(reverse("cards:list")).text
    second = distributor_client.get(_link(first, "next")).text
    third = distributor_client.get(_link(second, "next")).text
    back = distributor_client.get(_link(third, "prev")).text

    assert _numbers(back) == _numbers(second) == sixty_cards[25:50]
    assert _numbers(third) == sixty_cards[50:]
    assert _link(third, "next") is None
    assert _link(first, "prev") is None


def test_filters_stay_on_the_next_page(distributor_client, site, sixty_cards):
    factories.CardFactory.create_batch(30, site=site, mobile_enabled=True)

    first = distributor_client.get(reverse("cards:list"), {"mobile": "true"}).text
    second = distributor_client.get(_link(first, "next")).text

    assert "mobile=true" in _link(first, "next")
    assert len(_numbers(first)) == 25
    assert len(_numbers(second)) == 5
    assert set(_numbers(first) + _numbers(second)).isdisjoint(sixty_cards)


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "nonsense",
        "%00",
        "MjAyNi0xMS0yOHxhYmM",
        "²",
        "A" * 500,
        # Times that are dates no database holds, once in UTC or a day either side.
        _cursor("0001-01-01T00:00:00+14:00|1"),
        _cursor("9999-12-31T23:59:59-14:00|1"),
        _cursor("0001-01-01T12:00:00+00:00|1"),
        _cursor("9999-12-31T12:00:00+00:00|1"),
    ],
)
@pytest.mark.parametrize("direction", ["after", "before"])
def test_a_cursor_that_does_not_parse_shows_the_first_page(distributor_client, sixty_cards, cursor, direction):
    response = distributor_client.get(reverse("cards:list"), {direction: cursor})

    assert response.status_code == 200
    assert _numbers(response.text) == sixty_cards[:25]


def test_the_count_stops_at_the_limit(distributor_client, sixty_cards, monkeypatch):
    html = distributor_client.get(reverse("cards:list")).text
    assert "60 in all" in html

    monkeypatch.setattr(paging, "COUNT_LIMIT", 50)
    html = distributor_client.get(reverse("cards:list")).text
    assert "More than 50 in all" in html
    assert "60 in all" not in html


def test_a_deep_page_costs_the_same_queries_as_the_first(distributor_client, sixty_cards, django_assert_num_queries):
    first = distributor_client.get(reverse("cards:list")).text
    with django_assert_num_queries(7) as on_first:
        distributor_client.get(reverse("cards:list"))
    with django_assert_num_queries(len(on_first.captured_queries)):
        distributor_client.get(_link(first, "next"))
