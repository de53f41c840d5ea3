"""Evidence at opening (issue 13 item 5): what capturing it adds to an alert opening an incident.

    .venv/bin/python bench/bench_incident_evidence.py [--series 300] [--log-mb 200] [--rounds 5] [--json out.json]

The incident stage's intake (AlertIntake) takes one ApiDown firing notice and opens an incident, on
a SQLite state database, with a real metrics store holding the hour before: `--series` series (the
API's, MariaDB's and filler host series) written every 15 s for 70 minutes, as `opsplan init`'s
interval. The service's access log is `--log-mb` MB, so the tail's bound shows. Anchor, in the same
run: the same intake with no evidence sources (what it cost before). Per round: the median wall and
CPU time of 20 openings (each a new subject, so each opens an incident); the median of the rounds.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from opsplan.alerts.events import AlertNotice
from opsplan.incidents.evidence import EvidenceSources
from opsplan.incidents.intake import AlertIntake
from opsplan.incidents.lifecycle import Incidents
from opsplan.metrics import sample
from opsplan.plan.models import Plan, Text
from opsplan.rules.model import build_rules
from opsplan.stages.all import metric_registry
from opsplan.store import MetricsStore
from opsplan.store.state import StateDB

T0 = 1_800_000_000.0
INTERVAL = 15.0
OPENINGS = 20


def fill_store(store: MetricsStore, series: int, services: list[str]) -> None:
    for k in range(int(70 * 60 / INTERVAL)):
        at = T0 - 70 * 60 + k * INTERVAL
        samples = [sample("opsplan_api_up", 1, service=s) for s in services]
        samples += [sample("opsplan_mariadb_up", 1), sample("opsplan_mariadb_threads_connected", 12),
                    sample("opsplan_mariadb_threads_running", 3), sample("opsplan_mariadb_slow_queries_total", k)]
        samples += [sample("opsplan_disk_usage_ratio", 0.5, mountpoint=f"/m{i}")
                    for i in range(max(0, series - len(samples)))]
        store.append(at, samples)


def write_log(path: Path, megabytes: int) -> None:
    line = b'10.0.0.7 - - [05/Dec/2026:03:00:00 +0900] "GET /v1/chat?token=abc HTTP/1.1" 200 512 "-" "client"\n'
    block = line * (1024 * 1024 // len(line))
    with path.open("wb") as fh:
        for _ in range(megabytes):
            fh.write(block)


def notice(service: str) -> AlertNotice:
    return AlertNotice(kind="firing", fingerprint=f"fp-{service}", alert="ApiDown", severity="critical",
                       labels={"alertname": "ApiDown", "severity": "critical", "service": service},
                       subject=f"service {service}", summary=Text(ko="API가 응답하지 않습니다", en="API is down"),
                       description=Text(ko="-", en="-"), value=0.0, threshold=0.0, for_s=60.0, started_at=T0,
                       host="ai-server-01")


def measure(directory: Path, plan: Plan, store: MetricsStore | None, services: list[str]) -> dict[str, float]:
    db = StateDB.open(f"sqlite:///{directory / 'state.db'}")
    incidents = Incidents(plan, db, holiday_source=lambda country, year: frozenset())
    rules = build_rules(plan, metric_registry())
    evidence = EvidenceSources(plan, store=lambda: store, rules=rules, firing=lambda: []) if store else None
    intake = AlertIntake(incidents, lambda: T0, evidence)
    wall, cpu = [], []
    for service in services[:OPENINGS]:
        w, c = time.perf_counter(), time.process_time()
        intake.take([notice(service)])
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    db.close()
    (directory / "state.db").unlink()
    return {"wall_ms": statistics.median(wall) * 1000, "cpu_ms": statistics.median(cpu) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=300)
    parser.add_argument("--log-mb", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    services = [f"svc-{i}" for i in range(OPENINGS)]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        log = root / "access.log"
        write_log(log, args.log_mb)
        watched = [{"name": s, "url": "http://127.0.0.1:9/", "access_log": {"path": str(log)}} for s in services]
        plan = Plan.model_validate({"services": watched, "monitoring": {"interval": INTERVAL}})
        with MetricsStore(root / "store", clock=lambda: T0) as store:
            fill_store(store, args.series, services)
            rows = [{"anchor": measure(root, plan, None, services), "evidence": measure(root, plan, store, services)}
                    for _ in range(args.rounds)]
    result = {
        "python": sys.version.split()[0], "machine": platform.machine(), "series": args.series,
        "log_mb": args.log_mb,
        "anchor_wall_ms": statistics.median(r["anchor"]["wall_ms"] for r in rows),
        "anchor_cpu_ms": statistics.median(r["anchor"]["cpu_ms"] for r in rows),
        "evidence_wall_ms": statistics.median(r["evidence"]["wall_ms"] for r in rows),
        "evidence_cpu_ms": statistics.median(r["evidence"]["cpu_ms"] for r in rows),
        "rounds": rows,
    }
    result["ratio_wall"] = result["evidence_wall_ms"] / result["anchor_wall_ms"]
    print(f"opening, no evidence:   {result['anchor_wall_ms']:.2f} ms wall, {result['anchor_cpu_ms']:.2f} ms CPU")
    print(f"opening with evidence:  {result['evidence_wall_ms']:.2f} ms wall, {result['evidence_cpu_ms']:.2f} ms CPU "
          f"(x{result['ratio_wall']:.1f}; {args.series} series, {args.log_mb} MB access log)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
