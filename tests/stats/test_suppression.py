"""The small-cell rule on hand-made tables with known answers (no database)."""

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from stats.suppression import table_suppress
from stats.tables import COMPLEMENTARY, SUPPRESSED, Column, Suppressed, Table

S = SUPPRESSED  # "<5": a count of 1 to 4
X = COMPLEMENTARY  # "×": hidden so that such a count cannot be worked out


def _table(rows, total=None, *, personal=("a", "b", "c")):
    columns = [Column("label", "Label", numeric=False)]
    columns += [Column(key, key.upper(), personal=key in personal) for key in ("a", "b", "c")]
    return Table(
        slug="t",
        title="T",
        columns=columns,
        rows=[{"label": f"r{i}"} | dict(zip("abc", row, strict=True)) for i, row in enumerate(rows)],
        total=None if total is None else {"label": "Total"} | dict(zip("abc", total, strict=True)),
    )


def _values(table):
    return [[row[key] for key in "abc"] for row in table.rows]


def test_primary_hides_one_to_four_and_shows_zero_and_five():
    table = table_suppress(_table([[0, 1, 4], [5, 2, 100]]))
    assert _values(table) == [[0, S, S], [5, S, 100]]


def test_a_part_whose_difference_to_its_whole_is_small_is_hidden_and_protected():
    # b is part of a (valid cards and those in OmaKaiku): 10 - 9 = 1 holder without, so row 0's b
    # is hidden; the column's total 19 would give it back, so row 1's b is hidden too.
    table = table_suppress(_table([[10, 9, 0], [20, 10, 0]], [30, 19, 0]), differences={"b": "a"})
    assert _values(table) == [[10, X, 0], [20, X, 0]]
    assert table.total["b"] == 19
    # A difference of 0 or of 5 and more tells of nobody.
    table = table_suppress(_table([[10, 10, 0], [20, 15, 0]], [30, 25, 0]), differences={"b": "a"})
    assert _values(table) == [[10, 10, 0], [20, 15, 0]]


def test_a_part_protects_a_hidden_cell_only_with_room_below_its_whole():
    # "5 of 5" hidden as "×" (5 or more) would still be 5, and 64 - 50 - 5 would give row 0's 9
    # (one holder of 10 without): row 2's 50 of 100 is hidden instead.
    table = table_suppress(_table([[10, 9, 0], [5, 5, 0], [100, 50, 0]], [115, 64, 0]), differences={"b": "a"})
    assert _values(table) == [[10, X, 0], [5, 5, 0], [100, X, 0]]
    # No part has room: the column's total is hidden.
    table = table_suppress(_table([[10, 9, 0], [6, 6, 0]], [16, 15, 0]), differences={"b": "a"})
    assert _values(table) == [[10, X, 0], [6, 6, 0]]
    assert table.total["b"] == X


def test_use_counts_are_shown_as_they_are():
    table = table_suppress(_table([[1, 2, 3], [4, 0, 9]], [5, 2, 12], personal=("a",)))
    assert _values(table) == [[S, 2, 3], [S, 0, 9]]
    assert table.total == {"label": "Total", "a": 5, "b": 2, "c": 12}


def test_a_column_total_that_would_reveal_a_cell_hides_the_next_smallest():
    # 30 - 10 - 17 = 3: the total would give the hidden cell back, so 10 is hidden too, and
    # marked "×": it is no count under 5.
    table = table_suppress(_table([[3, 0, 0], [10, 0, 0], [17, 0, 0]], [30, 0, 0]))
    assert [row["a"] for row in table.rows] == [S, X, 17]
    assert table.total["a"] == 30  # a total of 5 or more is never hidden


def test_zero_is_never_hidden_to_protect_a_cell():
    table = table_suppress(_table([[3, 0, 0], [0, 0, 0], [8, 0, 0]], [11, 0, 0]))
    assert [row["a"] for row in table.rows] == [S, 0, X]


def test_two_hidden_cells_in_a_column_need_nothing_more():
    table = table_suppress(_table([[3, 0, 0], [2, 0, 0], [8, 0, 0]], [13, 0, 0]))
    assert [row["a"] for row in table.rows] == [S, S, 8]


