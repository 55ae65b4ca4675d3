"""Server-rendered SVG charts for the Usage page: no chart library, no script, no CDN.

A chart is a polyline (or bars) in a fixed viewBox with a few labelled ticks; the
template draws it with attributes and CSS classes only, so the page's CSP holds. Its values
also go into a table that screen readers read in place of the drawing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

WIDTH = 640
HEIGHT = 180
LEFT = 84  # room for a cost tick such as $0.000013
RIGHT = 8
TOP = 10
BOTTOM = 24


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float | None]
    css: str
    # Buckets to mark with a dot even at zero (calls that cost nothing are still calls);
    # by default only values above zero are marked.
    marked: list[bool] | None = None


@dataclass(frozen=True)
class Chart:
    title: str
    unit: str
    series: list[tuple[Series, str, list[tuple[float, float]]]]  # (series, polyline points, markers)
    y_ticks: list[tuple[float, str]]  # (y coordinate, label)
    x_ticks: list[tuple[float, str]]
    # Shown under the drawing: why it is flat or empty ("No calls in this window."), if it is.
    note: str
    rows: list[tuple[str, list[str]]]  # (bucket's start, each series' value) for the table
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    bottom_edge: int = HEIGHT - BOTTOM


def _nice_ceiling(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _format(value: float, unit: str) -> str:
    if unit == "$":
        return "$" + (f"{value:.6f}".rstrip("0").rstrip(".") if value < 1 else f"{value:,.2f}")
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 1_000:
        return f"{value / 1_000:.1f}k"
    return f"{value:g}"


def _exact(value: float | None, unit: str) -> str:
    """A value in full, for the table (tick labels round: 1.2k)."""
    if value is None:
        return "—"
    if unit == "$":
        return "$" + (f"{value:.8f}".rstrip("0").rstrip(".") or "0")
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.1f}"


def line_chart(
    *, title: str, unit: str, times: list[datetime], series: list[Series], time_format: str, note: str = ""
) -> Chart:
    """Lines over time; missing values (None) are left out rather than drawn at zero.

    Whether there is anything to draw is the caller's to say (`note`): a line at zero is a
    figure (calls that cost nothing), not the absence of one.
    """
    values = [value for s in series for value in s.values if value is not None]
    top = _nice_ceiling(max(values, default=0.0))
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    count = max(len(times) - 1, 1)

    def x(index: int) -> float:
        return LEFT + plot_width * index / count

    def y(value: float) -> float:
        return TOP + plot_height * (1 - value / top)

    drawn = []
    for item in series:
        # Markers too: a window with a single busy bucket would otherwise draw nothing.
        marked = item.marked or [False] * len(item.values)
        markers = [
            (round(x(i), 1), round(y(v), 1))
            for i, v in enumerate(item.values)
            if v is not None and (v > 0 or marked[i])
        ]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(item.values) if v is not None)
        drawn.append((item, points, markers))
    y_ticks = [(y(top * fraction), _format(top * fraction, unit)) for fraction in (0, 0.5, 1)]
    label_every = max(1, len(times) // 6)
    # A label centred on the last bucket would be cut by the drawing's right edge.
    last_labelled = len(times) - 1 - label_every // 2
    x_ticks = [
        (x(i), moment.strftime(time_format))
        for i, moment in enumerate(times)
        if i % label_every == 0 and i <= last_labelled
    ]
    return Chart(
        title=title,
        unit=unit,
        series=drawn,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        note=note,
        rows=[
            (
                moment.strftime("%b %d %H:%M"),
                [_exact(item.values[i], unit) for item in series],
            )
            for i, moment in enumerate(times)
        ],
    )
