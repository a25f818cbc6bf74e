"""Every statistics figure on a small hand-made register with known answers.

The register (today is 30.6.2026; the filter is 1.1.–30.6.2026):

Regions East (nothing), North (municipalities N1, N2) and South (S1). Distributor sites DN (N1)
and DS (S1); venues VN (N2) and VS (S1).

Cards of DN: c1 (h1, physical + mobile, holder has activated OmaKaiku) 5.1.; c2 (h2) 15.1.,
inactivated 10.2.; c3 (h2 again) 10.2.; c4 (h3, X) 20.2.; c5 (h4) 1.3.; c6 (h5, lives in South)
15.3.; c7 (organisation, Z) 1.4.; c8–c12 (h10–h14) 4.5.; cR (h7) registered 10.3.2025 and
renewed 10.3.2026. Cards of DS: s1 (h8) 1.2.; s2 (h9) 1.5.
"""

import datetime

import pytest
import time_machine
from django.utils import timezone, translation

from cards.access import StatsLevel, StatsScope
from cards.models import Card, CardUse, Holder, ValidityPeriod
from stats.filters import StatsFilter
from stats.models import CardActivity, CardValidity, SummaryState, UseDay, UseMonth
from stats.selectors import (
    stats_age_gender,
    stats_annual,
    stats_by_month,
    stats_by_municipality,
    stats_by_region,
    stats_by_site,
    stats_by_venue,
    stats_card_kinds,
    stats_children,
    stats_cross_region,
    stats_life_situation,
    stats_public_table,
    stats_public_tables,
    stats_table_for,
    stats_tables_for,
    stats_validity,
)
from stats.summary import summary_build, summary_coverage
from stats.tables import COMPLEMENTARY, SUPPRESSED, Suppressed
from tests import factories

S = SUPPRESSED  # "<5": a count of 1 to 4
X = COMPLEMENTARY  # "×": hidden so that such a count cannot be worked out
D = datetime.date
PERIOD = StatsFilter(start=D(2026, 1, 1), end=D(2026, 6, 30))
USE_KEYS = [f"{kind}_{c}" for kind in ("adult", "child") for c in ("culture", "education", "science", "sports")]


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(datetime.datetime(2026, 6, 30, 12, tzinfo=datetime.UTC), tick=False):
        yield


class World:
    pass


def _card(site, holder, registered, *, kind=Card.Kind.PHYSICAL, mobile=False, number=None, **extra):
    card = factories.CardFactory(
        site=site,
        holder=holder,
        kind=kind,
        mobile_enabled=mobile or kind != Card.Kind.PHYSICAL,
        issued_on=registered,
        valid_from=registered,
        **({"number": number} if number else {}),
        **extra,
    )
    return card


def _holder(municipality, born, gender, life, children, **extra):
    return factories.HolderFactory(
        municipality=municipality,
        birth_year=born,
        gender=gender,
        life_situation=life,
        children_count=children,
        **extra,
    )


def _use(card, venue, day, category, *, child=0, cancelled=False, **extra):
    return factories.CardUseFactory(
        card=card,
        venue=venue,
        used_on=day,
        category=category,
        child_tickets=child,
        cancelled_at=timezone.now() if cancelled else None,
        cancel_reason="Mistake" if cancelled else "",
        **extra,
    )


@pytest.fixture(params=["uses", "summaries"])
def world(request, db):
    """The register above, its figures read from the uses themselves, or from the statistics
    summaries built after it was made. Whatever a test then changes is read from the uses
    (stats/summary.py), so every test also checks that a change after the build counts."""
    if request.param == "uses":
        w = _world()
    else:
        with time_machine.travel(datetime.datetime(2026, 6, 30, 9, tzinfo=datetime.UTC), tick=False):
            w = _world()
        _build_summaries(at=datetime.datetime(2026, 6, 30, 10, tzinfo=datetime.UTC))
    w.mode = request.param
    return w


def _build_summaries(*, at):
    with time_machine.travel(at, tick=False):
        summary_build()


def summary_build_at(at, **kwargs):
    with time_machine.travel(at, tick=False):
        return summary_build(**kwargs)


def summary_coverage_at(at):
    with time_machine.travel(at, tick=False):
        return summary_coverage()


