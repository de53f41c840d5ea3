"""Renders a cycle's samples in the Prometheus text format (0.0.4), with HELP and TYPE from the catalogue.

Written straight from the samples rather than through prometheus_client's registry: the
registry rebuilds a metric object per family on every scrape, which cost more CPU than the
whole system collector. tests/unit/test_exposition.py parses the output with
prometheus_client's own parser to keep it honest.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping

from opsplan.metrics import MetricSpec, Sample


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def render_text(samples: Iterable[Sample], catalogue: Mapping[str, MetricSpec]) -> bytes:
    by_name: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        by_name[s.name].append(s)
    lines: list[str] = []
    for name in sorted(by_name):
        spec = catalogue.get(name)
        lines.append(f"# HELP {name} {_escape_help(spec.help if spec else name)}")
        lines.append(f"# TYPE {name} {spec.type if spec else 'untyped'}")
        for s in by_name[name]:
            if s.labels:
                labels = ",".join(f'{k}="{_escape_label(v)}"' for k, v in s.labels)
                lines.append(f"{name}{{{labels}}} {_number(s.value)}")
            else:
                lines.append(f"{name} {_number(s.value)}")
    lines.append("")
    return "\n".join(lines).encode("utf-8")


class LatestSamples:
    """Holds the last cycle's samples and renders them on scrape (no work between scrapes)."""

    def __init__(self, catalogue: Mapping[str, MetricSpec]):
        self.catalogue = catalogue
        self.samples: list[Sample] = []

    def update(self, samples: list[Sample]) -> None:
        self.samples = samples  # swapped whole, so a scrape never sees half a cycle

    def render(self) -> bytes:
        return render_text(self.samples, self.catalogue)
