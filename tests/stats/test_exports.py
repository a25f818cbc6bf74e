"""CSV and XLSX files, the SVG chart and the filter, on hand-made tables (no database)."""

import datetime
import io
import re
import zipfile

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext

from stats import exports
from stats.charts import table_chart_svg
from stats.filters import StatsFilter
from stats.tables import COMPLEMENTARY, SUPPRESSED, ChartSpec, Column, Table

FILTERS = StatsFilter(start=datetime.date(2025, 1, 1), end=datetime.date(2025, 12, 31))


def table(rows, *, total=None, chart=True) -> Table:
    return Table(
        slug="by-site",
        title="Uses by site",
        columns=[
            Column("site", "Site", numeric=False),
            Column("adults", "Adult uses"),
            Column("children", "Child uses"),
            Column("cards", "Cards", personal=True),
        ],
        rows=rows,
        total=total,
        chart=ChartSpec("site", ("adults", "children")) if chart else None,
    )


def download(**kwargs) -> exports.Download:
    return exports.Download(filters=FILTERS, scope_label="Whole country", **kwargs)


@pytest.mark.parametrize(
    ("name", "escaped"),
    [
        ("=1+2", "'=1+2"),
        ("+358 40", "'+358 40"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTab", "'\tTab"),
        ("\rReturn", "'\rReturn"),
        (" =1+2", "' =1+2"),  # a spreadsheet skips the spaces before it looks
        ("\u00a0@SUM(A1)", "'\u00a0@SUM(A1)"),
        ("Theatre = fun", "Theatre = fun"),
        ("<5", "<5"),
        ("×", "×"),
    ],
)
def test_csv_escapes_cells_a_spreadsheet_would_run(name, escaped):
    assert exports.csv_escape(name) == escaped
    assert exports.csv_escape(-3) == -3  # numbers stay numbers
    assert exports.csv_escape(12.5) == "12,5"  # with a decimal comma


def test_csv_file(settings):
    settings.LANGUAGE_CODE = "en"
    data = exports.table_csv(
        table(
            [
                {"site": "=cmd|' /C calc'!A0", "adults": 1200, "children": 0, "cards": SUPPRESSED},
                {"site": "Museum", "adults": 10, "children": 0, "cards": COMPLEMENTARY},
            ],
            total={"site": "Total", "adults": 1210, "children": 0, "cards": 20},
        ),
        download(scope_slug="site-4", category_label="Culture"),
    )
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads UTF-8
    lines = data.decode("utf-8-sig").split("\r\n")
    assert lines == [
        "Uses by site",
        "Period;1.1.2025–31.12.2025",
        "Figures for;Whole country",
        "Category;Culture",
        "Counts of 1 to 4 people are hidden, and so is any figure from which such a count could be worked out.",
        # Each mark in the table, with its meaning: "×" says nothing of a figure's size.
        "<5;a count of 1 to 4 people",
        "×;hidden so that no count of 1 to 4 people can be worked out from the figures shown",
        "",
        "Site;Adult uses;Child uses;Cards",
        "'=cmd|' /C calc'!A0;1200;0;<5",
        "Museum;10;0;×",
        "Total;1210;0;20",
        "",
    ]


def test_a_download_explains_only_the_marks_its_table_holds(settings):
    settings.LANGUAGE_CODE = "en"

    def header(cards) -> list[str]:
        data = exports.table_csv(table([{"site": "A", "adults": 1, "children": 0, "cards": cards}]), download())
        lines = data.decode("utf-8-sig").split("\r\n")
        return lines[: lines.index("")]

    assert [line for line in header(7) if line.startswith(("<5", "×"))] == []
    assert [line for line in header(COMPLEMENTARY) if line.startswith(("<5", "×"))] == [
        "×;hidden so that no count of 1 to 4 people can be worked out from the figures shown"
    ]


def test_file_names():
    filters = StatsFilter(
        start=datetime.date(2025, 1, 1), end=datetime.date(2025, 12, 31), region_id=3, category="culture"
    )
    t = table([])
    assert (
        exports.file_name(t, exports.Download(filters=filters, scope_label="x"), "csv")
        == "kaikukortti-by-site_2025-01-01_2025-12-31_region-3_culture.csv"
    )
    assert (
        exports.file_name(t, exports.Download(filters=FILTERS, scope_label="x", scope_slug="venue-7"), "xlsx")
        == "kaikukortti-by-site_venue-7_2025-01-01_2025-12-31.xlsx"
    )
    assert filters.querystring() == "start=2025-01-01&end=2025-12-31&region=3&category=culture"


def test_a_table_of_every_year_says_so_in_its_download(settings):
    # The annual table ignores the period chosen: its file must not claim that period.
    settings.LANGUAGE_CODE = "en"
    every_year = table([{"site": "2025", "adults": 1, "children": 0, "cards": 7}])
    every_year.every_year = True
    lines = exports.table_csv(every_year, download()).decode("utf-8-sig").split("\r\n")
    today = timezone.localdate()
    assert lines[1] == f"Period;every year until {today.day}.{today.month}.{today.year}"
    assert "1.1.2025" not in "".join(lines)
    assert exports.file_name(every_year, download(), "csv") == "kaikukortti-by-site_all-years.csv"


def test_an_xlsx_sheet_is_named_by_the_tables_title_in_the_readers_language():
    finnish = table([])
    with translation.override("fi"):
        finnish.title = gettext("Uses by venue")
        data = exports.table_xlsx(finnish, download())
    too_long = table([])
    too_long.title = "Käyttökerrat: kohteittain [kaikki] / vuosittain ja kuukausittain"
    long_data = exports.table_xlsx(too_long, download())

    with zipfile.ZipFile(io.BytesIO(data)) as workbook:
        assert f'name="{finnish.title}"' in workbook.read("xl/workbook.xml").decode()
    assert finnish.title != "Uses by venue"
    with zipfile.ZipFile(io.BytesIO(long_data)) as workbook:
        assert 'name="Käyttökerrat kohteittain kaikki"' in workbook.read("xl/workbook.xml").decode()


def test_xlsx_numbers_are_numbers_and_text_is_never_a_formula():
    data = exports.table_xlsx(
        table(
            [
                {"site": '=HYPERLINK("http://x")', "adults": 1234, "children": 5, "cards": SUPPRESSED},
                {"site": "Museum", "adults": 9, "children": 0, "cards": COMPLEMENTARY},
            ]
        ),
        download(),
    )
    with zipfile.ZipFile(io.BytesIO(data)) as workbook:
        assert workbook.testzip() is None
        sheet = workbook.read("xl/worksheets/sheet1.xml").decode()
        strings = workbook.read("xl/sharedStrings.xml").decode()
        assert 'name="Uses by site"' in workbook.read("xl/workbook.xml").decode()  # the title, translated
    assert "<f>" not in sheet  # no formulas at all
    assert re.search(r'<c r="B9"[^>]*><v>1234</v></c>', sheet)  # after two rows of marks
    assert "<t>=HYPERLINK(&quot;http://x&quot;)</t>" in strings or '<t>=HYPERLINK("http://x")</t>' in strings
    assert "<t>&lt;5</t>" in strings
    assert "<t>×</t>" in strings
    assert "<t>Counts of 1 to 4 people are hidden" in strings
    assert "<t>a count of 1 to 4 people</t>" in strings


def test_chart_draws_what_the_table_shows():
    svg = str(
        table_chart_svg(
            table(
                [
                    {"site": "Theatre <Tampere>", "adults": 100, "children": 50, "cards": 9},
                    {"site": "Museum", "adults": SUPPRESSED, "children": 0, "cards": 9},
                    {"site": "Library", "adults": COMPLEMENTARY, "children": 2, "cards": 9},
                ]
            ),
            element_id="c1",
        )
    )
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert 'role="img" aria-labelledby="c1-title c1-desc"' in svg
    assert '<title id="c1-title">Bar chart: Uses by site</title>' in svg
    assert "style=" not in svg  # the CSP allows no inline style
    assert "Theatre &lt;Tampere&gt;" in svg
    # Bars: two legend swatches, then 100 (full width), 50 (half), nothing for <5, × and 0, and
    # 2 (a sliver): a hidden figure has its mark instead of a bar, and no length to measure.
    widths = re.findall(r'<rect x="150" y="[\d.]+" width="([\d.]+)" height="14"', svg)
    assert widths == ["354", "177", "7.1"]
    assert ">&lt;5</text>" in svg
    assert ">×</text>" in svg
    assert "Hidden figures are not drawn" in svg
    assert str(table_chart_svg(table([], chart=True), element_id="c2")) == ""
    assert str(table_chart_svg(table([{"site": "A", "adults": 1}], chart=False), element_id="c3")) == ""
