"""Small inline SVG line charts for the HTML report: no script, no external asset.

A chart is drawn from plain numbers, so it renders the same in every browser and in
a saved file opened years later. Missing values (a gate that did not run) break the
line instead of pretending a zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 460, 220
# the n-th line of a chart: a line drawn over an equal one still shows through its gaps
DASHES = ("", "7 4", "2 4", "9 3 2 3", "1 3")
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 12, 12, 28


@dataclass(frozen=True, slots=True)
class Series:
    """One line: its name in the legend, its colour, one value per run (None: absent)."""

    name: str
    color: str
    values: tuple[float | None, ...]


def nice_ticks(top: float, *, whole: bool = False) -> list[float]:
    """0 .. a round number >= `top`, in steps of 1, 2, 2.5 or 5 times a power of ten.

    `whole`: the values are counts, so steps are whole numbers (no 2.5 violations).
    """
    if top <= 0:
        return [0.0, 1.0]
    raw = top / 4
    power = 10 ** math.floor(math.log10(raw))
    factors = (1, 2, 5, 10) if whole else (1, 2, 2.5, 5, 10)
    step = next(m * power for m in factors if m * power >= raw)
    if whole:
        step = max(1, round(step))
    count = math.ceil(top / step - 1e-9)
    return [round(step * i, 10) for i in range(count + 1)]


@dataclass(frozen=True, slots=True)
class _Plot:
    """Maps run index and value to SVG coordinates."""

    count: int  # number of runs
    top: float  # the value at the top of the plot

    def x(self, index: int) -> float:
        width = WIDTH - _LEFT - _RIGHT
        return _LEFT + (width / 2 if self.count == 1 else width * index / (self.count - 1))

    def y(self, value: float) -> float:
        return _TOP + (HEIGHT - _TOP - _BOTTOM) * (1 - value / self.top)


def line_chart(
    title: str,
    series: Sequence[Series],
    labels: Sequence[str],
    *,
    unit: str = "",
    fixed_top: float | None = None,
) -> str:
    """An SVG chart of `series` over runs; `labels[i]` describes run i (for tooltips).

    Without `fixed_top` the values are counts and the axis fits them.
    """
    values = [v for s in series for v in s.values if v is not None]
    if fixed_top is not None:
        ticks = nice_ticks(fixed_top)
    else:
        ticks = nice_ticks(max(values, default=0.0), whole=True)
    plot = _Plot(len(labels), ticks[-1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for tick in ticks:
        parts.append(
            f'<line x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{plot.y(tick):.1f}" '
            f'y2="{plot.y(tick):.1f}" class="grid"/>'
        )
        parts.append(
            f'<text x="{_LEFT - 6}" y="{plot.y(tick) + 4:.1f}" class="tick" '
            f'text-anchor="end">{_number(tick)}{escape(unit)}</text>'
        )
    parts += _x_labels(labels, plot)
    for index, line in enumerate(series):
        parts += _series(line, labels, plot, unit, DASHES[index % len(DASHES)])
    parts.append("</svg>")
    return "".join(parts)


def legend(series: Sequence[Series]) -> str:
    """The legend below a chart, as HTML (colour swatch and name per series)."""
    items = "".join(
        f'<span class="key"><span class="swatch" style="background:{s.color}"></span>'
        f"{escape(s.name)}</span>"
        for s in series
    )
    return f'<div class="legend">{items}</div>'


def _x_labels(labels: Sequence[str], plot: _Plot) -> list[str]:
    """The first and the last run under the axis (more would overlap at 500 runs)."""
    shown = sorted({0, len(labels) - 1})
    baseline = HEIGHT - _BOTTOM + 16
    out = []
    for i in shown:
        anchor = "middle" if len(shown) == 1 else ("start" if i == 0 else "end")
        out.append(
            f'<text x="{plot.x(i):.1f}" y="{baseline}" class="tick" '
            f'text-anchor="{anchor}">{escape(labels[i].split(" ", 1)[0])}</text>'
        )
    return out


def _series(line: Series, labels: Sequence[str], plot: _Plot, unit: str, dash: str) -> list[str]:
    out = []
    style = f' stroke-dasharray="{dash}"' if dash else ""
    segment: list[str] = []
    for i, value in enumerate((*line.values, None)):
        if value is None:
            if len(segment) > 1:
                out.append(
                    f'<polyline fill="none" stroke="{line.color}" stroke-width="2"{style} '
                    f'points="{" ".join(segment)}"/>'
                )
            segment = []
            continue
        point = f"{plot.x(i):.1f},{plot.y(value):.1f}"
        segment.append(point)
        tip = f"{line.name}: {_number(value)}{unit} ({labels[i]})"
        out.append(
            f'<circle cx="{plot.x(i):.1f}" cy="{plot.y(value):.1f}" r="3" '
            f'fill="{line.color}"><title>{escape(tip)}</title></circle>'
        )
    return out


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