def _world():
    w = World()
    w.east = factories.RegionFactory(name="East")
    w.north = factories.RegionFactory(name="North")
    w.south = factories.RegionFactory(name="South")
    n1 = factories.MunicipalityFactory(name="N1", region=w.north)
    n2 = factories.MunicipalityFactory(name="N2", region=w.north)
    s1m = factories.MunicipalityFactory(name="S1", region=w.south)
    w.dn = factories.SiteFactory(name="DN", municipality=n1)
    w.ds = factories.SiteFactory(name="DS", municipality=s1m)
    w.vn = factories.VenueSiteFactory(name="VN", municipality=n2)
    w.vs = factories.VenueSiteFactory(name="VS", municipality=s1m)
    F, M = Holder.Gender.FEMALE, Holder.Gender.MALE
    L = Holder.LifeSituation
    account = factories.HolderUserFactory(activated_at=timezone.now())
    not_activated = factories.HolderUserFactory(activated_at=None)
    h1 = _holder(n1, 1990, F, L.STUDENT, 0, account=account)
    h2 = _holder(n1, 1960, M, L.PENSIONER, 2)
    h3 = _holder(n1, 2000, F, L.UNEMPLOYED, 1, account=not_activated)
    h4 = _holder(n1, 1955, F, L.PENSIONER, 0)
    h5 = _holder(s1m, 1985, "", "", 3)
    h7 = _holder(n1, 1975, M, L.LOW_INCOME, 0)
    h8 = _holder(s1m, 1995, M, L.STUDENT, 0)
    h9 = _holder(s1m, 1940, F, L.PENSIONER, 0)
    organisation = factories.OrganisationHolderFactory(municipality=n1)

    w.c1 = _card(w.dn, h1, D(2026, 1, 5), mobile=True)
    w.c2 = _card(
        w.dn,
        h2,
        D(2026, 1, 15),
        status=Card.Status.INACTIVE,
        inactivation_reason=Card.InactivationReason.LOST,
        inactivated_on=D(2026, 2, 10),
    )
    w.c3 = _card(w.dn, h2, D(2026, 2, 10))
    w.c4 = _card(w.dn, h3, D(2026, 2, 20), kind=Card.Kind.X, number="X0000001")
    w.c5 = _card(w.dn, h4, D(2026, 3, 1))
    w.c6 = _card(w.dn, h5, D(2026, 3, 15))
    w.c7 = _card(w.dn, organisation, D(2026, 4, 1), kind=Card.Kind.Z, number="Z0000001")
    for _i in range(5):
        _card(w.dn, _holder(n1, 1970, F, L.LOW_INCOME, 1), D(2026, 5, 4))
    # Registered in 2025, renewed in the middle of the period: one card, two periods.
    w.cr = _card(w.dn, h7, D(2025, 3, 10))
    ValidityPeriod.objects.create(
        card=w.cr,
        valid_from=D(2026, 3, 10),
        valid_until=D(2027, 3, 9),
        cause=ValidityPeriod.Cause.RENEWED,
        site=w.dn,
    )
    Card.objects.filter(pk=w.cr.pk).update(valid_from=D(2026, 3, 10), valid_until=D(2027, 3, 9))
    w.s1 = _card(w.ds, h8, D(2026, 2, 1))
    w.s2 = _card(w.ds, h9, D(2026, 5, 1))

    C = CardUse.Category
    _use(w.c1, w.vn, D(2026, 1, 10), C.CULTURE, child=2)
    _use(w.c1, w.vn, D(2026, 1, 20), C.CULTURE)
    _use(w.c2, w.vn, D(2026, 1, 20), C.SPORTS, child=1)
    _use(w.c3, w.vn, D(2026, 2, 15), C.SPORTS)  # h2's second card
    _use(w.c3, w.vs, D(2026, 3, 1), C.SCIENCE)  # a North card in the South
    _use(w.c4, w.vn, D(2026, 3, 5), C.EDUCATION)
    _use(w.c6, w.vn, D(2026, 4, 2), C.CULTURE, child=3)  # a South resident's card of a North site
    _use(w.c7, w.vn, D(2026, 4, 10), C.CULTURE, clients_under_16=12, assistant_tickets=1)
    _use(w.cr, w.vn, D(2025, 6, 1), C.CULTURE)
    _use(w.cr, w.vn, D(2026, 3, 20), C.CULTURE)
    _use(w.s1, w.vs, D(2026, 2, 5), C.CULTURE, child=1)
    _use(w.s1, w.vn, D(2026, 3, 10), C.SPORTS)  # a South card in the North
    _use(w.s1, w.vs, D(2026, 2, 6), C.CULTURE, child=4, cancelled=True)
    _use(w.c5, w.vn, D(2026, 3, 2), C.EDUCATION, cancelled=True)
    return w


def _uses(culture=0, education=0, science=0, sports=0, c_culture=0, c_education=0, c_science=0, c_sports=0):
    values = [culture, education, science, sports, c_culture, c_education, c_science, c_sports]
    return dict(zip(USE_KEYS, values, strict=True)) | {"total_uses": sum(values)}


def _region(pk):
    return StatsScope(StatsLevel.REGION, pk)


# --- 1. annual and per region ---------------------------------------------------------------


def test_national_annual_table(world):
    table = stats_annual(scope=None, filters=PERIOD)
    assert table.slug == "national-annual"
    assert [column.key for column in table.columns] == [
        "label",
        "cards_registered",
        "cards_used",
        *USE_KEYS,
        "total_uses",
        "municipalities",
    ]
    # 2025: one card (cR), one use. 2026: 14 registered, 8 used; cancelled uses left out.
    # Both card counts of 2025 are under 5. Cards registered add up: 15 - 14 would give 2025's
    # back. Hiding 2026's would not help, since every other table shows 2026's 14 as its total
    # for this year: the total over the years is hidden instead, marked "×". Cards used are
    # distinct: 8 over both years and 8 in 2026 bound 2025's by nothing (8 - 8 = 0): both shown.
    assert table.rows == [
        {"label": "2025", "cards_registered": S, "cards_used": S, **_uses(culture=1), "municipalities": 2},
        {
            "label": "2026",
            "cards_registered": 14,
            "cards_used": 8,
            **_uses(culture=6, education=1, science=1, sports=3, c_culture=6, c_sports=1),
            "municipalities": 3,
        },
    ]
    assert table.total == {
        "label": "Total",
        "cards_registered": X,
        "cards_used": 8,
        **_uses(culture=7, education=1, science=1, sports=3, c_culture=6, c_sports=1),
        "municipalities": None,
    }


def test_per_region_table_is_the_period_by_the_card_sites_region(world):
    table = stats_by_region(scope=None, filters=PERIOD)
    assert table.rows == [
        {"label": "East", "cards_registered": 0, "cards_used": 0, **_uses(), "municipalities": 0},
        {
            "label": "North",
            # 12 and 7, hidden: the totals (14, 8) minus them would give South's 2 and 1.
            "cards_registered": X,
            "cards_used": X,
            **_uses(culture=5, education=1, science=1, sports=2, c_culture=5, c_sports=1),
            "municipalities": 2,
        },
        {
            "label": "South",
            "cards_registered": S,
            # 1 of 8 (North 7): the column adds up (a card is in its site's region only), so with
            # North's "×" read as 5 or more a "<5" here would be at most 3: marked "×" as well.
            "cards_used": X,
            **_uses(culture=1, sports=1, c_culture=1),
            "municipalities": 1,
        },
    ]
    assert table.total == {
        "label": "Total",
        "cards_registered": 14,
        "cards_used": 8,
        **_uses(culture=6, education=1, science=1, sports=3, c_culture=6, c_sports=1),
        "municipalities": 3,
    }


def test_category_filter_narrows_uses_not_registrations(world):
    table = stats_by_region(scope=None, filters=StatsFilter(start=PERIOD.start, end=PERIOD.end, category="sports"))
    north = table.rows[1]
    assert north["adult_sports"] == 2
    assert north["child_sports"] == 1
    assert table.total["cards_registered"] == 14
    assert table.total["cards_used"] == S  # c2, c3, s1: a total under 5 is hidden itself
    assert table.total["total_uses"] == 4


