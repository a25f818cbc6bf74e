"""A server-rendered SVG bar chart of a statistics table.

The chart draws the figures of the table above it and nothing else: the table is the source
of truth (and what a screen reader reads); the chart is one image with a text alternative.
Colours and sizes are presentation attributes, never ``style``: the Content-Security-Policy
forbids inline styles. A hidden figure is not drawn; its mark ("<5", "×") stands where its bar would
be, and the largest bar is the largest shown figure, so no length gives a hidden one away.
"""

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from .tables import Suppressed, Table

# Each at least 4.5:1 against white (WCAG 1.4.11 asks 3:1 of graphics), and told apart by the
# legend's order as well as by hue.
PALETTE = ("#5b2a86", "#0b6e99", "#a15c00", "#11652f", "#a4161a", "#3f1c5f", "#4a4a55", "#7a4b00")
INK = "#1d1d1f"
MUTED = "#4a4a55"
LINE = "#cfcdd9"
FONT = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"

WIDTH = 560
LABEL_WIDTH = 150
VALUE_WIDTH = 56
BAR_HEIGHT = 14
BAR_GAP = 2
GROUP_GAP = 10
FONT_SIZE = 12
LEGEND_ROW = 20
LABEL_CHARS = 22


def _short(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _number(value) -> str:
    return f"{value:,}".replace(",", "\u00a0") if isinstance(value, int) else str(value)


def table_chart_svg(table: Table, *, element_id: str) -> SafeString:
    """The table's chart as inline SVG ("" when the table has no chart or no rows)."""
    spec = table.chart
    if spec is None or not table.rows:
        return mark_safe("")
    series = [table.column(key) for key in spec.value_keys]
    values = [[row.get(column.key) for column in series] for row in table.rows]
    numbers = [v for group in values for v in group if isinstance(v, int | float) and not isinstance(v, bool)]
    largest = max([*numbers, 1])
    bar_area = WIDTH - LABEL_WIDTH - VALUE_WIDTH

    parts: list[str] = []
    y = 4
    if series:
        # The legend: one row per series, in the table's column order.
        for index, column in enumerate(series):
            colour = PALETTE[index % len(PALETTE)]
            parts.append(f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="12" height="12" fill="{colour}"/>')
            parts.append(
                f'<text x="{LABEL_WIDTH + 18}" y="{y + 13}" font-size="{FONT_SIZE}" fill="{INK}">'
                f"{escape(_short(str(column.label), 60))}</text>"
            )
            y += LEGEND_ROW
        y += 6
    group_height = len(series) * (BAR_HEIGHT + BAR_GAP) - BAR_GAP
    for row, group in zip(table.rows, values, strict=True):
        label = escape(_short(str(row.get(spec.label_key, ""))))
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + group_height / 2 + FONT_SIZE / 2 - 2:g}" font-size="{FONT_SIZE}" '
            f'fill="{INK}" text-anchor="end">{label}</text>'
        )
        for index, value in enumerate(group):
            bar_y = y + index * (BAR_HEIGHT + BAR_GAP)
            text_y = bar_y + BAR_HEIGHT - 3
            if isinstance(value, Suppressed):
                parts.append(
                    f'<text x="{LABEL_WIDTH + 4}" y="{text_y}" font-size="{FONT_SIZE}" fill="{MUTED}">{escape(str(value))}</text>'
                )
                continue
            if not isinstance(value, int | float) or isinstance(value, bool):
                continue
            width = round(bar_area * max(value, 0) / largest, 1)
            colour = PALETTE[index % len(PALETTE)]
            if width > 0:
                parts.append(
                    f'<rect x="{LABEL_WIDTH}" y="{bar_y}" width="{width:g}" height="{BAR_HEIGHT}" fill="{colour}"/>'
                )
            parts.append(
                f'<text x="{LABEL_WIDTH + width + 4:g}" y="{text_y}" font-size="{FONT_SIZE}" fill="{INK}">'
                f"{escape(_number(value))}</text>"
            )
        y += group_height + GROUP_GAP
    height = y
    axis = f'<line x1="{LABEL_WIDTH}" y1="0" x2="{LABEL_WIDTH}" y2="{height}" stroke="{LINE}" stroke-width="1"/>'

    title = escape(_("Bar chart: %(title)s") % {"title": table.title})
    description = escape(
        _(
            "The same figures are in the table above the chart. Hidden figures are not drawn; their mark stands instead of a bar."
        )
    )
    # Every text in the markup went through escape() above; the rest is numbers and constants.
    return mark_safe(  # noqa: S308
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{element_id}-title {element_id}-desc" font-family="{FONT}" class="stats-chart__svg">'
        f'<title id="{element_id}-title">{title}</title><desc id="{element_id}-desc">{description}</desc>'
        f"{axis}{''.join(parts)}</svg>"
    )
