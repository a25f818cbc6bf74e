"""The small-cell rule at the threshold's edge: a part with exactly 5 of room protects."""

from stats.suppression import table_suppress
from stats.tables import COMPLEMENTARY, SUPPRESSED, Column, Table

S = SUPPRESSED  # "<5": a count of 1 to 4
X = COMPLEMENTARY  # "×": hidden so that such a count cannot be worked out


def test_a_part_with_exactly_5_of_room_below_its_whole_protects_a_hidden_cell_in_its_column():
    # b is part of a (valid cards and those in OmaKaiku). Row 0's b is hidden (10 - 9 = 1 holder
    # without); row 1's 5 of 10 could be anything up to 10 once hidden, 5 more: it protects, and
    # the column's total, a headline figure, stays shown.
    columns = [Column("label", "Label", numeric=False)]
    columns += [Column(key, key.upper(), personal=True) for key in ("a", "b")]
    table = Table(
        slug="t",
        title="T",
        columns=columns,
        rows=[{"label": "r0", "a": 10, "b": 9}, {"label": "r1", "a": 10, "b": 5}],
        total={"label": "Total", "a": 20, "b": 14},
    )

    suppressed = table_suppress(table, differences={"b": "a"})

    assert [[row["a"], row["b"]] for row in suppressed.rows] == [[10, X], [10, X]]
    assert suppressed.total == {"label": "Total", "a": 20, "b": 14}


def test_a_part_with_exactly_5_of_room_below_its_whole_protects_a_hidden_cell_in_its_row():
    # One row: "total" = "young" + "old", and "old" is a part of "valid" (room 15 - 10 = 5).
    # Found in review: with "old" shown, 12 - 10 would give the hidden "young" (2) away.
    columns = [Column("label", "Label", numeric=False)]
    columns += [Column(key, key, personal=True) for key in ("young", "old", "total", "valid")]
    table = Table(
        slug="t",
        title="T",
        columns=columns,
        rows=[{"label": "r0", "young": 2, "old": 10, "total": 12, "valid": 15}],
    )

    suppressed = table_suppress(table, row_totals={"total": ("young", "old")}, differences={"old": "valid"})

    assert suppressed.rows == [{"label": "r0", "young": S, "old": X, "total": 12, "valid": 15}]