@pytest.mark.parametrize(
    ("level", "selector"),
    [
        (None, stats_annual),
        (None, stats_by_region),
        (StatsLevel.NATIONAL, stats_by_month),
        (StatsLevel.REGION, stats_by_site),
        (StatsLevel.SITE, stats_by_venue),
        (StatsLevel.VENUE, stats_by_month),
        (StatsLevel.VENUE, stats_by_venue),
    ],
)
def test_a_chosen_category_leaves_the_other_categories_columns_out(world, level, selector):
    """The other categories' uses are not read at all: a column of zeros would read as measured."""
    pk = {StatsLevel.REGION: world.north.pk, StatsLevel.SITE: world.dn.pk, StatsLevel.VENUE: world.vn.pk}.get(level)
    scope = None if level is None else StatsScope(level, pk)
    sports = StatsFilter(start=PERIOD.start, end=PERIOD.end, category="sports")
    table = selector(scope=scope, filters=sports)
    keys = [column.key for column in table.columns]
    uses = [key for key in keys if key.startswith(("adult_", "child_"))]
    by_venue = selector is stats_by_venue  # child uses in one column there
    assert uses == (["adult_sports", "child_uses"] if by_venue else ["adult_sports", "child_sports"])
    # Every row holds the columns shown and no other; total uses add up from them.
    for row in [*table.rows, table.total]:
        assert set(row) == set(keys)
        assert row["total_uses"] == sum(row[key] for key in uses)
    everything = selector(scope=scope, filters=PERIOD)
    assert len(everything.columns) == len(table.columns) + (3 if by_venue else 6)


def test_region_filter_is_the_region_scope(world):
    filtered = stats_annual(
        scope=None, filters=StatsFilter(start=PERIOD.start, end=PERIOD.end, region_id=world.north.pk)
    )
    scoped = stats_annual(scope=_region(world.north.pk), filters=PERIOD)
    assert filtered.rows == scoped.rows
    assert filtered.total == scoped.total


def test_the_annual_title_says_whose_figures_they_are(world):
    """With the region filter even the public table's figures are one region's: not "national"."""
    north = StatsFilter(start=PERIOD.start, end=PERIOD.end, region_id=world.north.pk)
    assert stats_annual(scope=None, filters=PERIOD).title == "National annual figures"
    assert stats_annual(scope=None, filters=north).title == "Annual figures: North"
    assert stats_annual(scope=StatsScope(StatsLevel.NATIONAL), filters=north).title == "Annual figures: North"
    assert stats_annual(scope=_region(world.north.pk), filters=PERIOD).title == "Annual figures"
    # The slug stays: the table's address and file name do not depend on the filter.
    assert stats_annual(scope=None, filters=north).slug == "national-annual"


# --- 2. by month, municipality, site ---------------------------------------------------------


def test_by_month(world):
    table = stats_by_month(scope=None, filters=PERIOD)
    assert [row["label"] for row in table.rows] == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    assert [row["cards_registered"] for row in table.rows] == [S, S, S, S, 6, 0]  # 2, 3, 2, 1, 6, 0
    assert [row["cards_used"] for row in table.rows] == [S, S, S, S, 0, 0]  # 2, 2, 4, 2
    assert [row["total_uses"] for row in table.rows] == [6, 3, 4, 5, 0, 0]
    assert table.rows[2] == {
        "label": "2026-03",
        "cards_registered": S,
        "cards_used": S,
        **_uses(culture=1, education=1, science=1, sports=1),
        "municipalities": 3,  # DN's N1 (registrations), VN's N2 and VS's S1 (uses)
    }
    assert table.total["cards_registered"] == 14
    assert table.total["total_uses"] == 18


def test_by_municipality_and_site_in_a_region(world):
    scope = _region(world.north.pk)
    municipalities = stats_by_municipality(scope=scope, filters=PERIOD)
    # Cards belong to their site's municipality: all of North's cards are DN's, in N1.
    assert [(row["label"], row["cards_registered"], row["total_uses"]) for row in municipalities.rows] == [
        ("N1", 12, 15),
        ("N2", 0, 0),
    ]
    sites = stats_by_site(scope=scope, filters=PERIOD)
    assert [(row["label"], row["cards_registered"], row["cards_used"], row["total_uses"]) for row in sites.rows] == [
        ("DN (" + world.dn.organisation.name + ")", 12, 7, 15)
    ]


# --- 3. validity --------------------------------------------------------------------------------


def test_valid_cards_at_month_ends_new_and_renewed(world):
    table = stats_validity(scope=None, filters=PERIOD)
    # Valid: 31.1. c1 c2 cR; 28.2. c1 c3 c4 cR s1 (c2 ended 10.2.); 31.3. +c5 c6 (cR renewed
    # without a gap); 30.4. +c7; 31.5. +s2 and five more; 30.6. the same.
    assert [[row[key] for key in ("label", "valid", "registered", "renewed", "reactivated")] for row in table.rows] == [
        ["2026-01", S, S, 0, 0],
        ["2026-02", 5, S, 0, 0],
        ["2026-03", 7, S, S, 0],
        ["2026-04", 8, S, 0, 0],
        ["2026-05", 14, 6, 0, 0],
        ["2026-06", 14, 0, 0, 0],
    ]
    assert table.total == {
        "label": "Total",
        "valid": None,
        "registered": 14,
        "renewed": S,
        "reactivated": 0,
        "replaced": 0,
    }


# --- 4. card kinds and OmaKaiku -----------------------------------------------------------------


def test_card_kinds_and_omakaiku(world):
    table = stats_card_kinds(scope=None, filters=PERIOD)
    keys = ["label", "physical", "physical_mobile", "x", "z", "total", "omakaiku", "omakaiku_share"]
    # North: 9 physical, 1 physical + mobile, 1 X, 1 Z = 12, one holder with OmaKaiku (h3's
    # account is not activated). South: 2 physical. South's 2 would follow from the totals
    # (11 - 9, 14 - 12), so North's 9 and 12 are hidden too. A share of a hidden count is hidden.
    assert [[row[key] for key in keys] for row in table.rows] == [
        ["East", 0, 0, 0, 0, 0, 0, 0],
        ["North", X, S, S, S, X, S, X],
        ["South", S, 0, 0, 0, S, 0, X],
    ]
    assert [table.total[key] for key in keys] == ["Total", 11, S, S, S, 14, S, X]
    # An invited holder who never set a password does not use OmaKaiku; the table says what it counts.
    assert next(column.label for column in table.columns if column.key == "omakaiku") == "OmaKaiku in use"
    assert "OmaKaiku is in use once the holder has set a password from the invitation." in table.note
    assert "The mobile card and OmaKaiku as they are today" in table.note


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_card_kinds_write_their_day_as_finnish_statistics_do(world, language):
    """30.6.2026 in every language, as the downloads write the period (never 2026-06-30)."""
    with translation.override(language):
        national = stats_card_kinds(scope=None, filters=PERIOD)
        site = stats_card_kinds(scope=StatsScope(StatsLevel.SITE, world.dn.pk), filters=PERIOD)
    for text in (national.note, site.note, site.rows[0]["label"]):
        assert "30.6.2026" in text
        assert "2026-06-30" not in text


