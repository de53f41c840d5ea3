"""Values and subjects as an operator reads them: 85.2% not 0.852, 2.4s, 91°C, 27h."""

from __future__ import annotations

import math
from collections.abc import Mapping

from opsplan import format as fmt
from opsplan.plan.models import Text


def format_value(metric: str, value: float | None) -> str:
    """A value in its metric's unit, chosen from the name's suffix as docs/metrics.md names them."""
    if value is None or not math.isfinite(value):
        return "-"
    if metric.endswith("_ratio"):
        return fmt.percent(value)
    if metric.endswith("_celsius"):
        return f"{value:.0f}°C"
    if metric.endswith("_seconds"):
        return fmt.duration(value, sep="", precision=2)
    if metric.endswith("_bytes"):
        return fmt.size(value, style="compact")
    return f"{value:g}"


def subject_text(labels: Mapping[str, str], names: tuple[str, ...]) -> str:
    """'mountpoint /', 'service llm-api', 'gpu 0 group ai'; '' for host-wide rules."""
    return " ".join(f"{name} {labels[name]}" for name in names if name in labels)


def fill(text: Text, *, subject: str, value: str, threshold: str) -> Text:
    """The rule's text with {subject}, {value} and {threshold} put in; unknown fields are kept."""
    return Text(ko=_format(text.ko, subject, value, threshold), en=_format(text.en, subject, value, threshold))


def _format(template: str, subject: str, value: str, threshold: str) -> str:
    try:
        return template.format(subject=subject, value=value, threshold=threshold).strip()
    except (KeyError, IndexError, ValueError):  # an operator's text with stray braces stays as written
        return template