def test_a_column_without_a_shown_total_needs_no_complementary_cell():
    assert [row["a"] for row in table_suppress(_table([[3, 0, 0], [8, 0, 0]])).rows] == [S, 8]
    table = table_suppress(_table([[3, 0, 0], [8, 0, 0]], [None, 0, 0]))
    assert [row["a"] for row in table.rows] == [S, 8]


def test_a_total_under_five_is_hidden_itself_and_reveals_nothing():
    table = table_suppress(_table([[3, 0, 0], [0, 0, 0]], [3, 0, 0]))
    assert [row["a"] for row in table.rows] == [S, 0]
    assert table.total["a"] == S


def test_a_row_total_that_would_reveal_a_cell_hides_the_next_smallest_in_the_row():
    columns = [Column("label", "Label", numeric=False)]
    columns += [Column(key, key, personal=True) for key in ("f", "m", "o", "total")]
    table = Table(
        slug="t",
        title="T",
        columns=columns,
        rows=[{"label": "16-29", "f": 2, "m": 9, "o": 0, "total": 11}],
    )
    result = table_suppress(table, row_totals={"total": ("f", "m", "o")})
    assert result.rows[0] == {"label": "16-29", "f": S, "m": X, "o": 0, "total": 11}
    # Without the row total declared, nothing but the small cell is hidden.
    assert table_suppress(table).rows[0] == {"label": "16-29", "f": S, "m": 9, "o": 0, "total": 11}


def test_hiding_iterates_across_rows_and_columns_until_stable():
    # r0.a = 2 is hidden. Column a's total (32) would give it back: its smallest other cell
    # (r1.a = 10) goes. Row r0's total (27) would give it back too: r0.b goes. Now row r1's total
    # reveals r1.a, so r1.b goes; columns a and b and rows r0 and r1 each hide two cells: stable.
    columns = [Column("label", "Label", numeric=False)]
    columns += [Column(key, key, personal=True) for key in ("a", "b", "total")]
    table = Table(
        slug="t",
        title="T",
        columns=columns,
        rows=[
            {"label": "r0", "a": 2, "b": 25, "total": 27},
            {"label": "r1", "a": 10, "b": 20, "total": 30},
            {"label": "r2", "a": 20, "b": 0, "total": 20},
        ],
        total={"label": "Total", "a": 32, "b": 45, "total": 77},
    )
    result = table_suppress(table, row_totals={"total": ("a", "b")})
    assert [[row[k] for k in ("a", "b", "total")] for row in result.rows] == [
        [S, X, 27],
        [X, X, 30],
        [20, 0, 20],
    ]
    assert result.total == {"label": "Total", "a": 32, "b": 45, "total": 77}
    # Every line with a shown total now hides none or at least two cells.
    for key in ("a", "b"):
        assert sum(isinstance(row[key], Suppressed) for row in result.rows) != 1
    for row in result.rows:
        assert sum(isinstance(row[key], Suppressed) for key in ("a", "b")) != 1


def test_a_hidden_row_total_is_protected_by_its_column_total():
    # Row r0's total of 3 is hidden (under 5); the column of row totals sums to 53, so the
    # smallest other row total (20) must go, or 53 - 30 - 20 gives the 3 back.
    columns = [Column("label", "Label", numeric=False)]
    columns += [Column(key, key, personal=True) for key in ("a", "b", "total")]
    table = Table(
        slug="t",
        title="T",
        columns=columns,
        rows=[
            {"label": "r0", "a": 3, "b": 0, "total": 3},
            {"label": "r1", "a": 15, "b": 15, "total": 30},
            {"label": "r2", "a": 10, "b": 10, "total": 20},
        ],
        total={"label": "Total", "a": 28, "b": 25, "total": 53},
    )
    result = table_suppress(table, row_totals={"total": ("a", "b")})
    assert [row["total"] for row in result.rows] == [S, 30, X]
    assert sum(isinstance(row["a"], Suppressed) for row in result.rows) >= 2
    assert result.total["total"] == 53


def test_the_input_table_is_not_changed():
    table = _table([[1, 0, 0]], [1, 0, 0])
    table_suppress(table)
    assert table.rows[0]["a"] == 1
    assert table.total["a"] == 1