def test_card_kinds_of_a_site_sum_to_its_total(world):
    table = stats_card_kinds(scope=StatsScope(StatsLevel.SITE, world.dn.pk), filters=PERIOD)
    assert table.total is None
    row = table.rows[0]
    # 9 + 1 + 1 + 1 = 12: three hidden kinds that add up to 3 would each be 1, so the 9 is hidden too.
    assert [row[key] for key in ("physical", "physical_mobile", "x", "z", "total", "omakaiku")] == [X, S, S, S, 12, S]
    assert row["omakaiku_share"] == X


def _omakaiku_for_all_but(site, left_out: int) -> None:
    """Every holder of the site's valid cards in OmaKaiku but the last ``left_out`` (by card id)."""
    holders = [card.holder for card in Card.objects.filter(site=site, status=Card.Status.ACTIVE).order_by("pk")]
    for position, holder in enumerate(holders):
        in_use = position < len(holders) - left_out
        if holder.account is None:
            holder.account = factories.HolderUserFactory(activated_at=None)
            holder.save()
        holder.account.activated_at = timezone.now() if in_use else None
        holder.account.save()


@pytest.mark.parametrize(("left_out", "shown"), [(2, False), (4, False), (5, True), (0, True)])
def test_omakaiku_is_hidden_where_it_would_tell_how_few_holders_have_none(world, left_out, shown):
    """12 valid cards and 10 holders in OmaKaiku would say that two holders have none."""
    _omakaiku_for_all_but(world.dn, left_out)
    row = stats_card_kinds(scope=StatsScope(StatsLevel.SITE, world.dn.pk), filters=PERIOD).rows[0]
    assert row["total"] == 12
    if shown:
        assert row["omakaiku"] == 12 - left_out
        assert row["omakaiku_share"] == round(100 * (12 - left_out) / 12, 1)
    else:
        assert row["omakaiku"] == X
        assert row["omakaiku_share"] == X


# --- 5. cross-region ----------------------------------------------------------------------------


def test_cross_region_matrix(world):
    table = stats_cross_region(scope=None, filters=PERIOD)
    east, north, south = (f"region_{r.pk}" for r in (world.east, world.north, world.south))
    matrix = [[row["label"], row[east], row[north], row[south], row["total"]] for row in table.rows]
    # Home region of the holder × region of the venue, adult + child uses. c6's holder lives in
    # the South: her uses at VN are South → North although her card is DN's.
    assert matrix == [["East", 0, 0, 0, 0], ["North", 0, 10, 1, 11], ["South", 0, 5, 2, 7]]
    assert [table.total[key] for key in ("label", east, north, south, "total")] == ["Total", 0, 15, 3, 18]


def test_cross_region_of_one_region_shows_only_its_venues(world):
    """The North reads its cards' uses and the uses at its venues: every use at its venues (the
    national column), but at the South's venues only its own cards' (c3 at VS, not s1 at VS).
    Only the column it has whole is shown, never a part of another as if it were all."""
    east, north, south = (f"region_{r.pk}" for r in (world.east, world.north, world.south))
    national = stats_cross_region(scope=None, filters=PERIOD)
    for table in (
        stats_cross_region(scope=_region(world.north.pk), filters=PERIOD),
        stats_cross_region(
            scope=None, filters=StatsFilter(start=PERIOD.start, end=PERIOD.end, region_id=world.north.pk)
        ),
    ):
        assert [column.key for column in table.columns] == ["label", north]
        assert [[row["label"], row[north]] for row in table.rows] == [["East", 0], ["North", 10], ["South", 5]]
        assert [row[north] for row in table.rows] == [row[north] for row in national.rows]
        assert table.total == {"label": "Total", north: 15}
        assert "venues of North" in table.note
    assert {east, south} <= {column.key for column in national.columns}


# --- 6. venues ------------------------------------------------------------------------------------


def test_uses_by_venue(world):
    table = stats_by_venue(scope=None, filters=PERIOD)
    keys = [column.key for column in table.columns]
    assert keys == [
        "label",
        "adult_culture",
        "adult_education",
        "adult_science",
        "adult_sports",
        "child_uses",
        "total_uses",
        "clients_under_16",
        "assistant_tickets",
        "cards",
    ]
    vn = f"VN ({world.vn.organisation.name})"
    vs = f"VS ({world.vs.organisation.name})"
    # Distinct cards: 8 at VN, 2 at VS, 8 in all (c3 and s1 visited both). VS's 2 is hidden;
    # the total is no sum here, and 8 - 8 = 0 bounds VS's by nothing, so VN's 8 is shown.
    assert [[row[key] for key in keys] for row in table.rows] == [
        [vn, 5, 1, 0, 3, 6, 15, 12, 1, 8],
        [vs, 1, 0, 1, 0, 1, 3, 0, 0, S],
    ]
    assert [table.total[key] for key in keys] == ["Total", 6, 1, 1, 3, 7, 18, 12, 1, 8]


# --- 7. demographics ---------------------------------------------------------------------------


def test_age_and_gender(world):
    table = stats_age_gender(scope=None, filters=PERIOD)
    keys = ["label", "female", "male", "other", "not_given", "total"]
    # 13 customers (h2 once, for two cards; the organisation not at all). Ages in 2026.
    # 45–64: 5 women and 1 man: the row total 6 would give the man back, so the 5 is hidden ("×").
    assert [[row[key] for key in keys] for row in table.rows] == [
        ["16–29", S, 0, 0, 0, S],
        ["30–44", S, S, 0, S, S],
        ["45–64", X, S, 0, 0, 6],
        ["65 or older", S, S, 0, 0, S],
    ]
    assert [table.total[key] for key in keys] == ["Total", 9, S, 0, S, 13]


