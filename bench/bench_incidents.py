"""Incident evaluation per cycle with 1,000 open incidents (issue 13: target <= 5 ms CPU).

    .venv/bin/python bench/bench_incidents.py [--open 1000] [--cycles 20] [--rounds 5] [--json out.json]

What `opsplan serve`'s incident stage runs each cycle (IncidentCycle): record the deadlines that
passed unmet, then count open, overdue and breached incidents for /metrics; on a SQLite state
database in a temporary directory. `--open` incidents, a third of each severity, opened a minute
apart over the last hours, so most have missed their deadlines (recorded by a first cycle, as
serve would have) and some are still counting. Per round: the CPU (time.process_time) and wall
time of one cycle, the median of `--cycles` cycles.

With escalation (issue 13 item 3): the on-call stage's paging cycle (PagingCycle) runs after the
incident cycle on the same database, with two people on call; its first cycle pages every incident
(as serve's would), later cycles find no step due. `open_cpu_ms` is both hooks together (the
target), `paging_cpu_ms` the paging hook alone.

With IncidentResponseOverdue (issue 13 item 1): the `incidents` collector (OverdueCollector) gives
the alert rules the overdue counts the incident cycle made on the previous cycle, as serve wires it;
`overdue_cpu_ms` is its cost alone, `total_cpu_ms` the three together. `query_cpu_ms`: the same
collector asking the database itself (what it does on serve's first cycle), for comparison.

Anchor, in the same run: the same cycle with no incident at all.
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

from opsplan.incidents.cycle import IncidentCycle
from opsplan.incidents.lifecycle import Incidents
from opsplan.incidents.overdue import OverdueCollector, OverdueCount
from opsplan.incidents.tables import IncidentRow
from opsplan.metrics import Cycle
from opsplan.oncall.cycle import PagingCycle
from opsplan.oncall.paging import Paging
from opsplan.plan.models import Channel, Notifications, OnCall, Person, Plan, Rotation
from opsplan.store.state import StateDB

T0 = 1_800_000_000.0
SEVERITIES = ("critical", "major", "minor")


PLAN = Plan(notifications=Notifications(channels=[Channel(name="chat", url_env="BENCH_UNSET")]),
            oncall=OnCall(people=[Person(name="kim", channels=["chat"]), Person(name="lee", channels=["chat"])],
                          rotation=Rotation(people=["kim", "lee"])))


def build(directory: Path, count: int) -> tuple[IncidentCycle, PagingCycle, OverdueCollector]:
    db = StateDB.open(f"sqlite:///{directory / 'state.db'}")
    incidents = Incidents(PLAN, db, holiday_source=lambda country, year: frozenset())
    with db.session() as session:
        for i in range(count):
            severity = SEVERITIES[i % 3]
            opened = T0 - i * 60
            clock_from, ack_due, respond_due = incidents.deadlines_from(severity, opened)
            session.add(IncidentRow(title=json.dumps({"ko": "장애", "en": "incident"}), description="",
                                    severity=severity, status="triggered", source="alert", dedup_key=f"host|{i}",
                                    opened_at=opened, opened_by="opsplan", clock_from=clock_from, ack_due=ack_due,
                                    respond_due=respond_due, reopened=0, updated_at=opened))
    counted = OverdueCount()
    cycle = IncidentCycle(incidents, overdue=counted)
    paging = PagingCycle(Paging(PLAN, db, incidents.calendar))
    first = Cycle(T0, [], 0.1)
    cycle(first)  # the breaches so far, recorded once as serve's first cycle would
    paging(first)  # and the first pages
    return cycle, paging, OverdueCollector(PLAN, db, counted)


def measure(count: int, cycles: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        hook, paging, overdue = build(Path(tmp), count)
        asking = OverdueCollector(PLAN, overdue.db)  # no count of its own: asks the database
        cpu, wall, paging_cpu, overdue_cpu, query_cpu = [], [], [], [], []
        for n in range(cycles):
            cycle = Cycle(T0 + 15 * (n + 1), [], 0.1)
            overdue.clock = asking.clock = lambda at=cycle.timestamp: at
            c = time.process_time()
            overdue.collect()
            overdue_cpu.append(time.process_time() - c)
            c = time.process_time()
            asking.collect()
            query_cpu.append(time.process_time() - c)
            c0, w0 = time.process_time(), time.perf_counter()
            hook(cycle)
            c1 = time.process_time()
            paging(cycle)
            paging_cpu.append(time.process_time() - c1)
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
        hook.incidents.db.close()
    return {"cpu_ms": statistics.median(cpu) * 1000, "wall_ms": statistics.median(wall) * 1000,
            "paging_cpu_ms": statistics.median(paging_cpu) * 1000,
            "overdue_cpu_ms": statistics.median(overdue_cpu) * 1000,
            "query_cpu_ms": statistics.median(query_cpu) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, default=1000)
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the first cycle logs every breach it records
    rows = []
    for _ in range(args.rounds):
        rows.append({"anchor": measure(0, args.cycles), "open": measure(args.open, args.cycles)})
    result = {
        "python": sys.version.split()[0], "machine": platform.machine(), "open": args.open,
        "anchor_cpu_ms": statistics.median(r["anchor"]["cpu_ms"] for r in rows),
        "open_cpu_ms": statistics.median(r["open"]["cpu_ms"] for r in rows),
        "open_wall_ms": statistics.median(r["open"]["wall_ms"] for r in rows),
        "paging_cpu_ms": statistics.median(r["open"]["paging_cpu_ms"] for r in rows),
        "overdue_cpu_ms": statistics.median(r["open"]["overdue_cpu_ms"] for r in rows),
        "query_cpu_ms": statistics.median(r["open"]["query_cpu_ms"] for r in rows),
        "rounds": rows,
    }
    print(f"no incident:          {result['anchor_cpu_ms']:.2f} ms CPU per cycle")
    print(f"{args.open:,} open incidents: {result['open_cpu_ms']:.2f} ms CPU per cycle "
          f"({result['open_wall_ms']:.2f} ms wall), of which paging {result['paging_cpu_ms']:.2f} ms")
    result["total_cpu_ms"] = result["open_cpu_ms"] + result["overdue_cpu_ms"]
    print(f"overdue collector:    {result['overdue_cpu_ms']:.3f} ms CPU (asking the database instead: "
          f"{result['query_cpu_ms']:.2f} ms); all together {result['total_cpu_ms']:.2f} ms")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