def test_a_distinct_count_hides_a_second_cell_only_when_the_total_bounds_the_first():
    columns = [Column("label", "Year", numeric=False), Column("cards", "Cards used", personal=True, additive=False)]
    # 52 distinct cards over both years, 52 in 2026: 2025's 2 is bounded by nothing (52 - 52).
    overlapping = Table("t", "T", columns, rows=[{"label": "2025", "cards": 2}, {"label": "2026", "cards": 52}])
    overlapping.total = {"label": "Total", "cards": 52}
    assert [row["cards"] for row in table_suppress(overlapping).rows] == [SUPPRESSED, 52]
    # 55 in all, 52 in 2026: 2025 had at least 3, which says something: 2026 is hidden too.
    disjoint = Table("t", "T", columns, rows=[{"label": "2025", "cards": 3}, {"label": "2026", "cards": 52}])
    disjoint.total = {"label": "Total", "cards": 55}
    assert [row["cards"] for row in table_suppress(disjoint).rows] == [SUPPRESSED, COMPLEMENTARY]


def test_rows_shown_elsewhere_are_protected_by_their_total():
    # The annual table: each year's figures are also another table's total for that year, so
    # hiding 2026 would protect nothing; the total over the years is hidden instead.
    table = table_suppress(_table([[4, 3, 0], [16, 12, 0]], [20, 15, 0]), rows_shown_elsewhere=True)
    assert _values(table) == [[S, S, 0], [16, 12, 0]]
    assert table.total == {"label": "Total", "a": X, "b": X, "c": 0}
    # Nothing hidden: the total stays.
    assert table_suppress(_table([[5, 0, 0], [16, 0, 0]], [21, 0, 0]), rows_shown_elsewhere=True).total["a"] == 21


def test_a_distinct_count_shown_elsewhere_hides_its_total_only_when_it_bounds_a_cell():
    columns = [Column("label", "Year", numeric=False), Column("cards", "Cards used", personal=True, additive=False)]

    def total(rows, all_years):
        table = Table("t", "T", columns, rows=[{"label": str(year), "cards": n} for year, n in rows])
        table.total = {"label": "Total", "cards": all_years}
        return table_suppress(table, rows_shown_elsewhere=True).total["cards"]

    assert total([(2025, 2), (2026, 52)], 52) == 52  # 52 - 52 bounds 2025's by nothing
    assert total([(2025, 3), (2026, 52)], 55) == COMPLEMENTARY  # at least 3: it says something


# --- two marks: "<5" and "×" ------------------------------------------------------------------


def test_a_figure_hidden_to_protect_a_small_count_is_marked_apart_from_it():
    # The tester's annual figures: 3 cards in 2025, 15 in 2026, 18 in all. 2026's 15 is hidden
    # only so that 18 - 15 does not give the 3 back: it is "×", never "<5".
    table = table_suppress(_table([[3, 0, 0], [15, 0, 0]], [18, 0, 0]))
    assert [row["a"] for row in table.rows] == [S, X]
    assert [str(row["a"]) for row in table.rows] == ["<5", "×"]
    assert table.total["a"] == 18


def _column(values):
    table = table_suppress(_table([[value, 0, 0] for value in values], [sum(values), 0, 0]))
    return [row["a"] for row in table.rows]


def test_the_marks_never_narrow_a_small_count_down():
    # "<5" is 1 to 4, so a "×" is 5 or more. With 1 and 5 and a total of 6, telling them apart
    # gives both away (1 + 5): both are "×", as with one mark. 2 and 6 of 8 would pin the 2 to
    # 1–3. Two "<5" of 4 and 4 beside a shown 30 and a total of 38 would both be 4.
    assert _column([1, 5]) == [X, X]
    assert _column([2, 6]) == [X, X]
    assert _column([1, 5, 6]) == [X, X, 6]
    assert _column([4, 4, 30]) == [X, X, 30]
    assert _column([3, 3, 30]) == [X, X, 30]
    # Where the marks say nothing the totals do not, they stay apart.
    assert _column([4, 5]) == [S, X]  # 9: the 4 could be 1 to 4, the 5 then 8 to 5
    assert _column([1, 8]) == [S, X]
    assert _column([2, 3, 30]) == [S, S, 30]  # 5: 1 + 4, 2 + 3, 3 + 2 or 4 + 1
    # 2 left for two hidden cells of at least 1 would make both 1: the 30 is hidden as well.
    assert _column([1, 1, 30]) == [S, S, X]