def test_life_situation_and_children(world):
    table = stats_life_situation(scope=None, filters=PERIOD)
    assert [(row["label"], row["holders"]) for row in table.rows] == [
        ("Unemployed", S),
        ("Low income", 6),
        ("Student", S),
        ("Pensioner", S),
        ("On sick leave or rehabilitation", 0),
        ("On family leave", 0),
        ("Asylum seeker or refugee", 0),
        ("Other", 0),
        ("Not given", S),
    ]
    assert table.total["holders"] == 13
    table = stats_children(scope=None, filters=PERIOD)
    # 13 - 5 - 6 = 2 for two hidden cells would make both 1: the 5 is hidden too. Then "<5"
    # beside a "×" (5 or more) of 7 would pin both small counts: all three are marked "×".
    assert [(row["label"], row["holders"]) for row in table.rows] == [
        ("No children", X),
        ("1", 6),
        ("2", X),
        ("3 or more", X),
    ]
    assert table.total["holders"] == 13


def test_demographics_count_only_cards_valid_in_the_period(world):
    before = StatsFilter(start=D(2025, 4, 1), end=D(2025, 12, 31))
    # Only cR (h7, born 1975: 50 in 2025) was valid then.
    table = stats_age_gender(scope=None, filters=before)
    assert table.total["total"] == S
    assert [row["label"] for row in table.rows] == ["16–29", "30–44", "45–64", "65 or older"]
    assert [row["male"] for row in table.rows] == [0, 0, S, 0]


def test_a_card_inactivated_on_the_day_it_was_registered_was_never_valid(world):
    # Its period ends on its first day: no valid day, so its holder is in no demographic table.
    holder = _holder(world.dn.municipality, 1990, Holder.Gender.FEMALE, Holder.LifeSituation.STUDENT, 2)
    card = _card(world.dn, holder, D(2026, 6, 30))
    ValidityPeriod.objects.filter(card=card).update(ended_on=D(2026, 6, 30))
    card.status, card.inactivated_on = Card.Status.INACTIVE, D(2026, 6, 30)
    card.inactivation_reason = Card.InactivationReason.OTHER
    card.save()

    assert stats_age_gender(scope=None, filters=PERIOD).total["total"] == 13
    assert stats_life_situation(scope=None, filters=PERIOD).total["holders"] == 13
    assert stats_children(scope=None, filters=PERIOD).total["holders"] == 13


# --- scopes ---------------------------------------------------------------------------------------


def test_a_site_sees_its_cards_and_their_uses_only(world):
    scope = StatsScope(StatsLevel.SITE, world.ds.pk)
    annual = stats_annual(scope=scope, filters=PERIOD)
    assert "municipalities" not in [column.key for column in annual.columns]
    assert annual.rows == [
        {"label": "2026", "cards_registered": S, "cards_used": S, **_uses(culture=1, sports=1, c_culture=1)}
    ]
    venues = stats_by_venue(scope=scope, filters=PERIOD)
    assert [(row["adult_culture"], row["adult_sports"], row["total_uses"]) for row in venues.rows] == [
        (0, 1, 1),  # s1 at VN
        (1, 0, 2),  # s1 at VS; the cancelled use is not there
    ]
    assert stats_age_gender(scope=scope, filters=PERIOD).total["total"] == S  # h8 and h9


def test_a_moved_card_takes_its_uses_to_its_new_site(world):
    # docs/rules.md, "A moved card takes its figures with it": every earlier use counts at the
    # site the card belongs to now, and no longer at the one it left.
    def uses_at(site):
        venues = stats_by_venue(scope=StatsScope(StatsLevel.SITE, site.pk), filters=PERIOD)
        return sum(row["total_uses"] for row in venues.rows)

    moved = CardUse.objects.filter(card=world.c3, cancelled_at=None, used_on__range=(PERIOD.start, PERIOD.end)).count()
    before = uses_at(world.dn), uses_at(world.ds)
    world.c3.site = world.ds
    world.c3.save()

    assert moved > 0
    assert (uses_at(world.dn), uses_at(world.ds)) == (before[0] - moved, before[1] + moved)


def test_a_venue_sees_its_uses_and_distinct_cards_only(world):
    scope = StatsScope(StatsLevel.VENUE, world.vs.pk)
    tables = stats_tables_for(scope=scope, filters=PERIOD)
    assert [table.slug for table in tables] == ["by-month", "by-venue"]
    month = tables[0]
    assert [column.key for column in month.columns] == ["label", "cards_used", *USE_KEYS, "total_uses"]
    assert [row["total_uses"] for row in month.rows] == [0, 2, 1, 0, 0, 0]
    assert month.total["total_uses"] == 3
    assert month.total["cards_used"] == S
    venue = tables[1]
    assert [row["label"] for row in venue.rows] == [f"VS ({world.vs.organisation.name})"]
    assert venue.total["total_uses"] == 3


def test_a_region_sees_nothing_of_another_region(world):
    scope = _region(world.south.pk)
    tables = {table.slug: table for table in stats_tables_for(scope=scope, filters=PERIOD)}
    assert list(tables) == [
        "annual",
        "by-month",
        "by-municipality",
        "by-site",
        "validity",
        "card-kinds",
        "cross-region",
        "by-venue",
        "age-gender",
        "life-situation",
        "children",
    ]
    assert tables["annual"].total["total_uses"] == 3  # s1's two uses and one child ticket
    assert [row["label"] for row in tables["by-municipality"].rows] == ["S1"]
    assert [row["label"] for row in tables["by-site"].rows] == [str(world.ds)]
    assert [row["label"] for row in tables["card-kinds"].rows] == [str(world.ds)]
    assert tables["validity"].total["registered"] == S
    assert tables["age-gender"].total["total"] == S
    # Uses at VS by the North's c3 are the South's venue's: they show in the matrix only. The
    # South's cards at the North's venues (s1 at VN) are no column: the North's own are not there.
    south = f"region_{world.south.pk}"
    assert [column.key for column in tables["cross-region"].columns] == ["label", south]
    assert [row[south] for row in tables["cross-region"].rows] == [0, 1, 2]
    assert tables["by-venue"].total["total_uses"] == 3


def test_public_tables(world):
    tables = stats_public_tables(filters=PERIOD)
    assert [table.slug for table in tables] == ["national-annual", "by-region"]
    assert stats_public_table(filters=PERIOD, slug="by-region").rows == tables[1].rows
    assert stats_public_table(filters=PERIOD, slug="by-site") is None


