"""A check chart as inline SVG: lines per series, dashed threshold lines, a shaded confidence band,
labelled axes (time in the plan's timezone, values in the chart's unit) and a legend.

Drawn here rather than with a plotting library: a report file must open anywhere, offline, with
no script, and the charts are simple line charts.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from opsplan import format as fmt
from opsplan.checks.model import Chart
from opsplan.checks.report.values import number, text
from opsplan.i18n import t

WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 30, 60
# Series colours; red is kept for thresholds.
COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f")
THRESHOLD_COLOUR = "#b00020"
TICKS = 5


def _ticks(low: float, high: float, count: int = TICKS) -> list[float]:
    if high <= low:
        return [low]
    step = (high - low) / (count - 1)
    return [low + i * step for i in range(count)]


_TIME_STEPS = (3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400, 14 * 86400,
               30 * 86400)


def _time_ticks(t0: float, t1: float, tz: str, most: int = 8) -> list[float]:
    """Round local times (whole hours, midnights) between t0 and t1, at most `most` of them."""
    step = next((s for s in _TIME_STEPS if (t1 - t0) / s <= most), _TIME_STEPS[-1])
    offset = datetime.fromtimestamp(t0, fmt.zone(tz)).utcoffset()
    shift = offset.total_seconds() if offset is not None else 0.0
    first = ((t0 + shift) // step + 1) * step - shift  # the first local multiple of the step after t0
    if (t0 + shift) % step == 0:
        first = t0
    ticks = []
    at = first
    while at <= t1:
        ticks.append(at)
        at += step
    return ticks or [t0]


def _time_label(ts: float, tz: str, span: float) -> str:
    when = datetime.fromtimestamp(ts, fmt.zone(tz))
    return when.strftime("%H:%M") if span <= 2 * 86400 else when.strftime("%m-%d")


def chart_svg(chart: Chart, lang: str, tz: str) -> str:
    """One chart as an <svg> element (title, axes, series, thresholds, band, legend)."""
    times = [p[0] for s in chart.series for p in s.points]
    values = [p[1] for s in chart.series for p in s.points]
    if chart.band is not None:
        for side in chart.band:
            times += [p[0] for p in side.points]
            values += [p[1] for p in side.points]
    values += [v for _, v in chart.thresholds]
    title = escape(text(chart.title, lang))
    if not times:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="60" role="img">'
                f'<title>{title}</title><text x="10" y="35">{escape(t("checks.report.no_points", lang))}</text></svg>')
    t0, t1 = min(times), max(times)
    if t1 <= t0:
        t1 = t0 + 1
    low = min(0.0, min(values))
    high = max(values) * 1.1 if max(values) > 0 else 1.0
    if chart.unit == "ratio" and max(values) <= 1.0:
        high = 1.0  # a usage chart reads best on 0-100 %
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(ts: float) -> float:
        return LEFT + (ts - t0) / (t1 - t0) * plot_w

    def y(value: float) -> float:
        return TOP + plot_h - (value - low) / (high - low) * plot_h

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" class="chart"><title>{title}</title>',
             f'<text x="{LEFT}" y="18" font-size="14" font-weight="bold">{title}</text>',
             f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>']
    for tick in _ticks(low, high):
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#eee"/>'
                     f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" font-size="11" text-anchor="end">'
                     f'{escape(number(tick, chart.unit, lang))}</text>')
    for tick in _time_ticks(t0, t1, tz):
        parts.append(f'<text x="{x(tick):.1f}" y="{TOP + plot_h + 16}" font-size="11" text-anchor="middle">'
                     f'{escape(_time_label(tick, tz, t1 - t0))}</text>')
    zone_name = datetime.fromtimestamp(t1, fmt.zone(tz)).strftime("%Z")
    parts.append(f'<text x="{LEFT + plot_w / 2:.1f}" y="{TOP + plot_h + 34}" font-size="12" text-anchor="middle">'
                 f'{escape(t("checks.report.axis_time", lang, zone=zone_name))}</text>')
    parts.append(f'<text x="14" y="{TOP + plot_h / 2:.1f}" font-size="12" text-anchor="middle" '
                 f'transform="rotate(-90 14 {TOP + plot_h / 2:.1f})">{escape(_unit_name(chart.unit, lang))}</text>')
    if chart.band is not None:
        lower, upper = chart.band
        outline = [(x(a), y(b)) for a, b in upper.points] + [(x(a), y(b)) for a, b in reversed(lower.points)]
        if outline:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in outline)
            parts.append(f'<polygon points="{path}" fill="#1f77b4" fill-opacity="0.15" stroke="none" class="band"/>')
    for index, series in enumerate(chart.series):
        colour = COLOURS[index % len(COLOURS)]
        path = " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b in series.points)
        if len(series.points) == 1:
            px, py = x(series.points[0][0]), y(series.points[0][1])
            parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}"/>')
        else:
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
    for name, value in chart.thresholds:
        if low <= value <= high:
            label = f"{text(name, lang)} {number(value, chart.unit, lang)}"
            parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                         f'stroke="{THRESHOLD_COLOUR}" stroke-dasharray="6 4" class="threshold"/>'
                         f'<text x="{LEFT + plot_w - 4}" y="{y(value) - 4:.1f}" font-size="11" text-anchor="end" '
                         f'fill="{THRESHOLD_COLOUR}">{escape(label)}</text>')
    legend_y = HEIGHT - 8
    legend_x = LEFT
    for index, series in enumerate(chart.series):
        colour = COLOURS[index % len(COLOURS)]
        parts.append(f'<rect x="{legend_x}" y="{legend_y - 9}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{legend_x + 14}" y="{legend_y}" font-size="11">{escape(series.label)}</text>')
        legend_x += 24 + 7 * len(series.label)
    parts.append("</svg>")
    return "".join(parts)


_UNIT_KEYS = {"ratio": "checks.unit.ratio", "bytes": "checks.unit.bytes",
              "bytes_per_second": "checks.unit.bytes_per_second",
              "seconds": "checks.unit.seconds", "count": "checks.unit.count", "per_second": "checks.unit.per_second",
              "celsius": "checks.unit.celsius", "days": "checks.unit.days", "none": "checks.unit.none"}


def _unit_name(unit: str, lang: str) -> str:
    return t(_UNIT_KEYS[unit if unit in _UNIT_KEYS else "none"], lang)
