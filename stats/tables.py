"""The shape every statistics figure takes: a table, which pages, charts and downloads render.

Selectors (``stats.selectors``) compute tables from aggregate queries; ``stats.suppression``
hides small counts that describe people; views render the same table as HTML, as an SVG
chart, as CSV and as XLSX. A table is the source of truth: a chart never shows a number
the table does not.
"""

import datetime
from dataclasses import dataclass, field


class Suppressed:
    """A count hidden by the small-cell rule, shown as "<5" everywhere."""

    def __str__(self):
        return "<5"

    def __repr__(self):
        return "SUPPRESSED"

    def __eq__(self, other):
        return isinstance(other, Suppressed)

    def __hash__(self):
        return hash("<5")


SUPPRESSED = Suppressed()


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
    rows: list[dict] = field(default_factory=list)  # column key -> int | str | None | SUPPRESSED
    total: dict | None = None  # a totals row, same keys, or None
    chart: ChartSpec | None = None
    note: str = ""  # shown under the table and in the download's header
    # Set on a page's copy when the table predates the latest change and is being recomputed.
    as_of: datetime.datetime | None = None
    # Set when the table is computed for the cache: names that one computation, so a page can
    # reuse its rendering (a recomputation gets a new one). Empty: never reused.
    version: str = ""

    def column(self, key: str) -> Column:
        return next(column for column in self.columns if column.key == key)