@pytest.mark.parametrize("level", list(StatsLevel))
def test_one_table_by_slug_is_the_dashboards_and_costs_only_its_queries(world, level, django_assert_max_num_queries):
    pk = {"region": world.north.pk, "site": world.dn.pk, "venue": world.vn.pk}.get(level)
    scope = StatsScope(level, pk)
    tables = stats_tables_for(scope=scope, filters=PERIOD)
    for table in tables:
        with django_assert_max_num_queries(8 + (SUMMARY_EXTRA if world.mode == "summaries" else 0)):
            one = stats_table_for(scope=scope, filters=PERIOD, slug=table.slug)
        assert (one.slug, one.rows, one.total) == (table.slug, table.rows, table.total)
    assert stats_table_for(scope=scope, filters=PERIOD, slug="nope") is None


# --- query counts ----------------------------------------------------------------------------------

SCOPES = {
    # From the uses: one query more than the tables' own (whether summaries exist). From the
    # summaries: the fingerprint and seven looking for changes since the build, and the same
    # number of the tables' own (none is left to read from the uses after a fresh build). The
    # three demographic tables share one query. The tables by municipality and by site are
    # protected against the places they lie in: one query more (the regions' rows) and three
    # (the sites' places, the municipalities' and the regions' rows).
    "national": (lambda w: StatsScope(StatsLevel.NATIONAL), 37),
    "region": (lambda w: _region(w.north.pk), 33),
    "site": (lambda w: StatsScope(StatsLevel.SITE, w.dn.pk), 16),
    "venue": (lambda w: StatsScope(StatsLevel.VENUE, w.vn.pk), 7),
}
SUMMARY_EXTRA = 8


@pytest.mark.parametrize("name", SCOPES)
def test_query_count_does_not_grow_with_rows(world, name, django_assert_num_queries):
    make_scope, expected = SCOPES[name]
    expected += SUMMARY_EXTRA if world.mode == "summaries" else 0
    scope = make_scope(world)
    with django_assert_num_queries(expected):
        stats_tables_for(scope=scope, filters=PERIOD)
    # Many more holders, cards, uses, sites and venues in the same places.
    for i in range(10):
        site = factories.SiteFactory(municipality=world.dn.municipality)
        venue = factories.VenueSiteFactory(municipality=world.vn.municipality)
        card = _card(site, factories.HolderFactory(municipality=world.dn.municipality), D(2026, 1, 1 + i))
        _card(world.dn, factories.HolderFactory(), D(2026, 2, 1 + i))
        for day in range(1, 4):
            _use(card, venue, D(2026, 3, day), CardUse.Category.SPORTS, child=1)
            _use(card, world.vn, D(2026, 4, day), CardUse.Category.CULTURE)
    if world.mode == "summaries":
        _build_summaries(at=datetime.datetime(2026, 6, 30, 14, tzinfo=datetime.UTC))
        assert UseDay.objects.exists()
        assert CardActivity.objects.exists()
    with django_assert_num_queries(expected):
        stats_tables_for(scope=scope, filters=PERIOD)


def test_public_query_count(world, django_assert_num_queries):
    with django_assert_num_queries(14 + (SUMMARY_EXTRA if world.mode == "summaries" else 0)):
        stats_public_tables(filters=PERIOD)


def _snapshot(scope):
    return [(t.slug, t.rows, t.total) for t in stats_tables_for(scope=scope, filters=PERIOD)]


@pytest.mark.parametrize("level", [StatsLevel.REGION, StatsLevel.SITE, StatsLevel.VENUE])
def test_nothing_outside_a_scope_changes_its_figures(world, level):
    """Rows outside the scope (the North; the site DN; the venue VN) leave every table as it was."""
    scope = StatsScope(level, {"region": world.north.pk, "site": world.dn.pk, "venue": world.vn.pk}[level])
    before = _snapshot(scope)

    def add(site, venue, n=6):
        for i in range(n):
            holder = _holder(site.municipality, 1950 + i, Holder.Gender.OTHER, Holder.LifeSituation.OTHER, 4)
            card = _card(site, holder, D(2026, 1, 2 + i), mobile=True)
            _use(card, venue, D(2026, 2, 2 + i), CardUse.Category.SCIENCE, child=2, assistant_tickets=1)

    # Everywhere: South's cards used at South's venue.
    add(world.ds, world.vs)
    if level == StatsLevel.SITE:
        # Another site in the same municipality, its cards used at DN's usual venue.
        add(factories.SiteFactory(name="DN2", municipality=world.dn.municipality), world.vn)
    if level == StatsLevel.VENUE:
        # The venue's figures are its uses, not the cards of its region's sites used elsewhere.
        add(world.dn, world.vs)
    assert _snapshot(scope) == before


# --- the summaries: the same figures, and every change after a build counted ---------------------


def _every_table():
    scopes = [None] + [StatsScope(level, pk) for level, pk in _SCOPES_OF_WORLD]
    tables = []
    for scope in scopes:
        for filters in (
            PERIOD,
            StatsFilter(start=D(2026, 2, 6), end=D(2026, 3, 19), category="culture"),
            # Part of January, whole months (from the month summary unless changed), part of May.
            StatsFilter(start=D(2026, 1, 15), end=D(2026, 5, 10)),
        ):
            found = (
                stats_public_tables(filters=filters)
                if scope is None
                else stats_tables_for(scope=scope, filters=filters)
            )
            tables += [(repr(scope), filters, t.slug, t.rows, t.total) for t in found]
    return tables


_SCOPES_OF_WORLD = []


def _kinds_and_ages():
    return [
        (table.rows, table.total)
        for table in (
            stats_card_kinds(scope=None, filters=PERIOD),
            stats_age_gender(scope=None, filters=PERIOD),
            stats_validity(scope=None, filters=PERIOD),
        )
    ]


