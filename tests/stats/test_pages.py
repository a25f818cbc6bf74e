"""The statistics pages and downloads: who sees which scope, filters, file names and contents.

The figures here are hand-made tables (the selectors' own tests check the numbers): these
tests check what the pages do with whatever tables they are given.
"""

import datetime
import io
import zipfile

import pytest
import time_machine
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from cards.access import StatsLevel, StatsScope
from stats.tables import COMPLEMENTARY, SUPPRESSED, ChartSpec, Column, Table
from tests import factories
from tests.test_fuzz import NASTY


def national_table() -> Table:
    return Table(
        slug="national-annual",
        title="Cards and uses by year",
        columns=[
            Column("year", "Year", numeric=False),
            Column("cards", "Cards registered", personal=True),
            Column("uses", "Total uses"),
        ],
        # As the small-cell rule leaves it: 2025's 3 is under 5, and 2024's 1520 is hidden so that
        # the total does not give the 3 back.
        rows=[
            {"year": "2024", "cards": COMPLEMENTARY, "uses": 34000},
            {"year": "2025", "cards": SUPPRESSED, "uses": 12},
        ],
        total={"year": "Total", "cards": 1523, "uses": 34012},
        chart=ChartSpec("year", ("uses",)),
    )


def region_table() -> Table:
    return Table(
        slug="regions",
        title="Cards and uses by region",
        columns=[Column("region", "Region", numeric=False), Column("cards", "Cards registered", personal=True)],
        rows=[{"region": "Pirkanmaa", "cards": 40}, {"region": '=HYPERLINK("http://evil")', "cards": SUPPRESSED}],
        chart=ChartSpec("region", ("cards",)),
        note="Regions by the card's issuing site.",
    )


@pytest.fixture
def calls():
    return []


@pytest.fixture
def figures(monkeypatch, calls):
    """The views get hand-made tables; ``calls`` records the scope and filters they asked for
    (once per page: a page asks for each of its tables with the same scope and filters)."""

    def record(scope, filters):
        if not calls or calls[-1] != (scope, filters):
            calls.append((scope, filters))

    def public_one(*, filters, slug):
        record(None, filters)
        return {"national-annual": national_table(), "regions": region_table()}.get(slug)

    def scoped_one(*, scope, filters, slug):
        record(scope, filters)
        return national_table() if slug == "national-annual" else None

    monkeypatch.setattr("stats.selectors.stats_public_slugs", lambda: ["national-annual", "regions"])
    monkeypatch.setattr("stats.selectors.stats_table_slugs", lambda *, scope: ["national-annual"])
    monkeypatch.setattr("stats.selectors.stats_public_table", public_one)
    monkeypatch.setattr("stats.selectors.stats_table_for", scoped_one)


# --- the public page -------------------------------------------------------------------------


