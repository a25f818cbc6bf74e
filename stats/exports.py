"""Statistics tables as CSV and XLSX downloads.

Every download starts with header rows that say what the figures are: the table, the period,
whose figures (the scope), the filters, and the small-cell rule. Then the column names, the
rows and the totals row, exactly as the page shows them: a hidden figure as its mark ("<5", "×"),
each mark the table holds explained in a header row of its own.

CSV: UTF-8 with a byte order mark, ``;`` between cells and a decimal comma: the file is made
for Finnish and Swedish Excel, which read ``,`` as the decimal separator and would open a
comma-separated file as one column; with the BOM Excel reads "ä" and "å" right. (The XLSX
file is the one that opens the same everywhere.) Cells that a spreadsheet would run as a formula (starting
with ``= + - @``, a tab or a carriage return) get a leading apostrophe.

XLSX: numbers are numbers, a mark and every other text is text (never a formula or a link).
"""

import csv
import io
from dataclasses import dataclass

import xlsxwriter
from django.utils import timezone
from django.utils.translation import gettext as _

from .filters import StatsFilter
from .tables import Suppressed, Table, table_marks

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def suppression_rule() -> str:
    return _("Counts of 1 to 4 people are hidden, and so is any figure from which such a count could be worked out.")


@dataclass(frozen=True)
class Download:
    """What a download is of, besides the table: for its header rows and its file name."""

    filters: StatsFilter
    scope_label: str  # "Whole country", "Pirkanmaa (region)", "Theatre Tampere (venue)"
    scope_slug: str = ""  # "" on the public page, else e.g. "region-3"
    region_label: str = ""  # the region filter's region: then the figures are for it
    category_label: str = ""


def file_name(table: Table, download: Download, extension: str) -> str:
    """``kaikukortti-national-annual_2025-01-01_2025-12-31_region-3.csv``: ASCII, no spaces."""
    parts = [f"kaikukortti-{table.slug}"]
    if download.scope_slug:
        parts.append(download.scope_slug)
    parts.append(download.filters.file_part(period=not table.every_year))
    return "_".join(parts) + "." + extension


def _day(day) -> str:
    return f"{day.day}.{day.month}.{day.year}"


def header_rows(table: Table, download: Download) -> list[list[str]]:
    filters = download.filters
    rows = [
        [str(table.title)],
        [
            _("Period"),
            _("every year until %(day)s") % {"day": _day(timezone.localdate())}
            if table.every_year
            else f"{_day(filters.start)}–{_day(filters.end)}",
        ],
        # The region filter narrows any scope to one region: the figures are that region's, and
        # "Whole country" beside it would contradict them.
        [
            _("Figures for"),
            _("%(name)s (region)") % {"name": download.region_label} if download.region_label else download.scope_label,
        ],
    ]
    if download.category_label:
        rows.append([_("Category"), download.category_label])
    rows.append([suppression_rule()])
    rows += [[str(mark), mark.meaning] for mark in table_marks(table)]
    if table.note:
        rows.append([str(table.note)])
    return rows


def cell_value(value):
    """A cell as a download holds it: an int stays a number, everything else is text."""
    if value is None:
        return ""
    if isinstance(value, Suppressed):
        return str(value)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return value
    return str(value)


def body_rows(table: Table) -> list[list]:
    rows = [[str(column.label) for column in table.columns]]
    for row in [*table.rows, *([table.total] if table.total else [])]:
        rows.append([cell_value(row.get(column.key)) for column in table.columns])
    return rows


def csv_escape(value):
    # Spreadsheets skip leading spaces (a no-break space too) before they look for a formula.
    if isinstance(value, str) and value.lstrip(" \u00a0").startswith(FORMULA_STARTS):
        return "'" + value
    if isinstance(value, float):
        # A decimal comma, as Finnish and Swedish Excel read it (a share such as 12,5).
        return str(value).replace(".", ",")
    return value


def table_csv(table: Table, download: Download) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    for row in [*header_rows(table, download), [], *body_rows(table)]:
        writer.writerow([csv_escape(cell) for cell in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _sheet_name(table: Table) -> str:
    # The tab a reader sees: the table's title in their language. (The file's name stays the
    # table's ASCII slug: the same name whatever the language, for whoever files or scripts them.)
    # Excel: at most 31 characters, none of []:*?/\ and no apostrophe at either end.
    name = "".join(ch for ch in str(table.title) if ch not in "[]:*?/\\").strip().strip("'")
    return name[:31].rstrip() or table.slug[:31]


def table_xlsx(table: Table, download: Download) -> bytes:
    out = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    )
    sheet = workbook.add_worksheet(_sheet_name(table))
    bold = workbook.add_format({"bold": True})
    header = header_rows(table, download)
    for r, row in enumerate(header):
        for c, cell in enumerate(row):
            sheet.write_string(r, c, cell, bold if r == 0 else None)
    first = len(header) + 1
    body = body_rows(table)
    for r, row in enumerate(body, start=first):
        is_head = r == first
        is_total = table.total is not None and r == first + len(body) - 1
        for c, cell in enumerate(row):
            style = bold if is_head or is_total else None
            if isinstance(cell, str):
                sheet.write_string(r, c, cell, style)
            else:
                sheet.write_number(r, c, cell, style)
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, max(len(table.columns) - 1, 1), 14)
    workbook.close()
    return out.getvalue()
