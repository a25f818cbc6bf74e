"""The small-cell rule: no figure may be traced back to a person.

Primary suppression: a count of people (a ``personal`` column: cards, holders, demographics)
from 1 to 4 is shown as ``SUPPRESSED`` ("<5"); 0 is shown, since "nobody" names no one.

Complementary (secondary) suppression: a hidden cell must not be computable back from a total
that is shown. When a column with a shown total, or a row with a shown row total, holds exactly
one hidden cell, the smallest non-zero shown cell of that column or row is hidden too. One
hiding can make another line reveal a cell, so this repeats until nothing changes.

Totals (the totals row) are never hidden by the complementary rule, only when they are
themselves under 5: they are the headline figures the programme publishes. So a column total
under 5 can be worked out from a shown grand total when it is the only hidden one in the totals
row; it is a count over the whole table (the scope and period), never a row's. A row's own
total (a ``row_totals`` column in the body) is an ordinary cell of its column and may be
hidden to protect another row's total.

A distinct count (a column that is not ``additive``: cards taken into use, distinct cards
visited) has a total that is not the sum of its rows: the total minus the other rows is only a
lower bound for a hidden cell. Its complementary cell is hidden only when that bound says
something (is above 0); "2 of 52 cards were used in 2025, 52 in 2026" needs no second hiding.

Use counts (not personal) are shown as they are.
"""

import dataclasses

from .tables import SUPPRESSED, Suppressed, Table

THRESHOLD = 5


def _is_small(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < THRESHOLD


def _is_shown_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def table_suppress(table: Table, *, row_totals: dict[str, tuple[str, ...]] | None = None) -> Table:
    """A copy of ``table`` with small personal counts, and the cells that would reveal them, hidden.

    ``row_totals`` maps a column holding a row's total to the columns it sums, e.g.
    ``{"total": ("female", "male", "other")}``: such rows are protected like columns are.
    """
    personal = {column.key for column in table.columns if column.personal and column.numeric}
    distinct = {column.key for column in table.columns if not column.additive}
    rows = [dict(row) for row in table.rows]
    total = dict(table.total) if table.total is not None else None

    for row in [*rows, *([total] if total is not None else [])]:
        for key in personal:
            if _is_small(row.get(key)):
                row[key] = SUPPRESSED

    # Each line: the cells it sums, the cell holding its total, and whether its cells may be
    # hidden to protect it (cells of the totals row may not).
    lines: list[tuple[list[tuple[dict, str]], tuple[dict, str], bool]] = []
    if total is not None:
        for key in sorted(personal, key=[column.key for column in table.columns].index):
            lines.append(([(row, key) for row in rows], (total, key), True))
    for total_key, part_keys in (row_totals or {}).items():
        if total_key not in personal:
            continue
        parts = [key for key in part_keys if key in personal]
        for row in rows:
            lines.append(([(row, key) for key in parts], (row, total_key), True))
        if total is not None:
            lines.append(([(total, key) for key in parts], (total, total_key), False))

    changed = True
    while changed:
        changed = False
        for cells, (total_row, total_key), may_hide in lines:
            if not _is_shown_count(total_row.get(total_key)):
                continue  # no total shown (hidden, or none): nothing to compute back from
            hidden = [cell for cell in cells if isinstance(cell[0].get(cell[1]), Suppressed)]
            if len(hidden) != 1 or not may_hide:
                continue
            candidates = [cell for cell in cells if _is_shown_count(cell[0].get(cell[1])) and cell[0][cell[1]] > 0]
            if not candidates:
                continue
            if total_key in distinct and total_row is total:
                shown = sum(cell[0][cell[1]] for cell in cells if _is_shown_count(cell[0].get(cell[1])))
                if total_row[total_key] - shown <= 0:
                    continue  # the total bounds the hidden cell by nothing: it stays the only one hidden
            row, key = min(candidates, key=lambda cell: cell[0][cell[1]])
            row[key] = SUPPRESSED
            changed = True

    return dataclasses.replace(table, rows=rows, total=total)