@time_machine.travel(datetime.date(2025, 6, 15))
def test_public_page_works_logged_out_with_this_year_by_default(client, figures, calls, db):
    response = client.get("/stats/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Kaikukortti statistics</h1>" in page
    ((scope, filters),) = calls
    assert scope is None
    assert (filters.start, filters.end, filters.region_id, filters.category) == (
        datetime.date(2025, 1, 1),
        datetime.date(2025, 6, 15),
        None,
        None,
    )
    # The table: each cell with its column's name for the stacked phone layout; a hidden figure
    # as its mark, said in words to a screen reader ("×" would be read as "times").
    assert '<td data-label="Total uses" class="num">34,000</td>' in page
    assert '<td data-label="Cards registered" class="num">1,523</td>' in page
    assert (
        '<td data-label="Cards registered" class="num"><span aria-hidden="true">&lt;5</span>'
        '<span class="visually-hidden">fewer than 5</span></td>'
    ) in page
    assert (
        '<td data-label="Cards registered" class="num"><span aria-hidden="true">×</span>'
        '<span class="visually-hidden">hidden</span></td>'
    ) in page
    # Under the table, a line for each mark it holds (the table's description): a "×" is not
    # said to be under 5.
    assert 'id="stats-national-annual" aria-describedby="stats-national-annual-marks"' in page
    national = page[page.index('id="stats-national-annual-heading"') : page.index('id="stats-regions-heading"')]
    assert 'visually-hidden">fewer than 5</span>: a count of 1 to 4 people</p>' in national
    assert (
        'visually-hidden">hidden</span>: hidden so that no count of 1 to 4 people can be worked out from the figures shown'
        in national
    )
    regions = page[page.index('id="stats-regions-heading"') :]
    assert "a count of 1 to 4 people" in regions
    assert "can be worked out from the figures shown" not in regions  # no "×" there, so no line for it
    assert "Counts of 1 to 4 people are hidden, and so is any figure from which such a count could be" in page
    assert '<td data-label="Region">=HYPERLINK(&quot;http://evil&quot;)</td>' in page
    # A chart with a text alternative, and the downloads with the period in the address.
    assert 'role="img" aria-labelledby="stats-national-annual-chart-title stats-national-annual-chart-desc"' in page
    assert 'href="/stats/national-annual.csv?start=2025-01-01&amp;end=2025-06-15"' in page
    assert 'href="/stats/regions.xlsx?start=2025-01-01&amp;end=2025-06-15"' in page
    # The dates the figures are for are written into the form.
    assert 'name="start" value="2025-01-01"' in page
    assert 'name="end" value="2025-06-15"' in page
    assert "Statistics</a></li>" not in page  # no staff navigation


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_public_page_in_each_language(client, figures, db, language):
    response = client.get("/stats/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    assert f'<html lang="{language}">' in response.content.decode()


@time_machine.travel(datetime.date(2025, 6, 15))
@pytest.mark.parametrize(
    ("query", "start", "end"),
    [
        ("preset=this-year", datetime.date(2025, 1, 1), datetime.date(2025, 6, 15)),
        ("preset=last-year", datetime.date(2024, 1, 1), datetime.date(2024, 12, 31)),
        ("preset=last-12-months", datetime.date(2024, 6, 16), datetime.date(2025, 6, 15)),
        # A preset wins over typed dates: a shared "this year" link stays this year.
        ("preset=last-year&start=2020-01-01&end=2020-02-01", datetime.date(2024, 1, 1), datetime.date(2024, 12, 31)),
        # … even over typed dates that would be refused (in the future, not a date).
        ("preset=last-year&start=2099-01-01&end=nonsense", datetime.date(2024, 1, 1), datetime.date(2024, 12, 31)),
        ("start=2023-03-01&end=2023-03-31", datetime.date(2023, 3, 1), datetime.date(2023, 3, 31)),
        ("start=2023-03-01", datetime.date(2023, 3, 1), datetime.date(2025, 6, 15)),
        ("end=2023-03-31", datetime.date(2023, 1, 1), datetime.date(2023, 3, 31)),
    ],
)
def test_periods(client, figures, calls, db, query, start, end):
    assert client.get("/stats/?" + query).status_code == 200
    ((_scope, filters),) = calls
    assert (filters.start, filters.end) == (start, end)


def test_region_and_category_filters(client, figures, calls, region):
    response = client.get(f"/stats/?start=2025-01-01&end=2025-12-31&region={region.pk}&category=culture")
    assert response.status_code == 200
    ((_scope, filters),) = calls
    assert (filters.region_id, filters.category) == (region.pk, "culture")
    page = response.content.decode()
    assert f'<option value="{region.pk}" selected>Pirkanmaa</option>' in page
    # The presets keep the region and the category.
    assert f'href="?preset=last-year&amp;region={region.pk}&amp;category=culture"' in page


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start=2025-03-01&end=2025-02-01", "end"),
        ("start=31.2.2025", "start"),
        ("start=0001-01-01", "start"),
        ("end=9999-12-31", "end"),
        ("start=%00", "start"),
        ("region=999999", "region"),
        ("region=abc", "region"),
        ("category=theatre", "category"),
        ("preset=yesterday", "preset"),
    ],
)
def test_bad_filters_give_a_form_error_not_a_500(client, figures, calls, db, query, field):
    response = client.get("/stats/?" + query)
    assert response.status_code == 200
    assert calls == []  # no figures for a filter that means nothing
    form = response.context["form"]
    assert list(form.errors) == [field]
    assert 'class="error-summary" role="alert"' in response.content.decode()
    download = client.get("/stats/national-annual.csv?" + query)
    assert download.status_code == 400


