"""Line charts as inline SVG, rendered on the server so a report needs no JavaScript.

Pure: series in, SVG text out. Points whose value is None or not finite
are gaps in the line, never zeros.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from datetime import datetime
from html import escape

WIDTH = 720
HEIGHT = 220
MARGIN_LEFT = 56
MARGIN_RIGHT = 12
MARGIN_TOP = 12
MARGIN_BOTTOM = 28

# Legend below the time axis, wrapped into rows that fit the chart's width.
# Text widths are estimated from the character count, because the server
# cannot measure text. 6.2 px per character is an estimate on the wide side
# for 10 px sans-serif text, so that entries overlap less often.
LEGEND_CHAR_WIDTH = 6.2
LEGEND_SWATCH = 16
LEGEND_GAP = 14
LEGEND_ROW_HEIGHT = 14
LEGEND_PADDING = 4

# Alert markers: colour and dash pattern per severity, and the distance in
# pixels under which markers merge into one, because lines closer than that
# cannot be distinguished or hovered one by one.
MARKER_STYLES = {
    "critical": ("#C0392B", "4 2"),
    "warning": ("#B8860B", "3 3"),
    "info": ("#777777", "1 3"),
}
SEVERITY_ORDER = ("info", "warning", "critical")
MARKER_MERGE_PIXELS = 4.0
# Alert summaries listed in a merged marker's tooltip at most.
MARKER_TITLES_SHOWN = 10

# Colour per series, in order; chosen to stay distinguishable for common colour blindness (Okabe-Ito palette).
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


@dataclasses.dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[tuple[datetime, float | None]]


@dataclasses.dataclass(frozen=True)
class Marker:
    """An alert drawn as a vertical line at `time`, with `title` as its tooltip; `severity` is a key of MARKER_STYLES."""

    time: datetime
    title: str
    severity: str = "warning"


def line_chart(series: Sequence[Series], *, start: datetime, end: datetime, markers: Sequence[Marker] = (), percent: bool = True) -> str:
    """Render the series between `start` and `end`; `markers` are vertical lines (alert times) with a tooltip.

    Markers closer than MARKER_MERGE_PIXELS merge into one line in the colour
    of their highest severity, labelled with their count, and the tooltip
    lists their titles.

    The legend sits under the time axis in as many rows as its entries need,
    and the SVG grows by those rows, so no entry is cut off.
    """
    values = [value for item in series for _, value in item.points if value is not None and math.isfinite(value)]
    top = max(values, default=0.0) * 1.1 or 1.0
    if percent and max(values, default=0.0) <= 1.0:
        # A rate never passes 100%, so the axis stops there.
        top = min(top, 1.0)
    span = (end - start).total_seconds() or 1.0
    plot_width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM

    def x_of(time: datetime) -> float:
        return MARGIN_LEFT + plot_width * (time - start).total_seconds() / span

    def y_of(value: float) -> float:
        return MARGIN_TOP + plot_height * (1 - value / top)

    legend = legend_layout([item.name for item in series], plot_width)
    rows = max((entry.row + 1 for entry in legend), default=0)
    height = HEIGHT + (rows * LEGEND_ROW_HEIGHT + LEGEND_PADDING if rows else 0)
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img">' % (WIDTH, height, WIDTH, height)]
    parts.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#ccc"/>' % (MARGIN_LEFT, MARGIN_TOP, plot_width, plot_height))
    for fraction in (0.0, 0.5, 1.0):
        value = top * fraction
        label = "%.2f%%" % (value * 100) if percent else "%d" % round(value)
        parts.append('<text x="%d" y="%.1f" font-size="10" text-anchor="end">%s</text>' % (MARGIN_LEFT - 4, y_of(value) + 3, label))
    parts.append('<text x="%d" y="%d" font-size="10">%s</text>' % (MARGIN_LEFT, HEIGHT - 8, escape(start.strftime("%Y-%m-%d %H:%M"))))
    parts.append('<text x="%d" y="%d" font-size="10" text-anchor="end">%s</text>' % (WIDTH - MARGIN_RIGHT, HEIGHT - 8, escape(end.strftime("%Y-%m-%d %H:%M UTC"))))
    # A marker after `end` (an alert of the last minute when the chart ends
    # on a whole minute) is drawn at the right edge, not outside the plot.
    def marker_x(time: datetime) -> float:
        return x_of(min(max(time, start), end))

    for group in merge_markers(markers, marker_x):
        parts.append(marker_svg(group, marker_x(group[0].time)))
    for index, item in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        for segment in segments(item.points):
            path = " ".join("%.1f,%.1f" % (x_of(time), y_of(value)) for time, value in segment)
            parts.append('<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>' % (colour, path))
    for index, entry in enumerate(legend):
        colour = COLOURS[index % len(COLOURS)]
        x = MARGIN_LEFT + entry.x
        y = HEIGHT + entry.row * LEGEND_ROW_HEIGHT + LEGEND_ROW_HEIGHT / 2
        parts.append('<g><title>%s</title>' % escape(series[index].name))
        parts.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="3"/>' % (x, y, x + LEGEND_SWATCH - 4, y, colour))
        parts.append('<text x="%.1f" y="%.1f" font-size="10" fill="%s">%s</text></g>' % (x + LEGEND_SWATCH, y + 3.5, colour, escape(entry.label)))
    parts.append("</svg>")
    return "".join(parts)


def merge_markers(markers: Sequence[Marker], x_of) -> list[list[Marker]]:
    """Group markers in time order; a marker within MARKER_MERGE_PIXELS of its group's first marker joins that group."""
    groups: list[list[Marker]] = []
    for marker in sorted(markers, key=lambda item: item.time):
        if groups and x_of(marker.time) - x_of(groups[-1][0].time) < MARKER_MERGE_PIXELS:
            groups[-1].append(marker)
        else:
            groups.append([marker])
    return groups


