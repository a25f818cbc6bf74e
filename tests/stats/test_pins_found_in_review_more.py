"""More small counts that published tables gave away, found in review (2026-11-30).

The last one is a known gap (README, "Known gaps"): marked to fail, so that a fix shows.
"""

import pytest
from django.utils import timezone

from cards.access import StatsLevel, StatsScope
from cards.models import Card, Holder
from stats.selectors import stats_age_gender, stats_card_kinds
from stats.suppression import table_suppress
from stats.tables import SUPPRESSED, Column, Suppressed, Table
from tests import factories
from tests.stats.test_lines_together import GENDERS, KINDS, PERIOD, _assert_small_counts_not_pinned, _cards, _today  # noqa: F401
from tests.stats.test_pins_found_in_review import towns_and_sites


def _table(data, parts):
    columns = [Column("label", "Label", numeric=False)]
    columns += [Column(key, key, personal=True) for key in [*parts, "total"]]
    rows = [
        {"label": f"r{i}"} | dict(zip(parts, values, strict=True)) | {"total": sum(values)}
        for i, values in enumerate(data)
    ]
    total = {"label": "Total"} | {key: sum(row[key] for row in rows) for key in [*parts, "total"]}
    return Table(slug="t", title="T", columns=columns, rows=rows, total=total)


def test_two_rows_of_one_part_pin_a_small_count_pure():
    # r0: a 6, c 2 (the small count); r1: b 7 only; r2: c 8 only. Published:
    #   ×  0 <5 | 8
    #   0  7  0 | 7
    #   0  0  × | 8
    #   6  7 10 | 23
    # r2's "×" is its row's 8; column c: 10 - 8 = 2 (and column a: r0's "×" is 6, 8 - 6 = 2).
    parts = ["a", "b", "c"]
    table = table_suppress(_table([[6, 0, 2], [0, 7, 0], [0, 0, 8]], parts), row_totals={"total": tuple(parts)})
    _assert_small_counts_not_pinned(table, {("r0", "c")}, parts, "total")


@pytest.mark.django_db
@pytest.mark.usefixtures("_today")
def test_age_and_gender_two_rows_of_one_gender_give_a_small_count_away():
    site = factories.SiteFactory(municipality=factories.MunicipalityFactory(region=factories.RegionFactory()))
    F, M, OTHER = Holder.Gender.FEMALE, Holder.Gender.MALE, Holder.Gender.OTHER
    _cards(site, 6, birth_year=2000, gender=F)  # 16–29: 6 women ...
    _cards(site, 2, birth_year=2000, gender=OTHER)  # ... and 2 "other": the small count
    _cards(site, 7, birth_year=1990, gender=M)  # 30–44: 7 men only
    _cards(site, 8, birth_year=1970, gender=OTHER)  # 45–64: 8 "other" only

    table = stats_age_gender(scope=None, filters=PERIOD)

    assert table.total["total"] == 23
    _assert_small_counts_not_pinned(table, {("16–29", "other")}, GENDERS, "total")


# 2. A hidden row total is at least its shown OmaKaiku (``differences``) -----------------------


def _everyone_in_omakaiku(site):
    for card in Card.objects.filter(site=site):
        card.holder.account = factories.HolderUserFactory(activated_at=timezone.now())
        card.holder.save()


@pytest.mark.django_db
@pytest.mark.usefixtures("_today")
def test_card_kinds_hidden_valid_cards_are_bounded_by_their_shown_omakaiku():
    # Site A: 6 physical and 3 X cards (the small count); Site B: 8 X cards; every holder in
    # OmaKaiku. Published: A  ×  0 <5  0 | ×  9;  B  0  0  ×  0 | ×  8;  total 6 0 11 0 | 17 17.
    # Each site's valid cards are at least its OmaKaiku (9, 8) and add up to 17 = 9 + 8: so A has
    # 9 valid cards, 6 of them physical (the column's only other cell), and 3 X cards.
    region = factories.RegionFactory()
    town = factories.MunicipalityFactory(region=region)
    a = factories.SiteFactory(name="Site A", municipality=town)
    b = factories.SiteFactory(name="Site B", municipality=town)
    _cards(a, 6)
    _cards(a, 3, Card.Kind.X)
    _cards(b, 8, Card.Kind.X)
    _everyone_in_omakaiku(a)
    _everyone_in_omakaiku(b)

    table = stats_card_kinds(scope=StatsScope(StatsLevel.REGION, region.pk), filters=PERIOD)

    row_a = next(row for row in table.rows if row["label"].startswith("Site A"))
    assert row_a["x"] == SUPPRESSED
    small = {(row_a["label"], "x")}
    _assert_small_counts_not_pinned(table, small, KINDS, "total", differences={"omakaiku": "total"})


def test_hidden_row_total_bounded_by_its_part_pure():
    # The same with table_suppress alone (rows: physical, x | total, omakaiku).
    columns = [Column("label", "Label", numeric=False)]
    columns += [Column(key, key, personal=True) for key in [*KINDS, "total", "omakaiku"]]
    data = [("A", 6, 3, 9), ("B", 0, 8, 8)]
    rows = [
        {"label": label, "physical": p, "physical_mobile": 0, "x": x, "z": 0, "total": p + x, "omakaiku": o}
        for label, p, x, o in data
    ]
    total = {"label": "Total"} | {key: sum(r[key] for r in rows) for key in [*KINDS, "total", "omakaiku"]}
    table = table_suppress(
        Table(slug="k", title="K", columns=columns, rows=rows, total=total),
        row_totals={"total": tuple(KINDS)},
        differences={"omakaiku": "total"},
    )
    _assert_small_counts_not_pinned(table, {("A", "x")}, KINDS, "total", differences={"omakaiku": "total"})


# 3. A municipality's hidden figure is at least its number of hidden (non-zero) sites ----------


@pytest.mark.xfail(
    strict=True,
    reason="known gap: a municipality's table is published before its sites' and does not read them (README)",
)
@pytest.mark.django_db
@pytest.mark.usefixtures("_today")
def test_coordinator_by_municipality_and_its_sites_count_give_a_small_municipality_away():
    by_town, by_site, towns_shown, sites_shown = towns_and_sites({"A": [1, 1], "B": [7], "C": [1]})
    # Published: Town A <5, Town B 7, Town C <5, total 10: A + C = 3, each 1 or 2. The sites' table
    # shows A0 and A1 hidden (so each at least 1): A is at least 2, so A = 2 and C = 1 (one card).
    total = by_town.total["cards_registered"]
    shown = sum(v for v in towns_shown.values() if isinstance(v, int))
    hidden_towns = [t for t, v in towns_shown.items() if isinstance(v, Suppressed)]
    # Each hidden town is at least the number of its sites shown hidden (a 0 would be shown).
    least = {
        t: sum(1 for k, v in sites_shown.items() if k[0] == t[-1] and isinstance(v, Suppressed)) for t in hidden_towns
    }
    least = {t: max(n, 1) for t, n in least.items()}
    left = total - shown
    for town in hidden_towns:
        others_least = sum(n for t, n in least.items() if t != town)
        high = left - others_least
        assert high > least[town], f"{town} is known to be {least[town]}: towns {towns_shown}, sites {sites_shown}"
