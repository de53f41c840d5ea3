"""Week-over-week performance trend (seed §2.2 성능 트렌드 분석), read from the metrics store.

For each figure (p95 response time, throughput and error rate per service, GPU utilisation per
group, CPU utilisation of the host and per group) this week's mean of hourly averages is compared
with the week before's. A figure that got worse by at least the plan's `checks.trend_step` percent,
and by more than its noise floor, is flagged. Both weeks' hourly series are kept for a chart, last
week's shifted by the period so the two lie over each other.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

HOUR = 3600.0
P95 = "0.95"  # the quantile label the services collector writes (collectors/services.py QUANTILES)


@dataclass(frozen=True)
class Metric:
    key: str  # latency, throughput, errors, gpu, cpu: chooses the catalogue lines (checks/evaluators/weekly.py)
    unit: str  # a model.UNITS unit
    worse_when_up: bool  # throughput going up is not a problem: it is shown, never flagged
    floor: float  # a change smaller than this is noise whatever its percent (5 ms on a 10 ms p95 ...)


LATENCY = Metric("latency", "seconds", True, 0.010)
THROUGHPUT = Metric("throughput", "per_second", False, 0.0)
ERRORS = Metric("errors", "ratio", True, 0.005)
GPU = Metric("gpu", "ratio", True, 0.05)
CPU = Metric("cpu", "ratio", True, 0.05)
METRICS = (LATENCY, THROUGHPUT, ERRORS, GPU, CPU)


@dataclass
class Comparison:
    metric: Metric
    subject: str  # a service (with its group), a group id, or "host"
    this_week: list[tuple[float, float]] = field(default_factory=list)
    last_week: list[tuple[float, float]] = field(default_factory=list)  # shifted onto this week's times
    step: float = 20.0  # percent

    @staticmethod
    def _mean(points: list[tuple[float, float]]) -> float | None:
        return sum(v for _, v in points) / len(points) if points else None

    @property
    def value(self) -> float | None:
        return self._mean(self.this_week)

    @property
    def previous(self) -> float | None:
        return self._mean(self.last_week)

    @property
    def change(self) -> float | None:
        """(this - last) / last; None without both weeks or from zero."""
        if self.value is None or self.previous is None or self.previous == 0:
            return None
        return (self.value - self.previous) / self.previous

    @property
    def flagged(self) -> bool:
        if not self.metric.worse_when_up or self.value is None or self.previous is None:
            return False
        rise = self.value - self.previous
        if rise <= self.metric.floor:
            return False
        return self.previous == 0 or rise / self.previous * 100 >= self.step


def _hourly(store: Any, name: str, matchers: dict[str, str] | None, start: float,
            end: float) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
    return [(r.labels, [(p[0], p[2]) for p in r.points]) for r in store.query(name, matchers, start, end, HOUR)]


def _counter_rates(store: Any, name: str, start: float, end: float,
                   by: str) -> dict[str, list[tuple[float, float]]]:
    """Per value of label `by`: the summed per-second rate of a counter, hour by hour (a reset skipped)."""
    summed: dict[str, dict[float, float]] = defaultdict(lambda: defaultdict(float))
    for result in store.query(name, None, start - HOUR, end, HOUR):
        points = result.points
        for before, now in zip(points, points[1:], strict=False):
            elapsed = now[0] - before[0]
            rise = now[4] - before[4]
            if now[0] >= start and elapsed > 0 and rise >= 0:
                summed[result.labels.get(by, "-")][now[0]] += rise / elapsed
    return {key: sorted(values.items()) for key, values in summed.items()}


def _series(store: Any, plan: Any, metric: Metric, start: float, end: float) -> dict[str, list[tuple[float, float]]]:
    """The hourly series of one metric over [start, end), by subject."""
    out: dict[str, list[tuple[float, float]]] = {}
    groups = {s.name: s.group for s in plan.services}

    def service(labels: dict[str, str]) -> str:
        name = labels.get("service", "-")
        return f"{name} ({groups[name]})" if groups.get(name) else name

    if metric is LATENCY:
        for labels, points in _hourly(store, "opsplan_api_response_seconds", {"quantile": P95}, start, end):
            out[service(labels)] = points
    elif metric is THROUGHPUT:
        for labels, points in _hourly(store, "opsplan_api_requests_per_second", None, start, end):
            out[service(labels)] = points
    elif metric is ERRORS:
        for labels, points in _hourly(store, "opsplan_api_error_ratio", None, start, end):
            out[service(labels)] = points
    elif metric is GPU:
        for labels, points in _hourly(store, "opsplan_group_gpu_utilization_ratio", None, start, end):
            out[labels.get("group", "-")] = points
    elif metric is CPU:
        for _labels, points in _hourly(store, "opsplan_cpu_usage_ratio", None, start, end):
            out["host"] = points
        cpus = store.latest("opsplan_cpu_count")
        count = cpus[0][2] if cpus else None
        if count:
            for group, points in _counter_rates(store, "opsplan_group_member_cpu_seconds_total", start, end,
                                                "group").items():
                out[group] = [(t, v / count) for t, v in points]
    return out


def compare(store: Any, plan: Any, start: float, end: float, step: float,
            metrics: Iterable[Metric] = METRICS) -> list[Comparison]:
    """This period [start, end) against the one before it, per metric and subject."""
    span = end - start
    out = []
    for metric in metrics:
        now = _series(store, plan, metric, start, end)
        before = _series(store, plan, metric, start - span, start)
        for subject in sorted(set(now) | set(before)):
            out.append(Comparison(metric, subject, now.get(subject, []),
                                  [(t + span, v) for t, v in before.get(subject, [])], step))
    return out


def week_label(start: float, end: float, timezone: str) -> str:
    """'11-23~11-29': a period's first and last day in the plan's timezone (a chart's series name)."""
    tz = ZoneInfo(timezone)
    first = datetime.fromtimestamp(start, tz)
    last = datetime.fromtimestamp(max(start, end - 1), tz)
    return f"{first:%m-%d}~{last:%m-%d}"