@pytest.mark.parametrize("world", ["summaries"], indirect=True)
def test_summaries_hold_each_cards_days_of_use_as_bits(world):
    c1 = CardActivity.objects.get(card=world.c1, year=2026, venue=None, category="")
    # Used on 10 and 20 January (two uses that day count as one day): bits 9 and 19.
    assert (c1.m1, c1.m2, c1.card_site_id) == ((1 << 9) | (1 << 19), 0, world.dn.pk)
    # Per venue and category too; the cancelled use of s1 on 6 February is not there.
    s1 = CardActivity.objects.get(card=world.s1, year=2026, venue=world.vs, category="culture")
    assert (s1.m2, s1.m3) == (1 << 4, 0)
    day = UseDay.objects.get(used_on=D(2026, 1, 10))
    assert (day.uses, day.child_tickets, day.card_site_id, day.venue_id) == (1, 2, world.dn.pk, world.vn.pk)
    month = UseMonth.objects.get(used_on=D(2026, 1, 1), card_site=world.dn, venue=world.vn, category="culture")
    assert (month.uses, month.child_tickets) == (2, 2)  # c1 on 10 and 20 January


@pytest.mark.parametrize("world", ["summaries"], indirect=True)
def test_summaries_hold_each_cards_valid_days_as_bits(world):
    c1 = {row.year: row for row in CardValidity.objects.filter(card=world.c1)}
    # Valid from 5 January 2026 until its period ends on 4 January 2027.
    assert ValidityPeriod.objects.get(card=world.c1).valid_until == D(2027, 1, 4)
    assert (c1[2026].m1, c1[2026].m2, c1[2026].m12) == ((1 << 31) - (1 << 4), (1 << 28) - 1, (1 << 31) - 1)
    assert (c1[2027].m1, c1[2027].m2) == (0b1111, 0)
    assert (c1[2026].kind, c1[2026].holder_id, c1[2026].card_site_id) == (
        "physical_mobile",
        world.c1.holder_id,
        world.dn.pk,
    )
    # Registered in 2025 and renewed on 10 March 2026 while still valid: the days once each.
    cr = CardValidity.objects.get(card=world.cr, year=2026)
    assert (cr.m3, cr.m12) == ((1 << 31) - 1, (1 << 31) - 1)
    # A card registered on 15 January and inactivated on 10 February: valid until the day before.
    assert ValidityPeriod.objects.get(card=world.c2).ended_on == D(2026, 2, 10)
    c2 = CardValidity.objects.get(card=world.c2, year=2026)
    assert (c2.m1, c2.m2, c2.m3) == ((1 << 31) - (1 << 14), (1 << 9) - 1, 0)


@pytest.mark.parametrize("world", ["summaries"], indirect=True)
def test_a_full_build_summarises_validity_a_slice_of_cards_at_a_time(world, monkeypatch):
    def validities():
        return sorted(CardValidity.objects.values_list("card_id", "year", "kind", "m1", "m6", "m12"))

    whole = validities()
    monkeypatch.setattr("stats.summary.CARD_SLICE", 2)  # many slices, some with no card at all
    summary_build_at(datetime.datetime(2026, 6, 30, 11, tzinfo=datetime.UTC), full=True)
    assert validities() == whole
    assert len({card_id for card_id, *_rest in whole}) == Card.objects.filter(periods__isnull=False).distinct().count()


@pytest.mark.parametrize("world", ["summaries"], indirect=True)
def test_every_change_after_a_build_is_counted_as_from_the_uses(world):
    """Uses recorded, bulk-loaded, cancelled and moved to another day, a card moved to another
    site, a holder moved to another region, a card registered and one renewed, a card
    inactivated and one made mobile, a holder's year of birth corrected and an OmaKaiku account
    activated: every figure of every scope is what the register says."""
    _SCOPES_OF_WORLD[:] = [
        (StatsLevel.NATIONAL, None),
        (StatsLevel.REGION, world.north.pk),
        (StatsLevel.REGION, world.south.pk),
        (StatsLevel.SITE, world.dn.pk),
        (StatsLevel.SITE, world.ds.pk),
        (StatsLevel.VENUE, world.vn.pk),
        (StatsLevel.VENUE, world.vs.pk),
    ]
    C = CardUse.Category
    _use(world.c1, world.vs, D(2026, 1, 20), C.CULTURE)  # on a day already summarised
    CardUse.objects.bulk_create(  # loaded without history
        [CardUse(card=world.c5, venue=world.vn, used_on=D(2026, 3, 12), category=C.CULTURE, child_tickets=1)]
    )
    cancelled = CardUse.objects.get(card=world.s1, used_on=D(2026, 2, 5))
    cancelled.cancelled_at, cancelled.cancel_reason = timezone.now(), "Mistake"
    cancelled.save()
    moved_day = CardUse.objects.get(card=world.c4)
    moved_day.used_on = D(2026, 5, 5)
    moved_day.save()
    world.c3.site = world.ds  # a card moved to the South's site, its uses with it
    world.c3.save()
    holder = world.c1.holder  # moves to the South: the cross-region table changes
    holder.municipality = world.ds.municipality
    holder.save()
    # A card registered since the build (and used), and a card renewed since.
    new = _card(world.ds, _holder(world.ds.municipality, 1980, Holder.Gender.MALE, "", 0), D(2026, 3, 3))
    _use(new, world.vs, D(2026, 3, 4), C.SCIENCE)
    ValidityPeriod.objects.create(
        card=world.c5,
        valid_from=D(2026, 3, 1),
        valid_until=D(2027, 2, 28),
        cause=ValidityPeriod.Cause.RENEWED,
        site=world.dn,
    )

    kinds_before = _kinds_and_ages()
    # Inactivated today (its period ends), made mobile, a holder's year of birth corrected, and
    # a holder's OmaKaiku activated (read live, never summarised).
    ValidityPeriod.objects.filter(card=world.c5).update(ended_on=D(2026, 6, 30))
    world.c5.status, world.c5.inactivated_on = Card.Status.INACTIVE, D(2026, 6, 30)
    world.c5.inactivation_reason = Card.InactivationReason.LOST
    world.c5.save()
    world.s2.mobile_enabled = True
    world.s2.save()
    world.s2.holder.birth_year = 2001
    world.s2.holder.save()
    account = world.c4.holder.account
    account.activated_at = timezone.now()
    account.save()
    assert _kinds_and_ages() != kinds_before

    from_summaries = _every_table()
    # The next build summarises only what changed, and the summaries then hold it all.
    state = summary_build_at(datetime.datetime(2026, 6, 30, 13, tzinfo=datetime.UTC))
    assert not state.full
    assert 0 < state.use_days < UseDay.objects.count()
    assert summary_coverage_at(datetime.datetime(2026, 6, 30, 13, tzinfo=datetime.UTC)).dirty_days == frozenset()
    from_changed_summaries = _every_table()

    SummaryState.objects.all().delete()  # no summaries: everything from the uses
    from_uses = _every_table()
    assert from_summaries == from_uses
    assert from_changed_summaries == from_uses
    # And the changes did change the figures (the comparison is not between two old answers).
    table = stats_by_region(scope=None, filters=PERIOD)
    south = next(row for row in table.rows if row["label"] == "South")
    # s1's culture uses are both cancelled now; c3 brought its sports and science uses along,
    # and the new card of DS has one more science use.
    assert (south["adult_culture"], south["adult_sports"], south["adult_science"]) == (0, 2, 2)


