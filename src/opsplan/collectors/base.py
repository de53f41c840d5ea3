"""What every collector shares: the Sample it returns and the protocol it follows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

Labels = tuple[tuple[str, str], ...]


def labels_of(**labels: object) -> Labels:
    """Labels as a sorted tuple, so equal label sets compare and hash equal."""
    return tuple(sorted((k, str(v)) for k, v in labels.items()))


@dataclass(frozen=True, slots=True)
class Sample:
    """One value of one series at collection time. Names follow docs/metrics.md."""

    name: str
    value: float
    labels: Labels = field(default=())

    def label(self, key: str) -> str | None:
        for k, v in self.labels:
            if k == key:
                return v
        return None


def sample(name: str, value: float, /, **labels: object) -> Sample:
    # Positional-only, so a label may itself be called "name" or "value".
    return Sample(name, float(value), labels_of(**labels))


@runtime_checkable
class Collector(Protocol):
    """A source of samples. `collect` raises CollectorError (or anything) on failure;
    the runner turns that into opsplan_collector_up{collector=name} 0 and goes on."""

    name: str

    def collect(self) -> list[Sample]: ...


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """How a metric is exported and documented: every name a collector emits has one."""

    type: str  # "gauge" or "counter" (Prometheus text format types)
    help: str
    labels: tuple[str, ...] = ()
    unit: str = ""


def gauge(help: str, *labels: str, unit: str = "") -> MetricSpec:
    return MetricSpec("gauge", help, labels, unit)


def counter(help: str, *labels: str, unit: str = "") -> MetricSpec:
    return MetricSpec("counter", help, labels, unit)
