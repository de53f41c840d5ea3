"""The collection runner: one failing or hung collector degrades only itself."""

from __future__ import annotations

import logging
import threading

from opsplan.collectors.runner import METRICS, CollectionRunner
from opsplan.metrics import Sample, sample
from opsplan.metrics.exposition import LatestSamples


class Fixed:
    def __init__(self, name: str, value: float):
        self.name = name
        self.value = value

    def collect(self) -> list[Sample]:
        return [sample("opsplan_cpu_usage_ratio", self.value)]


class Broken:
    name = "broken"

    def __init__(self) -> None:
        self.calls = 0

    def collect(self) -> list[Sample]:
        self.calls += 1
        raise ConnectionRefusedError("connection refused")


class Hung:
    name = "hung"

    def __init__(self) -> None:
        self.release = threading.Event()

    def collect(self) -> list[Sample]:
        self.release.wait(10)
        return []


def values(samples: list[Sample], name: str) -> dict[tuple, float]:
    return {s.labels: s.value for s in samples if s.name == name}


def test_a_failing_collector_is_down_and_the_others_go_on(caplog):
    broken = Broken()
    runner = CollectionRunner([Fixed("good", 0.5), broken], deadline=2)
    with caplog.at_level(logging.WARNING, logger="opsplan.collectors"):
        first = runner.run_once()
        second = runner.run_once()
    runner.close()
    up = values(second.samples, "opsplan_collector_up")
    assert up[(("collector", "good"),)] == 1
    assert up[(("collector", "broken"),)] == 0
    assert values(second.samples, "opsplan_cpu_usage_ratio")[()] == 0.5
    assert [s.reason for s in first.statuses if s.name == "broken"] == ["connection refused"]
    # The reason is logged when the collector goes down, not again every cycle.
    assert sum("broken is down: connection refused" in r.message for r in caplog.records) == 1
    assert broken.calls == 2


def test_a_hung_collector_times_out_without_holding_the_cycle():
    hung = Hung()
    runner = CollectionRunner([Fixed("good", 0.25), hung], deadline=0.3)
    cycle = runner.run_once()
    again = runner.run_once()
    hung.release.set()
    runner.close()
    assert cycle.seconds < 5
    status = {s.name: s for s in again.statuses}
    assert not status["hung"].up and "still running" in status["hung"].reason
    assert status["good"].up
    assert values(again.samples, "opsplan_cycles_total")[()] == 2


def test_exposition_renders_help_type_and_counters():
    latest = LatestSamples(METRICS)
    runner = CollectionRunner([Broken()], deadline=1)
    latest.update(runner.run_once().samples)
    runner.close()
    text = latest.render().decode()
    assert '# TYPE opsplan_collector_up gauge' in text
    assert 'opsplan_collector_up{collector="broken"} 0.0' in text
    assert '# TYPE opsplan_cycles_total counter' in text and 'opsplan_cycles_total 1.0' in text
