"""The status page shows each group's memory use against its budget, and its members: units,
cgroups and containers, an unhealthy container marked as such."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from opsplan import format as fmt
from opsplan.collectors.members import memory_rollup
from opsplan.collectors.runner import CollectionRunner
from opsplan.collectors.services import PROBE_FAILURES
from opsplan.metrics import Sample, sample
from opsplan.metrics.exposition import LatestSamples
from opsplan.plan.models import AllocationGroup, GroupMember, Plan, Service, Text
from opsplan.serve.loop import CollectionLoop
from opsplan.stages.all import metric_registry
from opsplan.store import MetricsStore
from opsplan.web.app import ServeState, create_app
from opsplan.web.status import PROBE_FAILURE_TEXT

GB = 10**9


class Figures:
    """What the groups and containers collectors report in one cycle (the source under test is the page)."""

    name = "groups"

    def collect(self) -> list[Sample]:
        return [
            sample("opsplan_group_member_up", 1, group="ai", member="ai.slice"),
            sample("opsplan_group_member_memory_used_bytes", 40 * GB, group="ai", member="ai.slice"),
            sample("opsplan_container_up", 1, group="ai", container="vllm"),
            sample("opsplan_container_healthy", 0, group="ai", container="vllm"),
            sample("opsplan_container_restarts_total", 3, group="ai", container="vllm"),
            sample("opsplan_container_memory_used_bytes", 56 * GB, group="ai", container="vllm"),
            sample("opsplan_container_up", 1, group="app", container="api"),
            sample("opsplan_container_healthy", 1, group="app", container="api"),
            sample("opsplan_api_up", 0, service="internal-api"),
            sample("opsplan_api_probe_failure_info", 1, service="internal-api", reason="certificate"),
        ]


def plan() -> Plan:
    return Plan(services=[Service(name="internal-api", url="https://127.0.0.1:8443/health")], allocation=[
        AllocationGroup(id="ai", name=Text(ko="AI 시스템", en="AI system"), memory=128 * GB, storage=GB,
                        members=[GroupMember(unit="ai.slice"), GroupMember(container="vllm")]),
        # The api container's memory is not known this cycle: the group's use is unknown, not 0.
        AllocationGroup(id="app", name=Text(ko="애플리케이션/DB", en="Application/DB"), memory=128 * GB,
                        storage=GB, members=[GroupMember(container="api")]),
    ])


@pytest.fixture
def client(tmp_path: Path):
    the_plan = plan()
    with MetricsStore(tmp_path / "metrics") as store:
        latest = LatestSamples(metric_registry())
        lock = threading.Lock()
        runner = CollectionRunner([Figures()], rollups=[lambda s: memory_rollup(the_plan, s)], deadline=5.0)
        loop = CollectionLoop(runner, store, latest, interval=15, store_lock=lock)
        loop.run_cycle()
        app = create_app(ServeState(plan=the_plan, latest=latest, loop=loop, store=store, store_lock=lock))
        yield TestClient(app, base_url="http://127.0.0.1:8080")
        runner.close()


def _group_block(html: str, group: str) -> str:
    start = html.index(f'id="group-{group}"')
    return html[start:html.index("</div>", start)]


def test_group_memory_use_is_shown_against_its_budget(client: TestClient) -> None:
    ai = _group_block(client.get("/?lang=ko").text, "ai")
    assert "메모리 사용 / 할당" in ai
    assert f"{gb(96 * GB)} / {gb(128 * GB)} ({fmt.percent(0.75, sep=' ', language='ko')})" in ai
    assert "96 GB / 128 GB (75%)" in ai  # Korean: no '.0' on whole numbers, % after the number
    assert "헬스 체크 실패" in ai and "재시작 3회" in ai  # the unhealthy container is marked
    app = _group_block(client.get("/?lang=ko").text, "app")
    assert f"– / {gb(128 * GB)}" in _text(app)  # unknown use is a dash, never 0
    assert "헬스 체크 실패" not in app

    en = _group_block(client.get("/?lang=en").text, "ai")
    assert "Memory used / budget" in en and "unhealthy" in en and "restarts: 3" in en


def test_the_status_api_carries_use_budget_and_members(client: TestClient) -> None:
    groups = {g["id"]: g for g in client.get("/api/v1/status").json()["groups"]}
    assert groups["ai"]["memory_used_bytes"] == 96 * GB
    assert groups["ai"]["memory_budget_bytes"] == 128 * GB
    assert groups["ai"]["memory_usage_ratio"] == pytest.approx(0.75)
    vllm = next(m for m in groups["ai"]["members"] if m["name"] == "vllm")
    assert vllm["healthy"] == 0 and vllm["restarts"] == 3 and vllm["kind"] == "container"
    assert groups["app"]["memory_used_bytes"] is None


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def gb(value: float) -> str:
    """As the Korean page writes a size (its `size` filter)."""
    return fmt.size(value, unit="GB", language="ko")


def test_a_service_down_for_its_certificate_says_so(client: TestClient) -> None:
    page = client.get("/?lang=ko").text
    services = page[page.index('id="services"'):]
    row = services[services.index("internal-api"):services.index("</tr>", services.index("internal-api"))]
    assert "중단" in row and "인증서 검증 실패" in row
    assert "certificate verify failed" in client.get("/?lang=en").text


def test_every_probe_failure_reason_has_words_on_the_status_page() -> None:
    assert set(PROBE_FAILURE_TEXT) == set(PROBE_FAILURES)
