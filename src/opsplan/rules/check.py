"""`opsplan plan check` for the operator's own rules (plan.monitoring.rules): each problem is one
line pointing at the key to change."""

from __future__ import annotations

import math
import re
import string
from collections.abc import Iterator, Mapping
from difflib import get_close_matches

from opsplan.metrics import MetricSpec
from opsplan.plan.models import Plan, Text
from opsplan.rules.model import BUILT_IN_ALERTS

LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
PLACEHOLDERS = {"subject", "value", "threshold"}

Loc = tuple[str | int, ...]


def custom_rule_problems(plan: Plan, catalogue: Mapping[str, MetricSpec]) -> Iterator[tuple[Loc, str]]:
    """`catalogue`: every metric family opsplan emits (a custom rule names one, or is external)."""
    first: dict[tuple[str, str], int] = {}
    for i, rule in enumerate(plan.monitoring.rules):
        where: Loc = ("monitoring", "rules", i)
        if rule.alert in BUILT_IN_ALERTS:
            yield (*where, "alert"), (f"'{rule.alert}' is a built-in alert; change its settings under "
                                      "monitoring.alerts or give this rule its own name")
        key = (rule.alert, rule.severity)
        if key in first:
            yield (*where, "alert"), (f"duplicate rule '{rule.alert}' with severity {rule.severity} "
                                      f"(also monitoring.rules[{first[key]}])")
        else:
            first[key] = i
        spec = catalogue.get(rule.metric)
        if spec is None and not rule.external:
            close = get_close_matches(rule.metric, list(catalogue), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            yield (*where, "metric"), (f"unknown metric '{rule.metric}'{hint}; for a metric from another "
                                       "exporter set external: true")
        for name in rule.match:
            if not LABEL_NAME.match(name):
                yield (*where, "match", name), f"invalid label name '{name}'"
            elif spec is not None and name not in spec.labels:
                known = ", ".join(spec.labels) or "none"
                yield (*where, "match", name), f"metric {rule.metric} has no label '{name}' (its labels: {known})"
        if not math.isfinite(rule.threshold):
            yield (*where, "threshold"), f"must be a finite number, got {rule.threshold}"
        texts: list[tuple[str, Text | None]] = [("summary", rule.summary), ("description", rule.description)]
        for field, text in texts:
            if text is None:
                continue
            for language in ("ko", "en"):
                problem = _placeholder_problem(getattr(text, language))
                if problem:
                    yield (*where, field, language), problem


def _placeholder_problem(template: str) -> str | None:
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        return f"{exc} (write {{{{ and }}}} for a literal brace)"
    unknown = sorted({f for f in fields if f not in PLACEHOLDERS})
    if unknown:
        return f"unknown placeholder {{{unknown[0]}}} (use {{subject}}, {{value}}, {{threshold}})"
    return None
