"""Overview page server time at the seed's size (issue 12: target <= 50 ms), beside one /metrics render.

    PYTHONPATH=src .venv/bin/python bench/bench_overview.py [--alerts 100] [--pending 30] [--requests 200]
        [--rounds 5] [--json out.json]

The plan `opsplan init` writes (the seed: two allocation groups over 4 GPUs, Korean, Asia/Seoul)
with three services, one cycle's samples as the collectors write them (system, 4 GPUs with two
processes each, groups with their paths, services, MariaDB, backups, drill), and a real AlertEngine
on a SQLite state database holding `--alerts` open alerts (one rule per subject, a quarter of them
Critical): `--pending` crossed their threshold one cycle ago (pending), the rest long enough ago to
be firing. The page is rendered through the app's real route (FastAPI TestClient, in process: no
socket), Korean, as a browser asks for it: through the console's frame, with an operator logged in
through /login first (each request looks its session up in the state database, as serve's do); the
state database is read for backup reasons and for the alerts' stored acknowledgements and silences.

Anchor, same process and run: GET /metrics (one exposition render of the same cycle), asked in turn
with the pages (one of each, then again), so both see the same load. Reported per
round: the median wall time per request of `/` (the full page), `/overview` (the fragment htmx asks
for every interval), `/alerts/table` (the alerts page's refreshed table) and `/metrics`, and the ratio
page / metrics; the figure is the median over rounds.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from opsplan.alerts.engine import AlertEngine
from opsplan.metrics import CollectorStatus, Cycle, Sample, sample
from opsplan.metrics.exposition import LatestSamples
from opsplan.plan.models import Plan, Service, Text
from opsplan.rules.model import Condition, Rule
from opsplan.stages.all import metric_registry
from opsplan.store import MetricsStore
from opsplan.store.state import StateDB
from opsplan.web.alerts_page import alerts_page_router
from opsplan.web.app import ServeState, create_app
from opsplan.web.console.frame import Console
from opsplan.web.identity.routes import COOKIE, build_identity_web, identity_router
from opsplan.web.identity.users import Users

T0 = 1_800_000_000.0
INTERVAL = 15.0
GB = 10**9
PASSWORD = "bench-operator-passw0rd"
# The login's Argon2 cost is not what is measured (bench_identity.py has it): a cheap hash.
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


class FixedCycle:
    def __init__(self, cycle: Cycle):
        self.last_cycle = cycle
        self.store_error = None


def seed_plan() -> Plan:
    plan = Plan()  # what `opsplan init` writes
    plan.services = [Service(name=name, url=f"http://127.0.0.1:{port}/health")
                     for name, port in (("llm-api", 8000), ("vector-search", 8100), ("internal-api", 8200))]
    return plan


def cycle_samples(plan: Plan, now: float, n_alerts: int) -> list[Sample]:
    out = [sample("opsplan_cpu_usage_ratio", 0.42), sample("opsplan_memory_usage_ratio", 0.61),
           sample("opsplan_swap_usage_ratio", 0.0), sample("opsplan_disk_usage_ratio", 0.55, mountpoint="/"),
           sample("opsplan_network_up", 1.0, interface="eth0"), sample("opsplan_gpu_count", 4.0),
           sample("opsplan_mariadb_up", 1.0), sample("opsplan_mariadb_info", 1.0, version="10.11.6"),
           sample("opsplan_mariadb_threads_connected", 12.0), sample("opsplan_mariadb_connection_usage_ratio", 0.08),
           sample("opsplan_mariadb_queries_per_second", 230.0), sample("opsplan_mariadb_slow_queries_total", 3.0),
           sample("opsplan_backup_last_status", 1.0, target="database"),
           sample("opsplan_backup_last_success_timestamp_seconds", now - 3600, target="database"),
           sample("opsplan_backup_last_size_bytes", 42 * GB, target="database"),
           sample("opsplan_backup_rpo_seconds", 900.0, target="database"),
           sample("opsplan_drill_last_status", 1.0, target="database"),
           sample("opsplan_drill_last_timestamp_seconds", now - 30 * 86400, target="database"),
           sample("opsplan_drill_last_rto_seconds", 2400.0, target="database"),
           sample("opsplan_drill_last_rpo_seconds", 1800.0, target="database")]
    for group in plan.allocation:
        out += [sample("opsplan_group_memory_used_bytes", 90 * GB, group=group.id),
                sample("opsplan_group_memory_usage_ratio", 0.7, group=group.id),
                sample("opsplan_group_storage_used_bytes", 800 * GB, group=group.id),
                sample("opsplan_group_storage_usage_ratio", 0.4, group=group.id),
                *[sample("opsplan_group_path_present", 1.0, group=group.id, path=str(p)) for p in group.paths]]
        for gpu in map(str, group.gpus):
            out += [sample("opsplan_gpu_up", 1.0, gpu=gpu, group=group.id),
                    sample("opsplan_gpu_utilization_ratio", 0.8, gpu=gpu, group=group.id),
                    sample("opsplan_gpu_memory_used_bytes", 30 * GB, gpu=gpu, group=group.id),
                    sample("opsplan_gpu_memory_total_bytes", 48 * GB, gpu=gpu, group=group.id),
                    sample("opsplan_gpu_temperature_celsius", 71.0, gpu=gpu, group=group.id),
                    sample("opsplan_gpu_power_watts", 250.0, gpu=gpu, group=group.id),
                    *[sample("opsplan_gpu_process_memory_bytes", 14 * GB, gpu=gpu, group=group.id,
                             pid=str(1000 + k), process="python") for k in range(2)]]
    for service in plan.services:
        name = service.name
        out += [sample("opsplan_api_up", 1.0, service=name),
                sample("opsplan_api_response_seconds", 0.18, service=name, quantile="0.95"),
                sample("opsplan_api_error_ratio", 0.002, service=name),
                sample("opsplan_api_requests_per_second", 35.0, service=name),
                sample("opsplan_api_concurrent_users", 40.0, service=name)]
    return out


def alert_rules(n: int) -> list[Rule]:
    text = Text(ko="{subject} 대기열 {value} (임계값 {threshold})",
                en="{subject} queue {value} (threshold {threshold})")
    return [Rule(id=f"bench.{i}", alert="QueueDeep", severity="critical" if i % 4 == 0 else "warning",
                 condition=Condition("bench_queue_depth", ">", 100.0, (("queue", str(i)),)), for_s=60.0,
                 summary=text, description=text, subject=("queue",), clear_threshold=95.0)
            for i in range(n)]


def engine_with_open_alerts(plan: Plan, db: StateDB, n: int, pending: int) -> tuple[AlertEngine, float]:
    """`n` open alerts: the first n - pending cross early (firing), the rest on the last cycle (pending)."""
    now = [T0]
    engine = AlertEngine(plan, alert_rules(n), db, notice_sink=lambda notice: None, clock=lambda: now[0],
                         host="ai-server-01")
    for step in range(8):
        crossed = n - pending if step < 7 else n
        engine.on_cycle(Cycle(now[0], [Sample("bench_queue_depth", 150.0 if i < crossed else 10.0,
                                              (("queue", str(i)),)) for i in range(n)], 0.1))
        now[0] += INTERVAL
    return engine, now[0]


def logged_in_client(state: ServeState, engine: AlertEngine, db: StateDB, now: float) -> TestClient:
    """The app as serve builds its pages: the console frame with logins, an operator's session."""
    identity = build_identity_web(state.plan, db, lambda: now, hasher=FAST)
    state.console = Console(state.plan, identity)
    Users(db, None, lambda: now, FAST).add("ops01", "operator", PASSWORD, actor="bench")
    app = create_app(state, routers=[identity_router(identity), alerts_page_router(engine, state.console)])
    client = TestClient(app, base_url="http://127.0.0.1:8080")
    answer = client.post("/login", data={"name": "ops01", "password": PASSWORD},
                         headers={"Origin": "http://127.0.0.1:8080"}, follow_redirects=False)
    assert answer.status_code == 303 and client.cookies.get(COOKIE), "the bench's operator could not log in"
    return client


