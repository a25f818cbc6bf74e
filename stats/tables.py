"""The shape every statistics figure takes: a table, which pages, charts and downloads render.

Selectors (``stats.selectors``) compute tables from aggregate queries; ``stats.suppression``
hides small counts that describe people; views render the same table as HTML, as an SVG
chart, as CSV and as XLSX. A table is the source of truth: a chart never shows a number
the table does not.
"""

import datetime
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import pgettext


class Suppressed:
    """A figure hidden by the small-cell rule (``stats.suppression``); pages, charts and downloads
    show its mark instead, and its meaning in a line beside the table.

    ``SUPPRESSED`` ("<5"): a count of 1 to 4 people. ``COMPLEMENTARY`` ("×"): hidden so that no
    such count can be worked out from the figures shown; it says nothing of its own size (it may
    even be small itself, where telling the two apart would give a small count away). The mark and
    its meaning are translatable; so is what a screen reader says for the mark in a cell.
    """

    def __init__(self, name: str):
        self.name = name

    @property
    def mark(self) -> str:
        if self.name == "COMPLEMENTARY":
            return pgettext("statistics: mark of a hidden figure", "×")
        return pgettext("statistics: mark of a count of 1 to 4", "<5")

    @property
    def spoken(self) -> str:
        """The mark in words, for a screen reader ("×" would be read as "times")."""
        if self.name == "COMPLEMENTARY":
            return pgettext("statistics: a hidden figure, read aloud", "hidden")
        return pgettext("statistics: a count of 1 to 4, read aloud", "fewer than 5")

    @property
    def meaning(self) -> str:
        """The mark's line in a legend: next to a table, and in a download's header."""
        if self.name == "COMPLEMENTARY":
            return _("hidden so that no count of 1 to 4 people can be worked out from the figures shown")
        return _("a count of 1 to 4 people")

    def __str__(self):
        return self.mark

    def __repr__(self):
        return self.name

    def __eq__(self, other):
        return isinstance(other, Suppressed) and other.name == self.name

    def __hash__(self):
        return hash(self.name)

    def __reduce__(self):
        # Tables are kept in the cache: unpickled, a mark is the module's own instance again.
        return (_mark_named, (self.name,))


SUPPRESSED = Suppressed("SUPPRESSED")
COMPLEMENTARY = Suppressed("COMPLEMENTARY")
MARKS = (SUPPRESSED, COMPLEMENTARY)  # in the order a legend lists them


def _mark_named(name: str) -> Suppressed:
    return COMPLEMENTARY if name == "COMPLEMENTARY" else SUPPRESSED


def table_marks(table: "Table") -> list[Suppressed]:
    """The marks the table shows, for its legend."""
    rows = [*table.rows, *([table.total] if table.total else [])]
    used = {value.name for row in rows for value in row.values() if isinstance(value, Suppressed)}
    return [mark for mark in MARKS if mark.name in used]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    # A count of people (cards, holders, demographics): under 5 it is suppressed. Use counts
    # per venue are not personal and are shown as they are.
    personal: bool = False
    numeric: bool = True
    # False for distinct counts (cards taken into use, distinct cards visited): their total is
    # not the sum of the rows, so a hidden cell can only be bounded from it, not computed.
    additive: bool = True


@dataclass(frozen=True)
class ChartSpec:
    """Which column labels the bars and which columns give their values."""

    label_key: str
    value_keys: tuple[str, ...]


@dataclass
class Table:
    slug: str  # stable, ASCII: used in URLs and file names, e.g. "national-annual"
    title: str
    columns: list[Column]
    rows: list[dict] = field(default_factory=list)  # column key -> int | float | str | None | Suppressed
    total: dict | None = None  # a totals row, same keys, or None
    chart: ChartSpec | None = None
    note: str = ""  # shown under the table and in the download's header
    # Every year since the first record until today, whatever period the filter chose.
    every_year: bool = False
    # Set on a page's copy when the table predates the latest change and is being recomputed.
    as_of: datetime.datetime | None = None
    # Set when the table is computed for the cache: names that one computation, so a page can
    # reuse its rendering (a recomputation gets a new one). Empty: never reused.
    version: str = ""

    def column(self, key: str) -> Column:
        return next(column for column in self.columns if column.key == key)
