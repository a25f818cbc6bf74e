"""The small-cell rule on hand-made tables with known answers (no database)."""

from stats.suppression import table_suppress
from stats.tables import SUPPRESSED, Column, Table

S = SUPPRESSED


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


def test_use_counts_are_shown_as_they_are():
    table = table_suppress(_table([[1, 2, 3], [4, 0, 9]], [5, 2, 12], personal=("a",)))
    assert _values(table) == [[S, 2, 3], [S, 0, 9]]
    assert table.total == {"label": "Total", "a": 5, "b": 2, "c": 12}


def test_a_column_total_that_would_reveal_a_cell_hides_the_next_smallest():
    # 30 - 10 - 17 = 3: the total would give the hidden cell back, so 10 is hidden too.
    table = table_suppress(_table([[3, 0, 0], [10, 0, 0], [17, 0, 0]], [30, 0, 0]))
    assert [row["a"] for row in table.rows] == [S, S, 17]
    assert table.total["a"] == 30  # a total of 5 or more is never hidden


def test_zero_is_never_hidden_to_protect_a_cell():
    table = table_suppress(_table([[3, 0, 0], [0, 0, 0], [8, 0, 0]], [11, 0, 0]))
    assert [row["a"] for row in table.rows] == [S, 0, S]


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
    assert result.rows[0] == {"label": "16-29", "f": S, "m": S, "o": 0, "total": 11}
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
        [S, S, 27],
        [S, S, 30],
        [20, 0, 20],
    ]
    assert result.total == {"label": "Total", "a": 32, "b": 45, "total": 77}
    # Every line with a shown total now hides none or at least two cells.
    for key in ("a", "b"):
        assert [row[key] for row in result.rows].count(S) != 1
    for row in result.rows:
        assert [row["a"], row["b"]].count(S) != 1


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
    assert [row["total"] for row in result.rows] == [S, 30, S]
    assert [row["a"] for row in result.rows].count(S) >= 2
    assert result.total["total"] == 53


def test_the_input_table_is_not_changed():
    table = _table([[1, 0, 0]], [1, 0, 0])
    table_suppress(table)
    assert table.rows[0]["a"] == 1
    assert table.total["a"] == 1


def test_a_distinct_count_hides_a_second_cell_only_when_the_total_bounds_the_first():
    from stats.suppression import table_suppress
    from stats.tables import SUPPRESSED, Column, Table

    columns = [Column("label", "Year", numeric=False), Column("cards", "Cards used", personal=True, additive=False)]
    # 52 distinct cards over both years, 52 in 2026: 2025's 2 is bounded by nothing (52 - 52).
    overlapping = Table("t", "T", columns, rows=[{"label": "2025", "cards": 2}, {"label": "2026", "cards": 52}])
    overlapping.total = {"label": "Total", "cards": 52}
    assert [row["cards"] for row in table_suppress(overlapping).rows] == [SUPPRESSED, 52]
    # 55 in all, 52 in 2026: 2025 had at least 3, which says something: 2026 is hidden too.
    disjoint = Table("t", "T", columns, rows=[{"label": "2025", "cards": 3}, {"label": "2026", "cards": 52}])
    disjoint.total = {"label": "Total", "cards": 55}
    assert [row["cards"] for row in table_suppress(disjoint).rows] == [SUPPRESSED, SUPPRESSED]