def test_the_marks_are_checked_across_rows_and_columns():
    # r0.a = 4 is hidden; its column hides r1.a, its row r0.b, and column b then r1.b. Each line
    # alone says nothing more with two marks, but together they do: r1.b = 5 - 4 + r0.a, and a
    # "×" is at least 5, so r0.a would be 4. All four are "×".
    columns = [Column("label", "Label", numeric=False)]
    columns += [Column(key, key, personal=True) for key in ("a", "b", "total")]

    def suppressed(b1):
        rows = [{"label": "r0", "a": 4, "b": 10}, {"label": "r1", "a": 10, "b": b1}]
        for row in rows:
            row["total"] = row["a"] + row["b"]
        total = {"label": "Total"} | {key: sum(row[key] for row in rows) for key in ("a", "b", "total")}
        table = Table(slug="t", title="T", columns=columns, rows=rows, total=total)
        result = table_suppress(table, row_totals={"total": ("a", "b")})
        return [[row[key] for key in ("a", "b", "total")] for row in result.rows]

    assert suppressed(5) == [[X, X, 14], [X, X, 15]]
    # With r1.b = 9 the 4 could be anything from 1 to 4 (r1.b 6 to 9): the marks stay apart.
    assert suppressed(9) == [[S, X, 14], [X, X, 19]]


def test_a_small_total_keeps_its_mark_where_the_cells_turn_to_x():
    # r2: 1 + 5 = 6, and the 5 (hidden to protect the 1) read as 5 or more would give the 1
    # away: every hidden cell these totals tie together is "×". Column a's total of 3 stays
    # "<5": the totals row is never hidden to protect another, so one mark said 1 to 4 as well.
    columns = [Column("label", "Label", numeric=False)]
    columns += [Column(key, key, personal=True) for key in ("a", "b", "t")]
    rows = [{"label": "r0", "a": 2, "b": 3}, {"label": "r1", "a": 0, "b": 20}, {"label": "r2", "a": 1, "b": 5}]
    for row in rows:
        row["t"] = row["a"] + row["b"]
    total = {"label": "Total", "a": 3, "b": 28, "t": 31}
    result = table_suppress(Table("t", "T", columns, rows=rows, total=total), row_totals={"t": ("a", "b")})
    assert [[row[key] for key in ("a", "b", "t")] for row in result.rows] == [[X, X, 5], [0, 20, 20], [X, X, 6]]
    assert [result.total[key] for key in ("a", "b", "t")] == [S, 28, 31]


def test_marks_survive_the_cache_and_compare_by_kind():
    import pickle

    assert pickle.loads(pickle.dumps(X)) is X
    assert pickle.loads(pickle.dumps(S)) is S
    assert S != X
    assert isinstance(X, Suppressed)


# The property behind the marks: whatever a reader can work out from a table with "<5" and "×"
# (a "×" being 5 or more, the strongest reading), a small count could still take every value
# from 1 to 4 that it could with one mark for every hidden cell. Checked by trying every table
# near the true one (each hidden cell moved by up to 4) against what is shown.


def _derived(parts, with_row_totals):
    """Every cell of the table from its body's parts: rows (with their totals) and the totals row."""
    rows = [dict(row) for row in parts]
    if with_row_totals:
        for row in rows:
            row["t"] = row["a"] + row["b"]
    keys = list(rows[0])
    return rows + [{key: sum(row[key] for row in rows) for key in keys}]


def _consistent(cells, shown, knowledge):
    for (index, key), mark in shown.items():
        value = cells[index][key]
        if isinstance(mark, int):
            if value != mark:
                return False
        else:
            low, high = knowledge[(index, key)]
            if value < low or (high is not None and value > high):
                return False
    return True


