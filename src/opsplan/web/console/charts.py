"""The Metrics page (GET /charts): charts over the metrics store, with the plan's alert thresholds.

The page itself carries no data: it lists the charts (chart_specs.py), the thresholds of each as
text, and a range picker of plain links (so it reads, and the range changes, without script).
static/charts.js then asks /api/v1/query for each chart (`start=now-<range>`, the range's step)
and draws it with the vendored uPlot, thresholds as dashed lines with a legend, and writes each
chart's summary (last value, min and max over the range) as text, or why there is nothing to draw.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from opsplan import format as fmt
from opsplan.i18n import LANGUAGES, t, template
from opsplan.metrics import MetricSpec
from opsplan.web.console.chart_specs import DEFAULT_RANGE, RANGES, sections
from opsplan.web.console.frame import Console, NavItem, PageContext

PATH = "/charts"
# Each range's name in the picker (literal keys, so the catalogue test sees them).
RANGE_LABELS = {"1h": "console.charts.range.1h", "6h": "console.charts.range.6h",
                "24h": "console.charts.range.24h", "7d": "console.charts.range.7d",
                "30d": "console.charts.range.30d"}


def _texts(language: str) -> dict[str, str]:
    """The script's words, in the page's language ({placeholders} filled by the script)."""
    return {"empty": t("console.charts.empty", language), "loading": t("console.charts.loading", language),
            "summary": template("console.charts.summary", language),
            "failed": template("console.charts.failed", language), "time": t("console.charts.time", language)}


def charts_router(console: Console, families: Mapping[str, MetricSpec]) -> APIRouter:
    """The page, added to the console's navigation; the plan is read from the console on each request."""
    router = APIRouter(include_in_schema=False)
    console.add_page(NavItem(PATH, 10))

    @router.get(PATH, response_class=HTMLResponse)
    def charts_page(request: Request, lang: str | None = None,
                    range_: Annotated[str | None, Query(alias="range", max_length=100)] = None) -> Response:
        key = range_ or DEFAULT_RANGE
        # A bad range is said to whoever may read the page; anyone else is sent to log in first.
        if key not in RANGES and (console.open_reads or console.user(request) is not None):
            said = [t("console.charts.bad_range", each, range=key[:20], choices=", ".join(RANGES))
                    for each in LANGUAGES]
            return PlainTextResponse(" / ".join(said) + "\n", 400)
        plan = console.plan

        def content(page: PageContext) -> dict[str, Any]:
            language = page.language
            seconds, step = RANGES[key]
            step = max(step, float(plan.monitoring.interval))
            return {
                "sections": sections(plan, families, language),
                "ranges": [{"key": k, "label": t(RANGE_LABELS[k], language), "current": k == key} for k in RANGES],
                "range": key, "start": f"now-{key}", "seconds": seconds, "step": step,
                # The page's refresh: each monitoring interval, never more often than a new bucket.
                "chart_refresh": max(step, float(plan.monitoring.interval)),
                "zone": datetime.now(fmt.zone(plan.timezone)).strftime("%Z"),
                "texts": _texts(language),
            }

        return console.page(request, "charts.html", lang, content)

    return router