@time_machine.travel(datetime.date(2026, 11, 30))
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start=2025-06-01&end=2027-11-30", "end"),
        ("start=2026-06-01&end=2026-12-01", "end"),
        ("start=2026-12-01", "start"),
    ],
)
@pytest.mark.parametrize(
    ("page", "download"),
    [("/stats/", "/stats/national-annual.csv"), ("/stats/dashboard/", "/stats/dashboard/national-annual.csv")],
)
def test_a_period_past_today_is_refused(client, figures, calls, distributor, query, field, page, download):
    """Future days have no uses and their month-end counts would read as real: the form refuses
    them, says the last day allowed and keeps what was typed, on the public page and dashboards."""
    client.force_login(distributor)
    response = client.get(f"{page}?{query}")
    assert response.status_code == 200
    assert calls == []
    assert response.context["form"].errors == {
        field: ["There are no figures for days after today: enter a date on or before 30.11.2026."]
    }
    html = response.content.decode()
    assert 'class="error-summary" role="alert"' in html
    for name, value in (pair.split("=") for pair in query.split("&")):
        assert f'name="{name}" value="{value}"' in html
    assert client.get(f"{download}?{query}").status_code == 400
    # Today is the last day a period may reach.
    assert client.get(f"{page}?start=2026-06-01&end=2026-11-30").status_code == 200
    assert calls[-1][1].end == datetime.date(2026, 11, 30)


# --- dashboards: each role sees its own scopes and nothing else ---------------------------------


def test_dashboard_needs_a_login(client, figures, db):
    response = client.get("/stats/dashboard/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")
    assert client.get("/stats/dashboard/national-annual.csv").status_code == 302


def test_holders_do_not_get_a_dashboard(client, figures, db):
    client.force_login(factories.HolderUserFactory())
    assert client.get("/stats/dashboard/").status_code == 403


def test_staff_without_a_scope_get_none(client, figures, db):
    client.force_login(factories.UserFactory())
    assert client.get("/stats/dashboard/").status_code == 403


def test_distributor_sees_their_site(client, figures, calls, distributor, site, other_site, venue, region):
    client.force_login(distributor)
    response = client.get("/stats/dashboard/")
    assert response.status_code == 200
    assert calls[0][0] == StatsScope(StatsLevel.SITE, site.pk)
    page = response.content.decode()
    assert "<h1>Statistics: Social services (distributor)</h1>" in page
    # One scope: no chooser. No region filter below the national level.
    assert 'name="scope" value="site-' in page
    assert '<select id="stats-scope"' not in page
    assert 'name="region"' not in page
    assert 'href="/stats/dashboard/national-annual.csv?start=' in page
    assert f"&amp;scope=site-{site.pk}" in page
    for scope in [
        f"site-{other_site.pk}",
        f"venue-{venue.pk}",
        f"region-{region.pk}",
        "national",
        "site-abc",
        "national-1",
        "nonsense",
        f"site-{site.pk}0",
    ]:
        assert client.get(f"/stats/dashboard/?scope={scope}").status_code == 404, scope
        assert client.get(f"/stats/dashboard/national-annual.csv?scope={scope}").status_code == 404, scope
    assert client.get(f"/stats/dashboard/?scope=site-{site.pk}").status_code == 200


