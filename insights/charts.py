"""Bar charts as SVG geometry, drawn on the server (no script): the template
``admin/_insights_chart.html`` turns a ``Chart`` into an ``<svg role="img">`` with a title and
a description naming every value, and the page shows the chart's data table beside it.

One horizontal bar per row, its label above it and its value after it, so that long labels
(service names) need no rotated text and the chart stays readable on a 375 px phone: the
drawing is 320 units wide and scales with the page, never below its text size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 320
LABEL_HEIGHT = 18  # the label's line above the bar
BAR_HEIGHT = 16
GAP = 12
VALUE_SPACE = 92  # room after the longest bar for its value ("1.234.567,89 €")


@dataclass(frozen=True)
class Bar:
    label: str
    shown: str  # the value as the reader reads it
    label_y: float
    bar_y: float
    width: float
    value_x: float


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    description: str
    height: int
    bars: tuple[Bar, ...]
    bar_height: int = BAR_HEIGHT
    width: int = WIDTH


def bar_chart(key: str, title: str, rows: Sequence[tuple[str, float, str]],
              summary: str = "") -> Chart:
    """``rows`` are (label, value, shown value); the longest bar is the largest value. The
    description lists every label with its shown value (what a screen reader reads)."""
    top = max((value for _, value, _ in rows), default=0) or 1
    room = WIDTH - VALUE_SPACE
    bars = []
    y = 0.0
    for label, value, shown in rows:
        width = max(0.0, value) / top * room
        bars.append(Bar(label, shown, y + LABEL_HEIGHT - 5, y + LABEL_HEIGHT,
                        round(width, 1), round(width + 6, 1)))
        y += LABEL_HEIGHT + BAR_HEIGHT + GAP
    listed = "; ".join(f"{label}: {shown}" for label, _, shown in rows)
    description = f"{summary} {listed}".strip() if listed else summary
    return Chart(key, title, description, max(int(y - GAP + 2), 1), tuple(bars))
