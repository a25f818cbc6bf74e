"""The small-cell rule: no figure may be traced back to a person.

Primary suppression: a count of people (a ``personal`` column: cards, holders, demographics)
from 1 to 4 is hidden and marked ``SUPPRESSED`` ("<5"); 0 is shown, since "nobody" names no one.

Complementary (secondary) suppression: a hidden cell must not be computable back from a total
that is shown. When a column with a shown total, or a row with a shown row total, holds exactly
one hidden cell, the smallest non-zero shown cell of that column or row is hidden too and marked
``COMPLEMENTARY`` ("×"). One hiding can make another line reveal a cell, so this repeats until
nothing changes.

Hidden cells are each at least 1 (a 0 is shown), so two or more hidden cells of a line whose
total leaves them exactly their own number (two cells beside 10 with a total of 12) are each 1:
the smallest non-zero shown cell of that line is hidden too. Where the line has none (five 1s
and 0s beside a total of 5), nothing is left to hide but the total, which the totals row never
hides (below): those cells stay each 1, a known limit (README, "Known gaps").

Totals (the totals row) are never hidden by the complementary rule, only when they are
themselves under 5: they are the headline figures the programme publishes. So a column total
under 5 can be worked out from a shown grand total when it is the only hidden one in the totals
row; it is a count over the whole table (the scope and period), never a row's. A row's own
total (a ``row_totals`` column in the body) is an ordinary cell of its column and may be
hidden to protect another row's total.

A table whose rows are each shown elsewhere (``rows_shown_elsewhere``: the annual table's years
are the other tables' totals for a period of that year, on the same page by default) cannot
protect a hidden cell by hiding another row: its column's total is hidden instead ("×"), the
one place where the totals row is hidden to protect another cell.

A distinct count (a column that is not ``additive``: cards taken into use, distinct cards
visited) has a total that is not the sum of its rows: the total minus the other rows is only a
lower bound for a hidden cell. Its complementary cell is hidden only when that bound says
something (is above 0); "2 of 52 cards were used in 2025, 52 in 2026" needs no second hiding.

Two marks say more than one: "<5" is 1 to 4, and a "×" then is 5 or more (a 1 to 4 would be
"<5", a 0 is shown). With the totals that can narrow a small count down: a column of 1 and 5
with a total of 6 gives the 1 away once the 5 is known to be the "×", and two "<5" with a total
of 8 are both 4. So the marks are checked before they are shown (``_marks_that_would_tell``):
for every small count, the values from 1 to 4 it could take, given the totals, the shown cells
and what each mark says, must be all those it could take with one mark for every hidden cell
(as every hidden cell was marked before "×" came). Where they would not be, every hidden cell of
that group (the cells the totals tie together) is marked "×", which says nothing of a cell's
size; a reader then knows what one mark told. (A cell of the totals row keeps its "<5": it is
never hidden to protect another, so one mark told that it was 1 to 4 as well.) The check reads
"×" as 5 or more even though it may not be, as if the reader knew which hidden cell is which.
Which cells are hidden never depends on the marks: only how they are marked.

Tables shown together (``linked``): a site's figures add up to its municipality's, shown in the
table beside it. Each such group of rows is a line whose total is the other table's figure, as
that table publishes it: protected as a column is, and where the figure is hidden there, its
parts are never all shown. Its lines come first, so that a group is protected within itself
rather than by hiding a cell of another group.

A part of another count of the same row (``differences``: the holders in OmaKaiku among the
valid cards) leaves their difference as a count of people that no cell shows: where it is 1 to
4 ("10 valid, 9 in OmaKaiku"), the part is hidden ("×") and then protected as any hidden cell,
by a part with 5 or more of room below its whole (a hidden "5 of 5" would still be 5); where the
column has none, by hiding the column's total, the second case where a total is hidden.

The rules above look at one line at a time, and lines read together can still pin a small
count down: a row total hidden ("×") while its parts are all shown is their sum; a part hidden in
a row whose other parts are 0 is that row's total; with both known, a column gave a "<5" away.
So, after them, every hidden small count (and every part hidden for a difference) is checked
against all of the table's lines at once, in the network that also checks the marks (below): a
cell that no cycle can move is pinned, and the smallest shown cell (never of the totals row)
whose hiding, with the hiding the rules above then add, frees it is hidden too, first from its
own lines, then from the lines its hidden neighbours are in; where no one cell does, two
together (two rows of one part each can pin a count between them); repeated until nothing is
pinned. A pinned cell that none of these frees is left (a known limit, as in the cases above
where only a total would help). A linked table's figures are lines of that check too.

A part shown beside its hidden whole (9 holders in OmaKaiku beside hidden valid cards) bounds
the whole from below, which with the column's total can pin it: the part is hidden ("×") too.

Use counts (not personal) are shown as they are.
"""