def test_venue_staff_see_their_venue(client, figures, calls, venue_user, venue, site):
    client.force_login(venue_user)
    assert client.get("/stats/dashboard/").status_code == 200
    assert calls[0][0] == StatsScope(StatsLevel.VENUE, venue.pk)
    assert client.get(f"/stats/dashboard/?scope=site-{site.pk}").status_code == 404
    assert client.get("/stats/dashboard/?scope=national").status_code == 404


def test_coordinator_sees_their_region_only(client, figures, calls, coordinator, region):
    other = factories.RegionFactory(name="Uusimaa")
    client.force_login(coordinator)
    response = client.get("/stats/dashboard/")
    assert response.status_code == 200
    assert calls[0][0] == StatsScope(StatsLevel.REGION, region.pk)
    assert "<h1>Statistics: Pirkanmaa (region)</h1>" in response.content.decode()
    assert client.get(f"/stats/dashboard/?scope=region-{other.pk}").status_code == 404
    assert client.get("/stats/dashboard/?scope=national").status_code == 404


def test_admin_chooses_among_every_scope(client, figures, calls, admin_user, region, site):
    factories.MembershipFactory(user=admin_user, site=site)
    client.force_login(admin_user)
    response = client.get("/stats/dashboard/")
    assert response.status_code == 200
    assert calls[-1][0] == StatsScope(StatsLevel.NATIONAL)
    page = response.content.decode()
    assert '<option value="national" selected>Whole country</option>' in page
    assert f'<option value="site-{site.pk}">Social services (distributor)</option>' in page
    assert 'name="region"' in page  # the national dashboard filters by region
    # Choosing another scope keeps the period and the category.
    page = client.get("/stats/dashboard/?start=2025-02-01&end=2025-02-28&category=science").content.decode()
    assert '<input type="hidden" name="start" value="2025-02-01">' in page
    assert '<input type="hidden" name="end" value="2025-02-28">' in page
    assert '<input type="hidden" name="category" value="science">' in page
    page = client.get("/stats/dashboard/?preset=last-year").content.decode()
    assert '<input type="hidden" name="preset" value="last-year">' in page
    # With the region filter the figures are the region's: the heading names it, not the country.
    page = client.get(f"/stats/dashboard/?scope=national&region={region.pk}").content.decode()
    assert "<h1>Statistics: Pirkanmaa (region)</h1>" in page
    assert "Whole country</h1>" not in page
    assert client.get(f"/stats/dashboard/?scope=site-{site.pk}").status_code == 200
    assert calls[-1][0] == StatsScope(StatsLevel.SITE, site.pk)


def test_staff_navigation_links_to_statistics(client, distributor):
    client.force_login(distributor)
    page = client.get("/cards/").content.decode()
    assert '<li><a href="/stats/dashboard/">Statistics</a></li>' in page
    assert '<a href="/stats/">Kaikukortti statistics</a>' in page


def test_venue_navigation_links_to_statistics(client, figures, venue_user):
    client.force_login(venue_user)
    assert '<li><a href="/stats/dashboard/">Statistics</a></li>' in client.get("/stats/dashboard/").content.decode()


def test_footer_links_to_public_statistics(client, db):
    page = client.get("/accounts/login/").content.decode()
    assert '<a href="/stats/">Kaikukortti statistics</a>' in page


# --- downloads ----------------------------------------------------------------------------------