@settings(max_examples=120, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12)), min_size=1, max_size=3),
    st.booleans(),
)
def test_two_marks_tell_no_more_than_one_about_a_small_count(body, with_row_totals):
    keys = ("a", "b", "t") if with_row_totals else ("a", "b")
    columns = [Column("label", "Label", numeric=False)] + [Column(key, key, personal=True) for key in keys]
    parts = [{"a": a, "b": b} for a, b in body]
    true = _derived(parts, with_row_totals)
    table = Table(
        slug="t",
        title="T",
        columns=columns,
        rows=[{"label": f"r{i}"} | row for i, row in enumerate(true[:-1])],
        total={"label": "Total"} | true[-1],
    )
    result = table_suppress(table, row_totals={"t": ("a", "b")} if with_row_totals else None)
    out = [*result.rows, result.total]
    shown = {(i, key): out[i][key] for i in range(len(out)) for key in keys}
    last = len(out) - 1
    any_small = any(mark == S for mark in shown.values())
    # What a reader knows of each hidden cell. One mark: 1 or more; a cell of the totals row is
    # never hidden to protect another, so it is 1 to 4. Two marks: "<5" is 1 to 4; a "×" that is
    # truly 5 or more may be taken to be (when the table shows any "<5" at all).
    old, new = {}, {}
    for (i, key), mark in shown.items():
        if isinstance(mark, Suppressed):
            old[(i, key)] = (1, 4) if i == last else (1, None)
            if mark == S or i == last:
                new[(i, key)] = (1, 4)
            else:
                new[(i, key)] = (5, None) if any_small and true[i][key] >= 5 else (1, None)
    hidden = [(i, key) for i in range(len(parts)) for key in ("a", "b") if isinstance(shown[(i, key)], Suppressed)]
    if len(hidden) > 4:
        return  # too many to try every nearby table
    could_be = {"old": {cell: set() for cell in shown}, "new": {cell: set() for cell in shown}}
    for moves in itertools.product(range(-4, 5), repeat=len(hidden)):
        moved = [dict(row) for row in parts]
        for (i, key), move in zip(hidden, moves, strict=True):
            moved[i][key] += move
        if any(moved[i][key] < 0 for i, key in hidden):
            continue
        cells = _derived(moved, with_row_totals)
        for name, knowledge in (("old", old), ("new", new)):
            if _consistent(cells, shown, knowledge):
                for cell in could_be[name]:
                    could_be[name][cell].add(cells[cell[0]][cell[1]])
    for cell, mark in shown.items():
        if mark == S:
            assert could_be["new"][cell] >= could_be["old"][cell] & {1, 2, 3, 4}, (cell, body, shown)


def test_hidden_cells_that_add_up_to_their_own_number_get_another_hidden_beside_them():
    # 12 - 10 = 2 for two hidden cells of at least 1 each: both would be 1.
    table = table_suppress(_table([[1, 0, 0], [1, 0, 0], [10, 0, 0], [20, 0, 0]], [32, 0, 0]))
    assert [row["a"] for row in table.rows][:2] == [S, S]
    assert isinstance(table.rows[2]["a"], Suppressed)
    assert table.rows[3]["a"] == 20


def test_hidden_cells_with_room_to_vary_need_nothing_more():
    table = table_suppress(_table([[1, 0, 0], [2, 0, 0], [10, 0, 0]], [13, 0, 0]))
    assert [row["a"] for row in table.rows] == [S, S, 10]


# --- tables shown together: a site's figures add up to its municipality's -------------------------


def test_rows_linked_to_another_tables_figure_are_protected_against_it():
    # Sites r0 and r1 lie in a municipality shown as 15 in the table by municipality; r2 in
    # another. Alone, the column would hide r2 (the smallest) beside r1's "<5", and 15 - 13
    # would give r1's 2 away.
    table = _table([[13, 0, 0], [2, 0, 0], [7, 0, 0]], [22, 0, 0])
    assert [row["a"] for row in table_suppress(table).rows] == [13, S, X]

    linked = table_suppress(table, linked=[([0, 1], {"a": 15, "b": 0, "c": 0}), ([2], {"a": 7, "b": 0, "c": 0})])

    assert [row["a"] for row in linked.rows] == [X, S, 7]


def test_rows_whose_linked_figure_is_hidden_there_are_not_all_shown():
    # The municipality's 13 is hidden in its own table (to protect another municipality): its two
    # sites, 6 and 7, would add up to it. Hiding one leaves the column to hide the other.
    table = _table([[6, 0, 0], [7, 0, 0], [30, 0, 0]], [43, 0, 0])
    assert [row["a"] for row in table_suppress(table).rows] == [6, 7, 30]

    linked = table_suppress(table, linked=[([0, 1], {"a": X, "b": 0, "c": 0}), ([2], {"a": 30, "b": 0, "c": 0})])

    assert [row["a"] for row in linked.rows] == [X, X, 30]
