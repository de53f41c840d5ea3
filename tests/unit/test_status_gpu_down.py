"""The status page marks a GPU that NVML sees but that is lost or hung, with why."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from opsplan.collectors.allocation import rollup
from opsplan.collectors.gpu import GpuCollector
from opsplan.collectors.nvml_fake import FakeNvml
from opsplan.collectors.runner import CollectionRunner
from opsplan.metrics.exposition import LatestSamples
from opsplan.plan.models import Plan
from opsplan.serve.loop import CollectionLoop
from opsplan.stages.all import metric_registry
from opsplan.store import MetricsStore
from opsplan.web.app import ServeState, create_app


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    the_plan = Plan()
    gpus = [{"uuid": f"GPU-{i}", "utilization": {"gpu": 40, "memory": 0}, "temperature": 50} for i in range(4)]
    gpus[1]["errors"] = {"*": "GpuIsLost"}  # an Xid 79
    gpus[2]["hang"] = ["temperature"]  # stuck in the driver
    nvml = FakeNvml({"gpus": gpus})
    collector = GpuCollector(the_plan, nvml=nvml, read_timeout=0.2)
    with MetricsStore(tmp_path / "metrics") as store:
        latest = LatestSamples(metric_registry())
        lock = threading.Lock()
        runner = CollectionRunner([collector], rollups=[lambda s: rollup(the_plan, s)], deadline=5.0)
        loop = CollectionLoop(runner, store, latest, interval=15, store_lock=lock)
        loop.run_cycle()
        app = create_app(ServeState(plan=the_plan, latest=latest, loop=loop, store=store, store_lock=lock))
        yield TestClient(app, base_url="http://127.0.0.1:8080")
        nvml.release()
        runner.close()


def _gpu_row(html: str, gpu: int) -> str:
    start = html.index(f"<td>GPU {gpu}</td>")
    return html[start:html.index("</tr>", start)]


def test_a_lost_and_a_hung_gpu_are_shown_down_with_why(client: TestClient) -> None:
    ko = client.get("/?lang=ko").text
    assert "응답 없음: 버스에서 사라짐" in _gpu_row(ko, 1)
    assert "응답 없음: 드라이버에서 응답 없음" in _gpu_row(ko, 2)
    assert "응답 없음" not in _gpu_row(ko, 0)
    assert "50 °C" in _gpu_row(ko, 0)
    en = client.get("/?lang=en").text
    assert "down: fell off the bus" in _gpu_row(en, 1)
    assert "down: hung in the driver" in _gpu_row(en, 2)
    status = client.get("/api/v1/status").json()
    ai = status["groups"][0]["gpus"]
    assert [g["down"] for g in ai] == [False, True, True]