def test_public_csv_download(client, figures, region):
    response = client.get(f"/stats/national-annual.csv?start=2025-01-01&end=2025-12-31&region={region.pk}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="kaikukortti-national-annual_2025-01-01_2025-12-31_region-{region.pk}.csv"'
    )
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeffCards and uses by year\r\n")
    lines = text.lstrip("\ufeff").split("\r\n")
    # The region filter makes the figures the region's: "Whole country" would contradict them.
    assert lines[:7] == [
        "Cards and uses by year",
        "Period;1.1.2025–31.12.2025",
        "Figures for;Pirkanmaa (region)",
        "Counts of 1 to 4 people are hidden, and so is any figure from which such a count could be worked out.",
        "<5;a count of 1 to 4 people",
        "×;hidden so that no count of 1 to 4 people can be worked out from the figures shown",
        "",
    ]
    assert lines[7:12] == ["Year;Cards registered;Total uses", "2024;×;34000", "2025;<5;12", "Total;1523;34012", ""]


def test_csv_download_escapes_formulas(client, figures, db):
    response = client.get("/stats/regions.csv?start=2025-01-01&end=2025-12-31&category=sports")
    assert response["Content-Disposition"].endswith('filename="kaikukortti-regions_2025-01-01_2025-12-31_sports.csv"')
    lines = response.content.decode("utf-8").split("\r\n")
    assert "Category;Sports" in lines
    assert "Regions by the card's issuing site." in lines
    assert '"\'=HYPERLINK(""http://evil"")";<5' in lines


def test_xlsx_download_is_a_workbook(client, figures, db):
    response = client.get("/stats/national-annual.xlsx?start=2025-01-01&end=2025-12-31")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Disposition"] == (
        'attachment; filename="kaikukortti-national-annual_2025-01-01_2025-12-31.xlsx"'
    )
    with zipfile.ZipFile(io.BytesIO(response.content)) as workbook:
        assert workbook.testzip() is None
        sheet = workbook.read("xl/worksheets/sheet1.xml").decode()
        strings = workbook.read("xl/sharedStrings.xml").decode()
    assert "<v>34012</v>" in sheet  # a number, not text
    assert "<t>&lt;5</t>" in strings
    assert "<t>1.1.2025–31.12.2025</t>" in strings


def test_dashboard_download_names_the_scope(client, figures, calls, distributor, site):
    client.force_login(distributor)
    response = client.get(f"/stats/dashboard/national-annual.csv?scope=site-{site.pk}&start=2025-01-01&end=2025-03-31")
    assert response.status_code == 200
    assert calls == [(StatsScope(StatsLevel.SITE, site.pk), calls[0][1])]
    assert response["Content-Disposition"] == (
        f'attachment; filename="kaikukortti-national-annual_site-{site.pk}_2025-01-01_2025-03-31.csv"'
    )
    assert "Figures for;Social services (distributor)" in response.content.decode("utf-8")
    # Without ?scope= the widest scope, as on the page.
    response = client.get("/stats/dashboard/national-annual.xlsx?start=2025-01-01&end=2025-03-31")
    assert response.status_code == 200
    assert f"_site-{site.pk}_" in response["Content-Disposition"]


def test_unknown_table_is_404(client, figures, distributor):
    assert client.get("/stats/no-such-table.csv").status_code == 404
    assert client.get("/stats/national-annual.pdf").status_code == 404
    client.force_login(distributor)
    assert client.get("/stats/dashboard/regions.csv").status_code == 404  # not on this dashboard


# --- queries ------------------------------------------------------------------------------------


def test_query_counts(client, figures, distributor, region, django_assert_num_queries):
    factories.RegionFactory.create_batch(5)
    # Each request is atomic: a savepoint and its release besides.
    with django_assert_num_queries(4):  # the regions of the filter, the register's fingerprint
        assert client.get("/stats/").status_code == 200
    with django_assert_num_queries(5):  # the regions of the filter, the region's name, the fingerprint
        assert client.get(f"/stats/regions.csv?region={region.pk}").status_code == 200
    client.force_login(distributor)
    # Session, user, the person's sites and coordinated regions (one query for scopes and navigation
    # alike), savepoint, site names, the fingerprint, release; the session is not written again
    # within a minute.
    with django_assert_num_queries(7):
        assert client.get("/stats/dashboard/").status_code == 200