def marker_svg(group: Sequence[Marker], x: float) -> str:
    severity = max((marker.severity for marker in group), key=severity_rank)
    colour, dashes = MARKER_STYLES.get(severity, MARKER_STYLES["warning"])
    if len(group) == 1:
        title = group[0].title
    else:
        lines = ["%d alerts:" % len(group)] + [marker.title for marker in group[:MARKER_TITLES_SHOWN]]
        if len(group) > MARKER_TITLES_SHOWN:
            lines.append("and %d more" % (len(group) - MARKER_TITLES_SHOWN))
        title = "\n".join(lines)
    parts = ['<g class="alert-marker" data-count="%d" data-severity="%s"><title>%s</title>' % (len(group), escape(severity), escape(title))]
    parts.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="1.5" stroke-dasharray="%s"/>' % (x, MARGIN_TOP, x, HEIGHT - MARGIN_BOTTOM, colour, dashes))
    if len(group) > 1:
        parts.append('<text x="%.1f" y="%d" font-size="9" text-anchor="middle" fill="%s">%d</text>' % (x, MARGIN_TOP - 2, colour, len(group)))
    parts.append("</g>")
    return "".join(parts)


def severity_rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else SEVERITY_ORDER.index("warning")


@dataclasses.dataclass(frozen=True)
class LegendEntry:
    """A legend entry's place: `x` from the plot's left edge, `row` from the top of the legend, and the text shown."""

    x: float
    row: int
    label: str
    width: float


def legend_layout(names: Sequence[str], width: float) -> list[LegendEntry]:
    """Place one entry per name left to right, starting a new row when the next entry would pass `width`.

    A name too long for a whole row is cut with an ellipsis to fit, and the
    chart keeps the full name in the entry's tooltip.
    """
    max_chars = max(1, int((width - LEGEND_SWATCH) / LEGEND_CHAR_WIDTH))
    entries = []
    x = 0.0
    row = 0
    for name in names:
        label = name if len(name) <= max_chars else name[: max_chars - 1] + "\u2026"
        entry_width = LEGEND_SWATCH + len(label) * LEGEND_CHAR_WIDTH
        if x > 0 and x + entry_width > width:
            x = 0.0
            row += 1
        entries.append(LegendEntry(x, row, label, entry_width))
        x += entry_width + LEGEND_GAP
    return entries


def segments(points: Sequence[tuple[datetime, float | None]]) -> list[list[tuple[datetime, float]]]:
    """Split points into runs of real values; None, NaN and infinities end a run."""
    runs: list[list[tuple[datetime, float]]] = []
    current: list[tuple[datetime, float]] = []
    for time, value in points:
        if value is None or not math.isfinite(value):
            if current:
                runs.append(current)
            current = []
            continue
        current.append((time, value))
    if current:
        runs.append(current)
    return runs
