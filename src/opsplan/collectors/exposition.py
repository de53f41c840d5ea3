"""Renders a cycle's samples in the Prometheus text format, with HELP and TYPE from the catalogue."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector as PromCollector
from prometheus_client.registry import CollectorRegistry

from opsplan.collectors.base import MetricSpec, Sample


def families(samples: Iterable[Sample], catalogue: Mapping[str, MetricSpec]) -> Iterator[Metric]:
    by_name: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        by_name[s.name].append(s)
    for name in sorted(by_name):
        spec = catalogue.get(name)
        label_names = sorted({k for s in by_name[name] for k, _ in s.labels})
        family: Metric
        if spec is not None and spec.type == "counter":
            family = CounterMetricFamily(name.removesuffix("_total"), spec.help, labels=label_names)
        else:
            family = GaugeMetricFamily(name, spec.help if spec else name, labels=label_names)
        for s in by_name[name]:
            values = dict(s.labels)
            family.add_metric([values.get(k, "") for k in label_names], s.value)
        yield family


class _Latest(PromCollector):
    def __init__(self, source: LatestSamples):
        self.source = source

    def collect(self) -> Iterator[Metric]:
        return families(self.source.samples, self.source.catalogue)


class LatestSamples:
    """Holds the last cycle's samples and renders them on scrape (no work between scrapes)."""

    def __init__(self, catalogue: Mapping[str, MetricSpec]):
        self.catalogue = catalogue
        self.samples: list[Sample] = []
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Latest(self))

    def update(self, samples: list[Sample]) -> None:
        self.samples = samples  # swapped whole, so a scrape never sees half a cycle

    def render(self) -> bytes:
        return generate_latest(self.registry)