# --- with the real figures ----------------------------------------------------------------------


PUBLIC_QUERIES_AT_MOST = 25
SITE_DASHBOARD_QUERIES_AT_MOST = 45


def _register(site, venue, municipality, *, cards: int) -> None:
    for card in factories.CardFactory.create_batch(cards, site=site, holder__municipality=municipality):
        factories.CardUseFactory(card=card, venue=venue)


def test_real_pages_and_downloads(client, admin_user, site, venue, municipality):
    _register(site, venue, municipality, cards=6)
    public = client.get("/stats/")
    assert public.status_code == 200
    slugs = [t["table"].slug for t in public.context["tables"]]
    assert len(slugs) == 2
    for slug in slugs:
        for extension in ("csv", "xlsx"):
            assert client.get(f"/stats/{slug}.{extension}").status_code == 200, (slug, extension)
    factories.CoordinatorFactory(user=admin_user, region=municipality.region)
    client.force_login(admin_user)
    for scope in ["national", f"region-{municipality.region_id}"]:
        response = client.get(f"/stats/dashboard/?scope={scope}")
        assert response.status_code == 200, scope
        for t in response.context["tables"]:
            download = client.get(f"/stats/dashboard/{t['table'].slug}.csv?scope={scope}")
            assert download.status_code == 200, (scope, t["table"].slug)


def test_real_query_counts_do_not_grow_with_the_data(client, distributor, site, venue, municipality):
    """A fixed number of queries per page, whatever the number of cards and uses."""
    _register(site, venue, municipality, cards=2)
    caches["stats"].clear()  # computed each time (a cached table would hide the queries)
    with CaptureQueriesContext(connection) as small_public:
        client.get("/stats/")
    client.force_login(distributor)
    caches["stats"].clear()
    with CaptureQueriesContext(connection) as small_dashboard:
        client.get("/stats/dashboard/")
    client.logout()
    _register(site, venue, municipality, cards=12)
    factories.CardUseFactory.create_batch(5, venue=venue)
    caches["stats"].clear()
    with CaptureQueriesContext(connection) as large_public:
        client.get("/stats/")
    client.force_login(distributor)
    caches["stats"].clear()
    with CaptureQueriesContext(connection) as large_dashboard:
        client.get("/stats/dashboard/")
    # The same number with more data; the exact numbers are the selectors' (their own tests pin
    # them); a bound here catches a table that starts querying per row.
    assert len(large_public) == len(small_public) <= PUBLIC_QUERIES_AT_MOST
    assert len(large_dashboard) == len(small_dashboard) <= SITE_DASHBOARD_QUERIES_AT_MOST


# --- no input gives a 500 -----------------------------------------------------------------------

PARAMS = ["start", "end", "region", "category", "preset", "scope"]


@hyp_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(
        ["/stats/", "/stats/national-annual.csv", "/stats/dashboard/", "/stats/dashboard/regions.xlsx"]
    ),
    params=st.dictionaries(
        st.sampled_from(PARAMS), st.one_of(st.sampled_from(NASTY), st.text(max_size=40)), max_size=len(PARAMS)
    ),
)
def test_no_filter_gives_a_500(client, figures, distributor, path, params):
    client.force_login(distributor)
    response = client.get(path, params)
    assert response.status_code in (200, 400, 404), (path, params)


@pytest.mark.parametrize(("language", "name"), [("fi", "Pirkanmaa"), ("sv", "Birkaland"), ("en", "Pirkanmaa")])
def test_a_region_is_named_in_swedish_on_swedish_pages(client, figures, region, language, name):
    # Found in review: municipalities had their Swedish names on Swedish pages, regions did not.
    region.name_sv = "Birkaland"
    region.save()

    page = client.get(f"/stats/?region={region.pk}", HTTP_ACCEPT_LANGUAGE=language).content.decode()

    assert f'<option value="{region.pk}" selected>{name}</option>' in page
