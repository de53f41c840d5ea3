"""The daily check items over a real metrics store filled with series whose answer is known: a
disk at 95 % fails naming its mount, a CPU under its threshold passes, an empty window is not-run
(never a pass), and the backup item reads the real backup catalog."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from opsplan.checks import registry
from opsplan.checks.model import FAIL, NOT_RUN, PASS, WARN, CheckContext
from opsplan.checks.report.values import text
from opsplan.metrics import sample
from opsplan.plan.models import Plan
from opsplan.store import MetricsStore
from opsplan.store.state import StateDB

END = 1_796_000_400.0  # a multiple of 300 s
START = END - 86400.0
STEP = 300.0


def fill(store: MetricsStore, series: dict[tuple[str, tuple[tuple[str, str], ...]], object]) -> None:
    """One cycle every 5 minutes over the day; each value is a number or a function of the cycle index."""
    for index in range(int((END - START) // STEP)):
        batch = []
        for (name, labels), value in series.items():
            number = value(index) if callable(value) else value  # type: ignore[operator]
            batch.append(sample(name, float(number), **dict(labels)))
        store.append(START + index * STEP, batch)


@pytest.fixture
def store(tmp_path: Path):
    with MetricsStore(tmp_path / "metrics", clock=lambda: END, sync=False) as opened:
        yield opened


def context(store: object, plan: Plan | None = None, state_db: object = None) -> CheckContext:
    return CheckContext(plan=plan or Plan(), period="daily", start=START, end=END, now=END, store=store,
                        state_db=state_db)


def test_a_disk_at_95_percent_fails_naming_its_mount_and_a_quiet_cpu_passes(store):
    fill(store, {("opsplan_cpu_usage_ratio", ()): lambda i: 0.30 + 0.1 * math.sin(i / 10),
                 ("opsplan_memory_usage_ratio", ()): 0.55,
                 ("opsplan_disk_usage_ratio", (("mountpoint", "/"),)): 0.40,
                 ("opsplan_disk_usage_ratio", (("mountpoint", "/data"),)): 0.95})
    result = registry.evaluate("system.usage", context(store))
    assert result.status == FAIL
    said = [text(f, "en") for f in result.findings]
    assert len(said) == 1 and "/data" in said[0] and "95.0%" in said[0] and "90.0%" in said[0]
    assert "마운트 지점 /data의 디스크 사용률이 95%로" in text(result.findings[0], "ko")
    cpu = next(f for f in result.figures if f.name.key == "checks.fig.cpu_p95")
    assert 0.35 < cpu.value < 0.41 and cpu.threshold == 0.8  # p95 of the sine, the plan's warning
    assert {c.title.key for c in result.charts} == {"checks.chart.cpu", "checks.chart.memory", "checks.chart.disk"}
    disk = registry.evaluate("disk.space", context(store))
    assert disk.status == FAIL and "/data" in text(disk.summary, "en")


def test_a_cpu_under_its_threshold_passes(store):
    fill(store, {("opsplan_cpu_usage_ratio", ()): 0.5, ("opsplan_memory_usage_ratio", ()): 0.5,
                 ("opsplan_disk_usage_ratio", (("mountpoint", "/"),)): 0.5})
    result = registry.evaluate("system.usage", context(store))
    assert result.status == PASS and result.findings == []
    assert text(result.summary, "en") == "CPU p95 50.0%, memory p95 50.0%, 0 over a threshold"
    # The next run shows each figure beside this one's.
    later = context(store)
    later.previous = lambda item: result if item == "system.usage" else None
    again = registry.evaluate("system.usage", later)
    disk = next(f for f in again.figures if f.name.key == "checks.fig.disk")
    assert disk.previous == 0.5 and disk.name.values == {"mount": "/"}


def test_an_empty_store_and_no_store_are_not_run_never_pass(store):
    for item in registry.SEED_ITEMS[:8]:
        if item == "backup.status":
            continue
        empty = registry.evaluate(item, context(store))
        assert empty.status == NOT_RUN, item
        assert text(empty.reason, "en") == "no data in the window"
        assert registry.evaluate(item, context(None)).status == NOT_RUN
    assert registry.evaluate("disk.space", context(store)).status == NOT_RUN


def test_a_missing_gpu_fails_and_a_hot_one_warns(store):
    series: dict = {("opsplan_gpu_count", ()): lambda i: 4 if i < 100 else 3, ("opsplan_gpu_expected", ()): 4}
    for gpu in range(4):
        labels = (("gpu", str(gpu)), ("group", "ai" if gpu < 3 else "app"))
        series[("opsplan_gpu_missing", labels)] = (lambda i: 1 if i >= 100 else 0) if gpu == 2 else 0
        series[("opsplan_gpu_temperature_celsius", labels)] = 85 if gpu == 1 else 60
        series[("opsplan_gpu_utilization_ratio", labels)] = 0.5
    fill(store, series)
    result = registry.evaluate("gpu.status", context(store))
    assert result.status == FAIL
    said = [text(f, "en") for f in result.findings]
    assert said[0] == "GPU 2 (group ai) was missing."
    assert any("GPU 1 reached 85°C" in s for s in said)
    assert text(result.summary, "en") == "3 of 4 GPUs answering"


def test_slow_api_and_errors_are_graded_against_the_plan(store):
    fill(store, {("opsplan_api_response_seconds", (("quantile", "0.95"), ("service", "llm-api"))): 2.5,
                 ("opsplan_api_response_seconds", (("quantile", "0.95"), ("service", "search"))): 0.2,
                 ("opsplan_api_error_ratio", (("service", "llm-api"),)): lambda i: 0.05 if i % 2 else 0.0,
                 ("opsplan_api_requests_per_second", (("service", "llm-api"),)): 10,
                 ("opsplan_api_concurrent_users", (("service", "llm-api"),)): lambda i: 40 + (i % 7)})
    slow = registry.evaluate("api.response_time", context(store))
    assert slow.status == WARN and "llm-api" in text(slow.findings[0], "en") and len(slow.findings) == 1
    errors = registry.evaluate("api.error_rate", context(store))
    assert errors.status == FAIL  # 2.5 % against the seed's 1 %
    assert "2.5%" in text(errors.findings[0], "en")
    users = registry.evaluate("users.sessions", context(store))
    assert users.status == PASS and text(users.summary, "en") == "peak concurrent users: 46"


def test_mariadb_down_for_a_while_fails_with_how_long(store):
    fill(store, {("opsplan_mariadb_up", ()): lambda i: 0 if 10 <= i < 16 else 1,
                 ("opsplan_mariadb_threads_connected", ()): 20,
                 ("opsplan_mariadb_slow_queries_total", ()): lambda i: i // 50})
    result = registry.evaluate("mariadb.status", context(store))
    assert result.status == FAIL
    assert text(result.findings[0], "en") == "MariaDB did not answer for about 30m."
    assert "느린 쿼리 5개" in text(result.summary, "ko")


def test_network_errors_and_a_busy_link_warn(store):
    gbit = 10e9 / 8
    fill(store, {("opsplan_network_up", (("interface", "eth0"),)): 1,
                 ("opsplan_network_receive_bytes_total", (("interface", "eth0"),)): lambda i: i * STEP * 0.95 * gbit
                 if i > 200 else 0,
                 ("opsplan_network_receive_errors_total", (("interface", "eth0"),)): lambda i: 3 if i > 100 else 0})
    result = registry.evaluate("network.status", context(store))
    assert result.status == WARN
    said = " / ".join(text(f, "en") for f in result.findings)
    assert "eth0 counted 3 errors" in said and "close to the link speed" in said


def test_backup_status_reads_the_catalog(tmp_path):
    from opsplan.backup.database.catalog import DbBackup

    db = StateDB.open(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        plan = Plan()
        none = registry.evaluate("backup.status", context(None, plan, db))
        assert none.status == FAIL and text(none.summary, "en") == "there is no successful database backup."
        with db.session() as session:
            session.add(DbBackup(target="database", kind="full", status="ok", started_at=END - 30 * 3600,
                                 finished_at=END - 29 * 3600, verify_status="ok"))
            session.add(DbBackup(target="database", kind="full", status="failed", started_at=END - 3600))
        old = registry.evaluate("backup.status", context(None, plan, db))
        assert old.status == FAIL
        said = [text(f, "en") for f in old.findings]
        assert "the last good backup is 1d 5h old, over the threshold 1d 2h." in said
        assert "1 backups failed in the window." in said
    finally:
        db.close()
