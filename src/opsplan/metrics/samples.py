"""The samples every stage speaks: one value of one series, and how a metric family is declared."""

from __future__ import annotations

from dataclasses import dataclass, field

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


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """How a metric is exported and documented: every name a stage emits has one."""

    type: str  # "gauge" or "counter" (Prometheus text format types)
    help: str
    labels: tuple[str, ...] = ()
    unit: str = ""


def gauge(help: str, *labels: str, unit: str = "") -> MetricSpec:
    return MetricSpec("gauge", help, labels, unit)


def counter(help: str, *labels: str, unit: str = "") -> MetricSpec:
    return MetricSpec("counter", help, labels, unit)


@dataclass
class CollectorStatus:
    name: str
    up: bool
    seconds: float
    reason: str = ""


@dataclass
class Cycle:
    """One collection cycle: what every collector returned, handed to each stage in turn."""

    timestamp: float
    samples: list[Sample]
    seconds: float
    statuses: list[CollectorStatus] = field(default_factory=list)
