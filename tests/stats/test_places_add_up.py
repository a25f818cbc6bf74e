"""Cards taken into use, by place: a card is in one place's row, so the column adds up to its
total, and hidden cells must not be worked out from the total and the cells shown.

Found in review on the open national page: two regions with one card each taken into use, the
others 35 and 17, total 54: 54 - 35 - 17 = 2 left both "<5" cells at exactly 1.
"""

import datetime
import itertools

import pytest
import time_machine
from django.utils import timezone

from cards.models import CardUse
from stats.filters import StatsFilter
from stats.selectors import stats_by_municipality, stats_by_region
from stats.tables import COMPLEMENTARY, SUPPRESSED
from tests import factories

pytestmark = pytest.mark.django_db

D = datetime.date
PERIOD = StatsFilter(start=D(2026, 1, 1), end=D(2026, 6, 30))


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(datetime.datetime(2026, 6, 30, 12, tzinfo=datetime.UTC), tick=False):
        yield


def _place(name):
    region = factories.RegionFactory(name=name)
    municipality = factories.MunicipalityFactory(name=f"{name} town", region=region)
    site = factories.SiteFactory(name=f"{name} site", municipality=municipality)
    venue = factories.VenueSiteFactory(name=f"{name} venue", municipality=municipality)
    return site, venue


def _cards(site, venue, *, registered, used, uses_each=1):
    """``registered`` cards at ``site``, the first ``used`` of them used ``uses_each`` times."""
    categories = itertools.cycle(CardUse.Category.values)
    for index in range(registered):
        card = factories.CardFactory(
            site=site, holder__municipality=site.municipality, issued_on=D(2026, 2, 1), valid_from=D(2026, 2, 1)
        )
        if index < used:
            for day in range(uses_each):
                factories.CardUseFactory(card=card, venue=venue, used_on=D(2026, 3, 1 + day), category=next(categories))


def _feasible(column_cells, total, *, complementary_from):
    """Every value each hidden cell may have, given the cells shown and the column's total (the
    cells add up to it): "<5" is 1 to 4, "×" from ``complementary_from`` on (0 is shown)."""
    shown = sum(cell for cell in column_cells if isinstance(cell, int))
    hidden = [cell for cell in column_cells if not isinstance(cell, int)]
    ranges = [range(1, 5) if cell == SUPPRESSED else range(complementary_from, total + 1) for cell in hidden]
    possible = [set() for _cell in hidden]
    for values in itertools.product(*ranges):
        if shown + sum(values) == total:
            for index, value in enumerate(values):
                possible[index].add(value)
    return list(zip(hidden, possible, strict=True))


def _assert_no_hidden_cell_is_known(table, key):
    cells = [row[key] for row in table.rows]
    total = table.total[key]
    assert any(cell in (SUPPRESSED, COMPLEMENTARY) for cell in cells), "the case needs a hidden cell"
    if not isinstance(total, int):
        return  # the total hidden too: nothing to subtract from
    # "×" says nothing of a cell's size: no hidden cell may be known from the sum alone.
    for mark, possible in _feasible(cells, total, complementary_from=1):
        assert len(possible) > 1, f"a {mark} of {key} is known to be {possible}: {cells}, total {total}"
    # A reader who takes "×" for 5 or more (docs/rules.md: two marks must not tell more than one
    # did) must not pin a "<5" down either.
    for mark, possible in _feasible(cells, total, complementary_from=5):
        if mark == SUPPRESSED and possible:
            assert len(possible) > 1, f"a <5 of {key} is known to be {possible}: {cells}, total {total}"


def test_two_small_regions_cannot_be_worked_out_from_the_total(db):
    for name, registered, used in (("Kainuu", 5, 1), ("Lappi", 5, 1), ("Pirkanmaa", 35, 35), ("Uusimaa", 17, 17)):
        site, venue = _place(name)
        # Three uses of the one card: the uses columns do not hide the region by themselves.
        _cards(site, venue, registered=registered, used=used, uses_each=3 if used == 1 else 1)

    table = stats_by_region(scope=None, filters=PERIOD)

    _assert_no_hidden_cell_is_known(table, "cards_used")
    assert table.total["cards_used"] == 54  # the headline figure is what the register holds


def test_a_small_region_beside_a_complementary_one_cannot_be_worked_out(db):
    # Kainuu 5 taken into use ("×", hidden as it would give Lappi's 1 away), Lappi 1: Kainuu +
    # Lappi = 6, and a reader taking "×" for 5 or more finds Lappi's 1 unless more is hidden.
    for name, registered, used in (("Kainuu", 5, 5), ("Lappi", 5, 1), ("Pirkanmaa", 35, 35), ("Uusimaa", 17, 17)):
        site, venue = _place(name)
        _cards(site, venue, registered=registered, used=used, uses_each=3 if used == 1 else 1)

    _assert_no_hidden_cell_is_known(stats_by_region(scope=None, filters=PERIOD), "cards_used")


def test_municipalities_too(db):
    for name, registered, used in (("Kainuu", 5, 1), ("Lappi", 5, 1), ("Pirkanmaa", 35, 35), ("Uusimaa", 17, 17)):
        site, venue = _place(name)
        _cards(site, venue, registered=registered, used=used, uses_each=3 if used == 1 else 1)

    _assert_no_hidden_cell_is_known(stats_by_municipality(scope=None, filters=PERIOD), "cards_used")
    assert timezone.localdate() == D(2026, 6, 30)