def median_ms(client: TestClient, paths: tuple[str, ...], requests: int) -> dict[str, float]:
    """Median ms per request of each path, the paths asked in turn (page, metrics, page ...), so the
    page and its anchor see the same moment's load on a shared machine."""
    times: dict[str, list[float]] = {path: [] for path in paths}
    for _ in range(requests):
        for path in paths:
            started = time.perf_counter()
            answer = client.get(path, follow_redirects=False)
            times[path].append(1000 * (time.perf_counter() - started))
            assert answer.status_code == 200, (path, answer.status_code)  # not a redirect to /login
    return {path: statistics.median(each) for path, each in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=100)
    parser.add_argument("--pending", type=int, default=30)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    plan = seed_plan()
    with tempfile.TemporaryDirectory() as tmp:
        db = StateDB.open(f"sqlite:///{tmp}/state.db")
        engine, now = engine_with_open_alerts(plan, db, args.alerts, args.pending)
        states = [a.state for a in engine.active()]
        cycle = Cycle(now, cycle_samples(plan, now, args.alerts), 0.3,
                      [CollectorStatus(name, True, 0.05) for name in ("system", "gpu", "mariadb", "services")])
        latest = LatestSamples(metric_registry())
        latest.update(cycle.samples)
        with MetricsStore(Path(tmp) / "metrics", clock=lambda: now) as store:
            state = ServeState(plan=plan, latest=latest, loop=FixedCycle(cycle), store=store,
                               store_lock=threading.Lock(), state_db=db, alerts=engine)
            client = logged_in_client(state, engine, db, now)
            page = client.get("/", follow_redirects=False)
            assert page.status_code == 200 and page.text.count('class="alert-') == args.alerts, "alerts not shown"
            assert "ops01" in page.text, "the page is not the logged-in operator's"
            table = client.get("/alerts/table", follow_redirects=False)
            assert table.status_code == 200 and table.text.count('class="alert-') == args.alerts
            paths = ("/", "/overview", "/alerts/table", "/metrics")
            median_ms(client, paths, 5)  # warm: templates compiled, imports done
            rounds = []
            for _ in range(args.rounds):
                ms = median_ms(client, paths, args.requests)
                rounds.append({"page_ms": ms["/"], "overview_ms": ms["/overview"],
                               "alerts_table_ms": ms["/alerts/table"], "metrics_ms": ms["/metrics"],
                               "ratio": ms["/"] / ms["/metrics"]})
        db.close()
    result = {
        "alerts": args.alerts, "firing": states.count("firing"), "pending": states.count("pending"),
        "page_bytes": len(page.content), "alerts_table_bytes": len(table.content),
        "metrics_bytes": len(latest.render()),
        "page_ms": statistics.median(r["page_ms"] for r in rounds),
        "overview_ms": statistics.median(r["overview_ms"] for r in rounds),
        "alerts_table_ms": statistics.median(r["alerts_table_ms"] for r in rounds),
        "metrics_ms": statistics.median(r["metrics_ms"] for r in rounds),
        "ratio": statistics.median(r["ratio"] for r in rounds),
        "ratio_range": [min(r["ratio"] for r in rounds), max(r["ratio"] for r in rounds)],
        "target_ms": 50.0, "python": platform.python_version(), "machine": platform.machine(),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps({"result": result, "rounds": rounds}, indent=2), encoding="utf-8")
    sys.exit(0)


if __name__ == "__main__":
    main()
