"""An incident's evidence chart (the series captured when it opened, incidents/evidence.py) drawn by
the check reports' SVG helper, for the postmortem's HTML and the console's incident page."""

from __future__ import annotations

from typing import Any

from opsplan.checks.model import UNITS, Chart, Line, Series
from opsplan.checks.report import svg


def evidence_svg(data: dict[str, Any], lang: str, tz: str) -> str:
    """The captured series as an SVG line chart with its threshold; "" when none was captured."""
    chart = data.get("chart")
    if not isinstance(chart, dict) or not chart.get("series"):
        return ""
    metric = str(chart.get("metric", ""))
    series = [Series(" ".join(str(v) for _, v in sorted(s.get("labels", {}).items()) if v) or metric,
                     [(float(p[0]), float(p[1])) for p in s.get("points", [])]) for s in chart["series"]]
    threshold = chart.get("threshold")
    thresholds = [(Line("incident.evidence.threshold"), float(threshold))] if isinstance(threshold, int | float) \
        else []
    unit = str(chart.get("unit") or "none")
    drawn = Chart(Line("incident.evidence.chart_title", {"alert": data.get("alert", ""), "metric": metric}),
                  unit if unit in UNITS else "none", series, thresholds)
    return svg.chart_svg(drawn, lang, tz)
