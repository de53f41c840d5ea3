"""Performance optimisation (monthly, seed §2.2): the GPU-memory processes and the groups'
budgets from a real metrics store, and MariaDB's slow-query digest from a real throwaway server's
slow log (or not-run with why when the server cannot be reached)."""

from __future__ import annotations

import time

import pytest

from mariadb_server import free_port
from opsplan.checks import registry, tuning
from opsplan.checks.model import NOT_RUN, PASS, WARN, CheckContext, ItemResult
from opsplan.i18n import t
from opsplan.metrics import sample
from opsplan.plan.models import Database, Plan
from opsplan.store import MetricsStore

DAY = 86400.0
T0 = 1_780_000_000.0
GB = 1e9


def text(result: ItemResult, language: str = "en") -> list[str]:
    return [t(line.key, language, **line.values) for line in result.findings]


def filled(path) -> MetricsStore:
    store = MetricsStore(path, clock=lambda: T0 + 30 * DAY, sync=False)
    for day in range(30):
        store.append(T0 + day * DAY, [
            sample("opsplan_gpu_process_memory_bytes", 14 * GB if day == 12 else 9 * GB, gpu="0", group="ai",
                   pid="4242", process="vllm"),
            sample("opsplan_gpu_process_memory_bytes", 2 * GB, gpu="3", group="app", pid="77", process="python3"),
            sample("opsplan_group_memory_usage_ratio", 1.12 if day == 20 else 0.7, group="ai"),
            sample("opsplan_group_storage_usage_ratio", 0.31, group="app"),
        ])
    return store


def unreachable_plan() -> Plan:
    return Plan(database=Database(host="127.0.0.1", port=free_port(), password_env=None, connect_timeout=1))


def test_gpu_processes_and_a_group_over_its_budget_are_reported_and_no_server_is_not_run(tmp_path):
    with filled(tmp_path / "m") as store:
        ctx = CheckContext(plan=unreachable_plan(), period="monthly", start=T0, end=T0 + 30 * DAY,
                           now=T0 + 30 * DAY, store=store)
        result = registry.evaluate("performance.optimisation", ctx)
    assert result.status == WARN  # over budget is worse than the slow log not being read
    said = text(result)
    assert said[0] == "Group ai memory went over its budget: at most 112%."
    assert "Group app used at most 31% of its storage budget: some could go to another group." in said
    assert said.index("GPU 0 (group ai): 'vllm' (pid 4242) at most 14 GB") < \
        said.index("GPU 3 (group app): 'python3' (pid 77) at most 2 GB")
    assert "MariaDB cannot be reached, so its slow query log was not found. Detail: connection refused" in said


def test_nothing_measured_and_no_server_is_not_run_with_a_reason(tmp_path):
    with MetricsStore(tmp_path / "m", clock=lambda: T0, sync=False) as store:
        ctx = CheckContext(plan=unreachable_plan(), period="monthly", start=T0, end=T0 + DAY, now=T0 + DAY,
                           store=store)
        result = registry.evaluate("performance.optimisation", ctx)
    assert result.status == NOT_RUN and result.reason is not None
    assert t(result.reason.key, "ko") == "이 기간에 GPU 메모리를 쓴 프로세스 기록이 없습니다."


@pytest.mark.parametrize(("sql", "print_"), [
    ("SELECT * FROM `orders` WHERE id = 42 AND note = 'it''s'", "select * from orders where id = ? and note = ?"),
    ("select a from t where b in (1, 2, 3)", "select a from t where b in (?+)"),
    ("UPDATE t SET x=0x1F, y=-3.5e2 WHERE k=\"v\";", "update t set x=?, y=? where k=?"),
])
def test_a_statement_fingerprint_drops_its_literals(sql, print_):
    assert tuning.fingerprint(sql) == print_


def test_the_slow_log_of_a_real_mariadb_is_digested_by_fingerprint(mariadb_server):
    server = mariadb_server
    server.execute("CREATE DATABASE IF NOT EXISTS tuning_test")
    server.execute("CREATE TABLE IF NOT EXISTS tuning_test.items (id INT PRIMARY KEY, name VARCHAR(20))")
    server.execute("INSERT IGNORE INTO tuning_test.items VALUES (1, 'a'), (2, 'b'), (3, 'c')")
    start = time.time() - 1
    server.execute("SET GLOBAL long_query_time = 0")
    server.execute("SET GLOBAL slow_query_log = 1")
    try:
        conn = server.root_connect()  # a new session takes the new long_query_time
        with conn.cursor() as cur:
            for key in (1, 2, 3):
                cur.execute(f"SELECT name FROM tuning_test.items WHERE id = {key}")
            cur.execute("SELECT SLEEP(0.3)")
        conn.close()
        plan = Plan(database=Database(**server.database_plan_fields()))
        plan.database.password_env = "TEST_DB_PASSWORD"
        ctx = CheckContext(plan=plan, period="monthly", start=start, end=time.time() + 2, now=time.time(),
                           environ={"TEST_DB_PASSWORD": server.monitor_password})
        part = tuning.slow_queries(ctx.plan, ctx.environ, ctx.start, ctx.end)
    finally:
        server.execute("SET GLOBAL slow_query_log = 0")
        server.execute("SET GLOBAL long_query_time = 10")
    assert part.status == PASS, [t(f.key, "en", **f.values) for f in part.findings]
    said = [t(f.key, "en", **f.values) for f in part.findings]
    assert said[0].startswith("1 slow runs") and said[0].endswith("select sleep(?)"), said
    lookup = next(line for line in said if line.endswith("select name from tuning_test.items where id = ?"))
    assert lookup.startswith("3 slow runs"), said
