"""The evaluation cycle in which ~100 alerts turn firing together (issue 10 item 11: target <= 50 ms).

    .venv/bin/python bench/bench_alert_burst.py [--alerts 100] [--rounds 7] [--json out.json]

What `opsplan serve` runs each cycle, with real parts: AlertEngine.on_cycle over the seed's built-in
rules plus `--alerts` rules (one GPU-power rule per series, `for: 60s`), a SQLite state database in
a temporary directory, and serve's notice fan-out to the real Notifier (one chat channel, which
takes criticals and warnings: each notice is written to the outbox within the cycle; nothing is
sent, the worker is not started). A simulated 15 s clock: the series cross their thresholds
together at cycle 1 (pending), so at cycle 5 all of them turn firing in one cycle (state changes
written, texts filled, 100 notices queued), and at cycle 9 all resolve together. Each round starts
from a fresh database; per round and phase, the CPU time of the one on_cycle call
(time.process_time, all threads) and its wall time (what `opsplan_rule_evaluation_seconds`
reports: it includes waiting for the state database's commits).

Anchor, in the same run: a quiet cycle of the same engine (the same alerts, nothing changing).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from opsplan.alerts.alerting import NoticeFanOut
from opsplan.alerts.engine import AlertEngine
from opsplan.metrics import Cycle, Sample
from opsplan.notify.service import build_notifier
from opsplan.plan.models import Plan, Text
from opsplan.rules.model import Condition, Rule, build_rules
from opsplan.stages.all import metric_registry
from opsplan.store.state import StateDB

T0 = 1_800_000_000.0
INTERVAL = 15.0


def burst_rules(n: int) -> list[Rule]:
    text = Text(ko="{subject} 전력 {value}", en="{subject} power {value}")
    return [Rule(id=f"burst.{i}", alert="GpuPowerHigh", severity="critical" if i % 4 == 0 else "warning",
                 condition=Condition("opsplan_gpu_power_watts", ">", 100.0, (("gpu", str(i)),)), for_s=60.0,
                 summary=text, description=text, subject=("gpu", "group"), clear_threshold=95.0)
            for i in range(n)]


def samples(n: int, watts: float) -> list[Sample]:
    return [Sample("opsplan_gpu_power_watts", watts, (("gpu", str(i)), ("group", "ai"))) for i in range(n)]


def one_round(plan: Plan, n: int) -> dict[str, float]:
    now = [T0]
    phases: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        db = StateDB.open(f"sqlite:///{tmp}/state.db")
        notifier = build_notifier(plan, db, clock=lambda: now[0], environ={"BENCH_HOOK": "http://127.0.0.1:9/"})
        rules = build_rules(plan, metric_registry()) + burst_rules(n)
        notices = NoticeFanOut()  # as the notify stage subscribes
        try:
            notices.subscribe(notifier.submit, many=notifier.submit_all)
        except (TypeError, AttributeError):  # the code before notices were queued together (a before/after run)
            notices.subscribe(notifier.submit)
        engine = AlertEngine(plan, rules, db, notice_sink=notices, clock=lambda: now[0], host="bench")
        for step in range(12):
            watts = 120.0 if 1 <= step < 9 else 50.0
            cycle = Cycle(now[0], samples(n, watts), 0.1)
            started, wall = time.process_time(), time.perf_counter()
            engine.on_cycle(cycle)
            spent, waited = 1000 * (time.process_time() - started), 1000 * (time.perf_counter() - wall)
            phase = {1: "turn_pending", 5: "turn_firing", 7: "quiet_firing", 9: "resolve"}.get(step)
            if phase:
                phases[phase] = spent
                phases[f"{phase}_wall"] = waited
            now[0] += INTERVAL
        firing_seen = notifier.samples()
        phases["outbox_rows"] = next(s.value for s in firing_seen if s.name == "opsplan_notifications_pending")
        db.close()
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    plan = Plan.model_validate({"notifications": {"channels": [
        {"name": "team", "kind": "chat", "url_env": "BENCH_HOOK"}]}})
    one_round(plan, args.alerts)  # warm-up: imports, first compilations
    rounds = [one_round(plan, args.alerts) for _ in range(args.rounds)]
    keys = [f"{phase}{kind}" for phase in ("turn_pending", "turn_firing", "quiet_firing", "resolve")
            for kind in ("", "_wall")]
    result = {key: round(statistics.median(r[key] for r in rounds), 2) for key in keys}
    result["turn_firing_max"] = round(max(r["turn_firing"] for r in rounds), 2)
    result["ratio_firing_to_quiet"] = round(result["turn_firing"] / max(result["quiet_firing"], 0.01), 1)
    result.update(alerts=args.alerts, rounds=args.rounds, outbox_rows_after_resolve=rounds[0]["outbox_rows"],
                  python=platform.python_version())
    json.dump(result, sys.stdout, indent=2)
    print()
    if args.json:
        args.json.write_text(json.dumps({"summary": result, "rounds": rounds}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
