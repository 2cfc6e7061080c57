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

# Colour per series, in order; chosen to stay distinguishable for common colour blindness (Okabe-Ito palette).
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


@dataclasses.dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[tuple[datetime, float | None]]


def line_chart(series: Sequence[Series], *, start: datetime, end: datetime, markers: Sequence[tuple[datetime, str]] = (), percent: bool = True) -> str:
    """Render the series between `start` and `end`; `markers` are vertical lines (alert times) with a tooltip."""
    values = [value for item in series for _, value in item.points if value is not None and math.isfinite(value)]
    top = max(values, default=0.0) * 1.1 or 1.0
    span = (end - start).total_seconds() or 1.0
    plot_width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM

    def x_of(time: datetime) -> float:
        return MARGIN_LEFT + plot_width * (time - start).total_seconds() / span

    def y_of(value: float) -> float:
        return MARGIN_TOP + plot_height * (1 - value / top)

    parts = ['<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img">' % (WIDTH, HEIGHT, WIDTH, HEIGHT)]
    parts.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#ccc"/>' % (MARGIN_LEFT, MARGIN_TOP, plot_width, plot_height))
    for fraction in (0.0, 0.5, 1.0):
        value = top * fraction
        label = "%.2f%%" % (value * 100) if percent else "%d" % round(value)
        parts.append('<text x="%d" y="%.1f" font-size="10" text-anchor="end">%s</text>' % (MARGIN_LEFT - 4, y_of(value) + 3, label))
    parts.append('<text x="%d" y="%d" font-size="10">%s</text>' % (MARGIN_LEFT, HEIGHT - 8, escape(start.strftime("%Y-%m-%d %H:%M"))))
    parts.append('<text x="%d" y="%d" font-size="10" text-anchor="end">%s</text>' % (WIDTH - MARGIN_RIGHT, HEIGHT - 8, escape(end.strftime("%Y-%m-%d %H:%M UTC"))))
    for time, title in markers:
        x = x_of(time)
        parts.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#D55E00" stroke-dasharray="3 2"><title>%s</title></line>' % (x, MARGIN_TOP, x, HEIGHT - MARGIN_BOTTOM, escape(title)))
    for index, item in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        for segment in segments(item.points):
            path = " ".join("%.1f,%.1f" % (x_of(time), y_of(value)) for time, value in segment)
            parts.append('<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>' % (colour, path))
        parts.append('<text x="%d" y="%d" font-size="10" fill="%s">%s</text>' % (MARGIN_LEFT + 6 + 110 * index, MARGIN_TOP + 12, colour, escape(item.name)))
    parts.append("</svg>")
    return "".join(parts)


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