@pytest.mark.parametrize("world", ["summaries"], indirect=True)
def test_a_release_with_new_summaries_reads_the_register_until_the_next_build(world):
    """A summary table added by a migration is empty: its migration forgets the last build, so
    the figures do not come from an empty table meanwhile."""
    import importlib

    from django.apps import apps
    from django.db import connection

    before = _snapshot(StatsScope(StatsLevel.NATIONAL))
    CardValidity.objects.all().delete()  # as right after the migration that made them
    UseMonth.objects.all().delete()
    forget = importlib.import_module("stats.migrations.0004_summaries_built_again").forget_builds
    forget(apps, type("SchemaEditor", (), {"connection": connection})())

    assert summary_coverage() is None
    assert _snapshot(StatsScope(StatsLevel.NATIONAL)) == before
    assert summary_build_at(datetime.datetime(2026, 6, 30, 11, tzinfo=datetime.UTC)).full
    assert _snapshot(StatsScope(StatsLevel.NATIONAL)) == before


@pytest.mark.parametrize("world", ["summaries"], indirect=True)
def test_a_use_committed_just_after_the_build_began_is_counted(world):
    """A use whose transaction took its ids before the build's snapshot but committed after it:
    the build did not see it, though newer rows it did see. It counts from the register."""
    C = CardUse.Category
    late = _use(world.c5, world.vn, D(2026, 4, 20), C.SCIENCE, child=2)
    late_row = CardUse.history.get(id=late.pk)
    _use(world.c1, world.vn, D(2026, 4, 21), C.CULTURE)  # committed before the snapshot
    # As the build's snapshot saw it: the late use's rows not there yet, newer ones there.
    CardUse.history.filter(history_id=late_row.history_id).delete()
    CardUse.objects.filter(pk=late.pk)._raw_delete(using="default")  # no history row of a deletion
    state = summary_build_at(datetime.datetime(2026, 6, 30, 11, tzinfo=datetime.UTC))
    assert late_row.history_id in state.unseen_history_ids
    assert late_row.history_id < state.last_history_id
    # The late transaction commits.
    CardUse.objects.bulk_create([late])
    late_row.save(force_insert=True)

    with time_machine.travel(datetime.datetime(2026, 6, 30, 11, 30, tzinfo=datetime.UTC), tick=False):
        from_summaries = [stats_by_venue(scope=None, filters=PERIOD), stats_by_month(scope=None, filters=PERIOD)]
        SummaryState.objects.all().delete()
        from_uses = [stats_by_venue(scope=None, filters=PERIOD), stats_by_month(scope=None, filters=PERIOD)]
    assert [(t.rows, t.total) for t in from_summaries] == [(t.rows, t.total) for t in from_uses]
    april = from_uses[1].rows[3]  # January to June, by month
    assert april["adult_science"] == 1  # the late use is in the figures


@pytest.mark.django_db(transaction=True)
def test_a_build_in_its_own_transaction_replaces_the_last():
    """As the scheduled command runs it: outside any transaction (on PostgreSQL in one snapshot)."""
    site = factories.SiteFactory()
    card = _card(site, factories.HolderFactory(municipality=site.municipality), D(2026, 1, 5))
    _use(card, factories.VenueSiteFactory(), D(2026, 2, 3), CardUse.Category.CULTURE)
    summary_build()
    state = summary_build()
    # The first build saw the use: nothing changed since, so the second summarises nothing again.
    assert (state.full, state.use_days, UseDay.objects.count()) == (False, 0, 1)
    assert CardActivity.objects.filter(card=card).count() == 4  # any, per venue, per category, both


@pytest.mark.parametrize("world", ["summaries"], indirect=True)
def test_a_build_with_nothing_changed_writes_nothing_and_keeps_the_figures(world):
    before = _snapshot(StatsScope(StatsLevel.NATIONAL))
    state = summary_build_at(datetime.datetime(2026, 6, 30, 13, tzinfo=datetime.UTC))
    assert (state.full, state.use_days, state.card_activities) == (False, 0, 0)
    assert UseDay.objects.count() == 12
    assert _snapshot(StatsScope(StatsLevel.NATIONAL)) == before


def test_a_sites_hidden_count_cannot_be_worked_out_from_its_municipalitys(db):
    # A municipality of 15 beside its site of 13 gave the other site's hidden 2 away: the
    # table by site hid a site of another municipality instead (found in review).
    region = factories.RegionFactory(name="Pirkanmaa")
    tampere, nokia = (factories.MunicipalityFactory(name=name, region=region) for name in ("Tampere", "Nokia"))
    sites = {
        "big": factories.SiteFactory(name="Aikuissosiaalityö", municipality=tampere),
        "small": factories.SiteFactory(name="Testijakaja", municipality=tampere),
        "other": factories.SiteFactory(name="Diakoniatyö", municipality=nokia),
    }
    for name, count in (("big", 13), ("small", 2), ("other", 7)):
        for i in range(count):
            _card(sites[name], factories.HolderFactory(municipality=sites[name].municipality), D(2026, 2, 1 + i))

    for scope in (None, _region(region.pk)):
        by_municipality = {row["label"]: row for row in stats_by_municipality(scope=scope, filters=PERIOD).rows}
        by_site = {row["label"]: row for row in stats_by_site(scope=scope, filters=PERIOD).rows}
        assert by_municipality["Tampere"]["cards_registered"] == 15
        tampere_sites = [by_site[str(sites["big"])], by_site[str(sites["small"])]]
        assert tampere_sites[1]["cards_registered"] == S
        # 15 minus the shown 13 would be the hidden 2: the 13 is hidden too.
        assert isinstance(tampere_sites[0]["cards_registered"], Suppressed)
        assert by_site[str(sites["other"])]["cards_registered"] == 7  # nothing to hide there now
