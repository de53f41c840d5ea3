"""The postmortem's evidence section, for every way out (CLI, HTTP API, console downloads): the
evidence entry in words (incidents/evidence_text.py) and its chart as inline SVG
(checks/report/evidence_chart.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opsplan.plan.models import Plan


def postmortem_evidence(timeline: list[dict[str, Any]], plan: Plan) -> Callable[[str], tuple[list[str], str]]:
    """The lines of the first `evidence` entry and its chart, in the language asked for."""
    from opsplan.checks.report.evidence_chart import evidence_svg
    from opsplan.incidents.evidence_text import evidence_lines

    found = next((e["data"] for e in timeline if e["kind"] == "evidence"), None)

    def render(lang: str) -> tuple[list[str], str]:
        if found is None:
            return [], ""
        lines = [line[2:] if line.startswith("  ") else line for line in evidence_lines(found, plan, lang)]
        return lines, evidence_svg(found, lang, plan.timezone)

    return render