import dataclasses
import itertools
from collections import deque
from dataclasses import dataclass

from .tables import COMPLEMENTARY, SUPPRESSED, Suppressed, Table

THRESHOLD = 5


def _is_small(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < THRESHOLD


def _is_shown_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _room(cell: tuple[dict, str], differences: dict[str, str] | None) -> float:
    """How far a cell's figure could grow as far as its own row says: a part of a count shown
    beside it (``differences``) up to that count; any other cell without end."""
    row, key = cell
    whole = (differences or {}).get(key)
    if whole is None or not _is_shown_count(row.get(whole)):
        return float("inf")
    return row[whole] - row[key]


@dataclass
class _Line:
    """Cells that sum to a total: a column (its cells and the totals row's cell) or a row (its
    parts and its row total). A distinct count's column sums to at least its total."""

    parts: list[tuple[dict, str]]
    total: tuple[dict, str]
    may_hide: bool  # whether its cells may be hidden to protect it (the totals row's may not)
    additive: bool = True
    hide_total: bool = False  # its parts are each shown elsewhere: protect them with the total
    # Its total is a figure of another table (``linked``): where that one is hidden, the parts
    # must not all be shown, or they would add up to it.
    total_elsewhere: bool = False


def table_suppress(
    table: Table,
    *,
    row_totals: dict[str, tuple[str, ...]] | None = None,
    rows_shown_elsewhere: bool = False,
    linked: list[tuple[list[int], dict]] | None = None,
    differences: dict[str, str] | None = None,
) -> Table:
    """A copy of ``table`` with small personal counts, and the cells that would reveal them, hidden.

    ``row_totals`` maps a column holding a row's total to the columns it sums, e.g.
    ``{"total": ("female", "male", "other")}``: such rows are protected like columns are.
    ``rows_shown_elsewhere``: each row's figures are published by other tables too, so a hidden
    cell is protected by hiding its column's total (see the module's text).
    ``linked``: groups of rows (their indexes) whose personal counts add up exactly to a row of
    another table shown beside this one, given as that table publishes it (already suppressed):
    a site's figures to its municipality's. Each group is protected against that row as a column
    is against its total, and where that row's cell is hidden, not every part of it is shown.
    ``differences`` maps a personal column to a column of the same row that holds it and more,
    e.g. ``{"omakaiku": "total"}``: the difference (valid cards whose holder has no OmaKaiku) is
    a count of people as well, shown by no cell, so where it is 1 to 4 the part is hidden ("×").
    Such a part is at most its whole: it protects another cell only with 5 or more of room
    ("5 of 5" would be known for 5); where no cell of the column has room, the column's total
    is hidden ("×").
    """
    personal = {column.key for column in table.columns if column.personal and column.numeric}
    distinct = {column.key for column in table.columns if not column.additive}
    rows = [dict(row) for row in table.rows]
    total = dict(table.total) if table.total is not None else None
    # Each copied row's own figures, for checking the marks once cells are hidden.
    originals = {id(row): source for row, source in zip(rows, table.rows, strict=True)}
    if total is not None:
        originals[id(total)] = table.total

    # The cells that stand for a count of 1 to 4 people: each must stay unknown (checked below).
    protected: set[tuple[int, str]] = set()
    for row in [*rows, *([total] if total is not None else [])]:
        for key in personal:
            if _is_small(row.get(key)):
                row[key] = SUPPRESSED
                if row is not total:  # the totals row's own small counts: a known limit (above)
                    protected.add((id(row), key))
        for key, whole in (differences or {}).items():
            if _is_shown_count(row.get(key)) and _is_shown_count(row.get(whole)) and _is_small(row[whole] - row[key]):
                row[key] = COMPLEMENTARY
                protected.add((id(row), key))

    lines: list[_Line] = []
    if total is not None:
        for key in sorted(personal, key=[column.key for column in table.columns].index):
            lines.append(
                _Line(
                    [(row, key) for row in rows],
                    (total, key),
                    True,
                    additive=key not in distinct,
                    hide_total=rows_shown_elsewhere,
                )
            )
    for total_key, part_keys in (row_totals or {}).items():
        if total_key not in personal:
            continue
        parts = [key for key in part_keys if key in personal]
        for row in rows:
            lines.append(_Line([(row, key) for key in parts], (row, total_key), True))
        if total is not None:
            lines.append(_Line([(total, key) for key in parts], (total, total_key), False))

    own_lines = list(lines)  # the marks are checked within this table (below)
    # The linked groups first: hiding within a group protects both it and its column, where a
    # cell of another group, hidden for the column, would leave the group's cell computable.
    linked_lines = []
    for indexes, published in linked or []:
        elsewhere = dict(published)  # not shown in this table: only its figures are read
        for key in sorted(personal, key=[column.key for column in table.columns].index):
            if key in elsewhere:
                # Places nest: a card is in one site, so even a distinct count adds up exactly.
                parts = [(rows[i], key) for i in indexes]
                linked_lines.append(_Line(parts, (elsewhere, key), True, total_elsewhere=True))
    lines = linked_lines + lines

    _complement(lines, total, differences, rows)
    # The rules above look at one line at a time. Where the lines together still pin a hidden
    # small count down (a row total hidden while its parts are all shown; a part hidden in a row
    # whose other parts are 0), another cell is hidden, until none is pinned (``_unpin``).
    # Read together with the linked tables' figures too: a municipality's published figure and
    # its sites' cells are one more equation (its true figure is their sum: places nest).
    for line in linked_lines:
        elsewhere, key = line.total
        originals.setdefault(id(elsewhere), {})[key] = sum(originals[id(row)][k] for row, k in line.parts)
    given_up: set[tuple[int, str]] = set()
    ours = {id(row) for row in rows}
    while extra := _unpin(
        linked_lines + own_lines,
        originals,
        protected,
        differences,
        ours,
        lambda: _complement(lines, total, differences, rows),
        given_up,
        [*rows, *([total] if total is not None else [])],
    ):
        for row, key in extra:
            row[key] = COMPLEMENTARY
        _complement(lines, total, differences, rows)

    # The marks are checked against this table's own totals; another table's (``linked``) are
    # a known limit (README, "Known gaps").
    for row, key in _marks_that_would_tell(own_lines, originals, differences):
        row[key] = COMPLEMENTARY

    return dataclasses.replace(table, rows=rows, total=total)


def _complement(lines: list[_Line], total: dict | None, differences: dict[str, str] | None, rows: list[dict]) -> None:
    """Hide cells ("×") until no line leaves a hidden cell computable from its total (the rules
    of the module's text, one line at a time), repeated until nothing changes."""
    changed = True
    while changed:
        changed = False
        for row in rows:
            for part, whole in (differences or {}).items():
                # A part shown beside its hidden whole bounds the whole from below (9 holders in
                # OmaKaiku: 9 valid cards or more), which with the column's total can pin it.
                if isinstance(row.get(whole), Suppressed) and _is_shown_count(row.get(part)) and row[part] > 0:
                    row[part] = COMPLEMENTARY
                    changed = True
        for line in lines:
            total_row, total_key = line.total
            if line.total_elsewhere and isinstance(total_row.get(total_key), Suppressed):
                cells = line.parts
                if not any(isinstance(cell[0].get(cell[1]), Suppressed) for cell in cells):
                    candidates = [c for c in cells if _is_shown_count(c[0].get(c[1])) and c[0][c[1]] > 0]
                    if candidates:
                        row, key = min(candidates, key=lambda cell: cell[0][cell[1]])
                        row[key] = COMPLEMENTARY
                        changed = True
                continue
            if not _is_shown_count(total_row.get(total_key)):
                continue  # no total shown (hidden, or none): nothing to compute back from
            cells = line.parts
            hidden = [cell for cell in cells if isinstance(cell[0].get(cell[1]), Suppressed)]
            if not hidden:
                continue
            if line.hide_total:
                shown = sum(cell[0][cell[1]] for cell in cells if _is_shown_count(cell[0].get(cell[1])))
                if line.additive or total_row[total_key] - shown > 0:
                    total_row[total_key] = COMPLEMENTARY
                    changed = True
                continue
            if not line.may_hide:
                continue
            candidates = [cell for cell in cells if _is_shown_count(cell[0].get(cell[1])) and cell[0][cell[1]] > 0]
            if not candidates and len(hidden) == 1 and total_row is total and hidden[0][1] in (differences or {}):
                # A part hidden for its difference, beside zeros, is its column's total: protected
                # by hiding the total, as where no other cell has room (below).
                total_row[total_key] = COMPLEMENTARY
                changed = True
                continue
            if not candidates:
                continue
            # A part of a count beside it (``differences``) is at most that count: "5 of 5 valid
            # cards" hidden as "×" (5 or more) is still 5. Only a part with room to vary protects.
            roomy = [cell for cell in candidates if _room(cell, differences) >= THRESHOLD]
            if not roomy:
                if total_row is not total:
                    continue
                # Nothing in the column can protect the cell: its total is hidden instead.
                total_row[total_key] = COMPLEMENTARY
                changed = True
                continue
            candidates = roomy
            shown = sum(cell[0][cell[1]] for cell in cells if _is_shown_count(cell[0].get(cell[1])))
            if len(hidden) > 1:
                # Every hidden cell is at least 1 (a 0 is shown): hidden cells that add up to
                # their own number are each 1, e.g. two "<5" beside 10 with a total of 12.
                if not line.additive or total_row[total_key] - shown != len(hidden):
                    continue
            elif not line.additive and total_row[total_key] - shown <= 0:
                continue  # the total bounds the hidden cell by nothing: it stays the only one hidden
            row, key = min(candidates, key=lambda cell: cell[0][cell[1]])
            row[key] = COMPLEMENTARY
            changed = True


# --- checking the marks ---------------------------------------------------------------------
#
# The hidden cells are the unknowns of the equations the lines make (parts = total; for a
# distinct count, parts = total + the cards counted in more than one row, 0 or more). Each cell
# is in at most two lines (its column, and its row when rows have totals), as a part in one and a
# part or the total in the other, so the equations are a flow network: a line is a node, a hidden
# cell an arc carrying its figure out of one line and into the other (or to and from a "ground"
# node when it is in one line only). Lines tied together by hidden cells make a group; groups
# share no unknowns, so each is checked, and marked, on its own. The true figures are one flow
# that fits. A small count can be raised (lowered) by k with every equation holding exactly when
# k more units can go round a cycle through its arc within the other arcs' bounds: k augmenting
# paths, k <= 3 (from 1 to 4).
#
# The bounds are what a reader knows. With one mark (as before "×" came): a hidden cell is 1 or
# more, and a cell of the totals row, never hidden to protect another, 1 to 4. With two marks:
# "<5" is 1 to 4 and "×" 5 or more; as if the reader knew which hidden cell is which, for they
# may well work it out. A distinct count's cell is at most its shown total, with either.

UNBOUNDED = None
SMALL = (1, THRESHOLD - 1)


@dataclass
class _Arc:
    tail: object  # the node its figure leaves
    head: object  # the node its figure enters
    value: int
    # "small": a count of 1 to 4 ("<5"); "known": one too, and one mark told as much (a cell of
    # the totals row); "hidden": hidden to protect one ("×"); "overlap": a distinct count's cards
    # counted in more than one row.
    kind: str
    high: int | None = UNBOUNDED
    cell: tuple[dict, str] | None = None


@dataclass
class _Group:
    """The hidden cells that the lines tie together, and the lines' equations as a network."""

    arcs: list[_Arc]
    checkable: bool = True
    _touching: dict | None = None  # node -> the arcs at it

    def bounds(self, index: int, marks: int) -> tuple[int, int | None]:
        """What a reader knows of arc ``index`` with one mark for every hidden cell, or two."""
        arc = self.arcs[index]
        if arc.kind == "overlap":
            return (0, UNBOUNDED)
        if arc.kind == "known":
            return SMALL
        if marks == 1:
            return (1, arc.high)
        return SMALL if arc.kind == "small" else (THRESHOLD, arc.high)

    def marks_tell_more(self) -> bool:
        """Whether, with two marks, some small count here could take fewer of the values 1 to 4
        than with one."""
        if not self.checkable:
            return True  # never trusted unchecked
        for index, arc in enumerate(self.arcs):
            if arc.kind not in ("small", "known"):
                continue
            up, down = THRESHOLD - 1 - arc.value, arc.value - 1
            for start, end, limit in ((arc.head, arc.tail, up), (arc.tail, arc.head, down)):
                room = self._room(index, 2, start, end, limit)
                if room < limit and room < self._room(index, 1, start, end, limit):
                    return True
        return False

    def pinned(self, index: int) -> bool:
        """Whether the lines leave arc ``index`` one value only, with one mark for every hidden
        cell (which two marks may not narrow: ``marks_tell_more``). A small count within 1 to 4."""
        if not self.checkable:
            return False  # a known limit: not checked
        arc = self.arcs[index]
        low, high = self.bounds(index, 1)
        if arc.kind in ("small", "known"):
            high = THRESHOLD - 1
        can_rise = (high is UNBOUNDED or arc.value < high) and self._room(index, 1, arc.head, arc.tail, 1) > 0
        can_fall = arc.value > low and self._room(index, 1, arc.tail, arc.head, 1) > 0
        return not (can_rise or can_fall)

    def _room(self, skip: int, marks: int, start, end, limit: int) -> int:
        """How many units (up to ``limit``) can go from ``start`` to ``end`` through the arcs but
        ``skip``, each within its bounds: how far that arc can move with every line holding."""
        flow = [arc.value for arc in self.arcs]
        for sent in range(limit):
            path = self._path(skip, marks, flow, start, end)
            if path is None:
                return sent
            for index, step in path:
                flow[index] += step
        return limit

    def _path(self, skip: int, marks: int, flow: list[int], start, end) -> list[tuple[int, int]] | None:
        """A shortest path with room for one more unit: [(arc index, +1 along it or -1 against)]."""
        if self._touching is None:
            self._touching = {}
            for index, arc in enumerate(self.arcs):
                self._touching.setdefault(arc.tail, []).append(index)
                self._touching.setdefault(arc.head, []).append(index)
        previous = {start: None}
        queue = deque([start])
        while queue and end not in previous:
            node = queue.popleft()
            for index in self._touching.get(node, ()):
                if index == skip:
                    continue
                arc = self.arcs[index]
                low, high = self.bounds(index, marks)
                if arc.tail == node and arc.head not in previous and (high is UNBOUNDED or flow[index] < high):
                    previous[arc.head] = (node, index, 1)
                    queue.append(arc.head)
                elif arc.head == node and arc.tail not in previous and flow[index] > low:
                    previous[arc.tail] = (node, index, -1)
                    queue.append(arc.tail)
                if end in previous:
                    break
        if end not in previous:
            return None
        path, node = [], end
        while previous[node] is not None:
            node, index, step = previous[node]
            path.append((index, step))
        return path


def _marks_that_would_tell(
    lines: list[_Line], originals: dict[int, dict], differences: dict[str, str] | None = None
) -> list[tuple[dict, str]]:
    """The cells marked "<5" in the groups where the two marks would narrow a small count down:
    there every hidden cell is to be marked "×" (a cell of the totals row may stay "<5": one
    mark told that it was 1 to 4 as well)."""
    cells = []
    for group in _network(lines, originals, differences).values():
        if group.marks_tell_more():
            cells += [arc.cell for arc in group.arcs if arc.kind == "small"]
    return cells


# How many cells are tried to free one pinned count. Tables with row totals (where counts get
# pinned) have a few dozen rows; a count no nearby cell frees is a known limit, not a search.
_UNPIN_TRIES = 12
# When no one cell frees it, pairs of the first few (two rows of one part each, say).
_UNPIN_PAIRS_OF = 6


def _unpin(
    lines: list[_Line],
    originals: dict[int, dict],
    protected: set[tuple[int, str]],
    differences: dict[str, str] | None,
    ours: set[int],
    complement,
    given_up: set[tuple[int, str]],
    snapshot: list[dict],
) -> list[tuple[dict, str]] | None:
    """Shown cells to hide (one, or two) so that a hidden small count the lines pin down exactly
    is pinned no more, or None when none is pinned (or none could be helped: a known limit, kept in
    ``given_up`` so that it is not tried again).

    The cell is looked for in the lines of the pinned one first, then in the lines its group
    ties to it; the smallest that frees it is taken, with whatever hiding it leads the rules of
    ``complement`` to (one cell alone may not be enough: a row total hidden for a row whose
    other parts are 0 frees its column only once the next row's total is hidden too). Only a
    cell of the table's own rows (``ours``) is hidden here: never the totals row, nor a linked
    table's figure."""
    for group in _network(lines, originals, differences).values():
        for index, arc in enumerate(group.arcs):
            cell_id = (id(arc.cell[0]), arc.cell[1]) if arc.cell else None
            if cell_id not in protected or cell_id in given_up or not group.pinned(index):
                continue
            # Every cell a try may change: of the lines, and of the rows (a row's OmaKaiku, hidden
            # beside its hidden total, is in no line of a table without a totals row).
            cells = {(id(row), key): (row, key) for line in lines for row, key in [*line.parts, line.total]}
            cells |= {(id(row), key): (row, key) for row in snapshot for key in row}

            def frees(chosen, pinned_cell=arc.cell, cells=cells):
                before = {cell_id_: row.get(key) for cell_id_, (row, key) in cells.items()}
                for row, key in chosen:
                    row[key] = COMPLEMENTARY
                complement()
                freed = not _pinned(lines, originals, differences, pinned_cell)
                for cell_id_, (row, key) in cells.items():
                    row[key] = before[cell_id_]
                return freed

            candidates = list(itertools.islice(_unpin_candidates(lines, group, arc.cell, ours), _UNPIN_TRIES))
            for candidate in candidates:
                if frees([candidate]):
                    return [candidate]
            # Two rows of one part each may pin it between them: then two cells together.
            for pair in itertools.combinations(candidates[:_UNPIN_PAIRS_OF], 2):
                if frees(pair):
                    return list(pair)
            given_up.add(cell_id)
    return None


def _unpin_candidates(lines: list[_Line], group: "_Group", cell: tuple[dict, str], ours: set[int]):
    """Shown non-zero cells, smallest first: of the lines the cell is in, then of its group's."""
    group_cells = {(id(arc.cell[0]), arc.cell[1]) for arc in group.arcs if arc.cell}
    own = (id(cell[0]), cell[1])

    def cells_of(line):
        return [*line.parts, line.total]

    direct = [line for line in lines if own in {(id(row), key) for row, key in cells_of(line)}]
    near = [
        line for line in lines if line not in direct and group_cells & {(id(row), key) for row, key in cells_of(line)}
    ]
    for chosen in (direct, near):
        seen, found = set(), []
        for line in chosen:
            for row, key in cells_of(line):
                if id(row) not in ours or (id(row), key) in seen:
                    continue
                seen.add((id(row), key))
                if _is_shown_count(row.get(key)) and row[key] > 0:
                    found.append((row, key))
        yield from sorted(found, key=lambda c: c[0][c[1]])


def _pinned(
    lines: list[_Line], originals: dict[int, dict], differences: dict[str, str] | None, cell: tuple[dict, str]
) -> bool:
    for group in _network(lines, originals, differences).values():
        for index, arc in enumerate(group.arcs):
            if arc.cell is not None and arc.cell[0] is cell[0] and arc.cell[1] == cell[1]:
                return group.pinned(index)
    return False


def _network(lines: list[_Line], originals: dict[int, dict], differences: dict[str, str] | None) -> dict:
    """The hidden cells as arcs of the lines' network, one ``_Group`` per set of tied lines."""
    line_of = []  # per line with an equation: its cells with their sign, +1 a part, -1 the total
    for line in lines:
        total_row, total_key = line.total
        if originals[id(total_row)].get(total_key) is None:
            continue  # no total at all (e.g. a stock over months): no equation
        line_of.append((line, [(cell, 1) for cell in line.parts] + [(line.total, -1)]))

    # Each hidden cell's lines, and its sign in each.
    member: dict[tuple[int, str], list[tuple[int, int]]] = {}
    cell_of: dict[tuple[int, str], tuple[dict, str]] = {}
    for index, (_line, signed) in enumerate(line_of):
        for (row, key), sign in signed:
            if isinstance(row.get(key), Suppressed) and _is_shown_count(originals[id(row)].get(key)):
                member.setdefault((id(row), key), []).append((index, sign))
                cell_of[(id(row), key)] = (row, key)

    # Turn lines around (multiply an equation by -1) so that every cell in two lines leaves one
    # and enters the other; lines tied by a hidden cell make one group. A table's lines always
    # allow it; a group that did not would be marked "×" throughout, as with one mark.
    parent = list(range(len(line_of)))

    def find(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    neighbours: dict[int, list[tuple[int, int]]] = {}
    for memberships in member.values():
        if len(memberships) == 2:
            (a, sign_a), (b, sign_b) = memberships
            relation = -sign_a * sign_b  # orientation[b] must be relation * orientation[a]
            neighbours.setdefault(a, []).append((b, relation))
            neighbours.setdefault(b, []).append((a, relation))
            parent[find(a)] = find(b)
    orientation: dict[int, int] = {}
    unorientable = {find(memberships[0][0]) for memberships in member.values() if len(memberships) > 2}
    for first in range(len(line_of)):
        if first in orientation:
            continue
        orientation[first] = 1
        queue = deque([first])
        while queue:
            a = queue.popleft()
            for b, relation in neighbours.get(a, []):
                if b not in orientation:
                    orientation[b] = relation * orientation[a]
                    queue.append(b)
                elif orientation[b] != relation * orientation[a]:
                    unorientable.add(find(a))

    groups: dict[int, _Group] = {}
    for cell_id, memberships in member.items():
        row, key = cell_of[cell_id]
        root = find(memberships[0][0])
        ends = {"in": ("ground", root), "out": ("ground", root)}
        for index, sign in memberships[:2]:
            ends["in" if orientation[index] * sign > 0 else "out"] = index
        high = UNBOUNDED  # a distinct count's cell is at most its column's total, when shown
        for index, sign in memberships:
            line, _signed = line_of[index]
            line_total = line.total[0].get(line.total[1])
            if not line.additive and sign > 0 and _is_shown_count(line_total):
                high = line_total
        whole = (differences or {}).get(key)
        if whole is not None and _is_shown_count(row.get(whole)):
            # A part of a count shown beside it (``differences``) is at most that count.
            high = row[whole] if high is UNBOUNDED else min(high, row[whole])
        if row[key] != SUPPRESSED:
            kind = "hidden"
        elif any(sign > 0 and line_of[index][0].may_hide for index, sign in memberships):
            kind = "small"
        else:
            kind = "known"  # no line may hide it to protect another: one mark said 1 to 4 too
        arc = _Arc(ends["out"], ends["in"], originals[id(row)][key], kind, high, (row, key))
        groups.setdefault(root, _Group(arcs=[])).arcs.append(arc)
    for index, (line, signed) in enumerate(line_of):
        root = find(index)
        if line.additive or root not in groups:
            continue
        overlap = sum(originals[id(row)].get(key) or 0 for (row, key), sign in signed if sign > 0)
        overlap -= originals[id(line.total[0])].get(line.total[1]) or 0
        ground = ("ground", root)
        # It enters the equation as the total does (-1): out of the line, if not turned around.
        ends = (index, ground) if orientation[index] > 0 else (ground, index)
        groups[root].arcs.append(_Arc(*ends, max(overlap, 0), "overlap"))

    for root, group in groups.items():
        group.checkable = root not in unorientable
    return groups
