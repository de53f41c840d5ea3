"""A GPU that is lost, or that reports Xid events or PCIe replays, is an alert the operator hears
from the embedded engine (the exported Prometheus rules are checked in tests/integration)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opsplan.alerts.engine import AlertEngine
from opsplan.collectors.allocation import rollup
from opsplan.collectors.gpu import GpuCollector
from opsplan.collectors.nvml_fake import FakeNvml
from opsplan.metrics import Cycle, Sample
from opsplan.plan.models import Plan
from opsplan.rules.model import build_rules
from opsplan.stages.all import metric_registry
from opsplan.store.state import StateDB


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def db(tmp_path: Path) -> Iterator[StateDB]:
    state = StateDB.open(f"sqlite:///{tmp_path / 'state.db'}")
    yield state
    state.close()


def gpus() -> list[dict[str, Any]]:
    return [{"uuid": f"GPU-{i}", "temperature": 50, "utilization": {"gpu": 30, "memory": 0}, "pcie_replay": 0,
             "xid": []} for i in range(4)]


def run(db: StateDB, nvml: FakeNvml, cycles: int, change: Any = None) -> list[Any]:
    plan, clock = Plan(), Clock()
    notices: list[Any] = []
    engine = AlertEngine(plan, build_rules(plan, metric_registry()), db, notice_sink=notices.append, clock=clock,
                         host="ai-server-01")
    collector = GpuCollector(plan, nvml=nvml, clock=clock)
    for i in range(cycles):
        if change is not None and i == 1:
            change(nvml)
        samples: list[Sample] = collector.collect()
        engine.on_cycle(Cycle(clock.now, samples + rollup(plan, samples), 0.1))
        clock.now += 15
    collector.close()
    return notices


def test_a_gpu_that_fell_off_the_bus_is_a_critical_alert_at_once(db: StateDB) -> None:
    def lose(nvml: FakeNvml) -> None:
        nvml.gpus[1]["errors"] = {"*": "GpuIsLost"}

    notices = run(db, FakeNvml({"gpus": gpus()}), 3, lose)
    firing = [(n.alert, n.severity) for n in notices if n.kind == "firing"]
    assert firing == [("GpuDown", "critical")]
    assert notices[0].subject == "gpu 1 group ai"
    assert "GPU가 버스에서 사라졌거나" in notices[0].description.ko


def test_xid_events_and_growing_pcie_replays_are_warnings(db: StateDB) -> None:
    def trouble(nvml: FakeNvml) -> None:
        nvml.gpus[2]["xid"].append(79)
        nvml.gpus[3]["pcie_replay"] = 12

    notices = run(db, FakeNvml({"gpus": gpus()}), 3, trouble)
    firing = sorted((n.alert, n.severity) for n in notices if n.kind == "firing")
    assert firing == [("GpuPcieReplays", "warning"), ("GpuXidErrors", "warning")]
