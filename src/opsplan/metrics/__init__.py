"""The metric vocabulary shared by every stage: samples, cycles, metric families and their
registry, and an index over a cycle's samples. It imports no stage."""

from opsplan.metrics.index import SampleIndex
from opsplan.metrics.registry import MetricRegistry
from opsplan.metrics.samples import (
    CollectorStatus,
    Cycle,
    Labels,
    MetricSpec,
    Sample,
    counter,
    gauge,
    labels_of,
    sample,
)

__all__ = ["CollectorStatus", "Cycle", "Labels", "MetricRegistry", "MetricSpec", "Sample", "SampleIndex", "counter",
           "gauge", "labels_of", "sample"]
