"""Rule evaluation CPU per cycle: 1,000 rules over 1,000 series (issue 3 item 6: target <= 20 ms).

    .venv/bin/python bench/bench_rules.py [--rules 1000] [--cycles 300] [--json out.json]

Each rule watches one series (`opsplan_gpu_power_watts{gpu=i}` > 100 W for 5 minutes), as operators'
rules do. The values follow a fixed pseudo-random walk: ~10 % of the series sit above their
threshold (pending, then firing), a few cross it each cycle (state changes, notices, writes), the
rest are quiet. The engine runs with a real SQLite state database in a temporary directory and a
simulated 15-second clock, so 300 cycles cover 75 minutes of alert life.

Measured per cycle as process CPU time (time.process_time), in the same run and on the same samples:
  * engine: AlertEngine.on_cycle (index, every rule, state changes written, engine metrics appended);
  * anchor: rendering the same cycle as /metrics text (what one Prometheus scrape costs opsplan),
    and building the sample index alone.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from opsplan.alerts.engine import AlertEngine
from opsplan.metrics import Cycle, Sample, SampleIndex
from opsplan.metrics.exposition import LatestSamples
from opsplan.plan.models import Plan, Text
from opsplan.rules.model import Condition, Rule
from opsplan.stages.all import metric_registry

T0 = 1_800_000_000.0
INTERVAL = 15.0


def make_rules(n: int) -> list[Rule]:
    text = Text(ko="{subject} 전력 {value}", en="{subject} power {value}")
    return [Rule(id=f"bench.{i}", alert="GpuPowerHigh", severity="critical" if i % 4 == 0 else "warning",
                 condition=Condition("opsplan_gpu_power_watts", ">", 100.0, (("gpu", str(i)),)), for_s=300.0,
                 summary=text, description=text, subject=("gpu", "group"), clear_threshold=95.0)
            for i in range(n)]


def cycles(n_series: int, n_cycles: int) -> list[list[Sample]]:
    rng = random.Random(42)
    values = [rng.uniform(20, 95) if i % 10 else rng.uniform(101, 130) for i in range(n_series)]
    out = []
    for _ in range(n_cycles):
        for i in range(n_series):
            values[i] = min(150.0, max(0.0, values[i] + rng.gauss(0, 2.0)))
        out.append([Sample("opsplan_gpu_power_watts", v, (("gpu", str(i)), ("group", "ai")))
                    for i, v in enumerate(values)])
    return out


def cpu_ms(fn) -> float:
    start = time.process_time()
    fn()
    return (time.process_time() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--cycles", type=int, default=300)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from opsplan.store.state import StateDB

    plan = Plan()
    rules = make_rules(args.rules)
    series = cycles(args.rules, args.cycles)
    latest = LatestSamples(metric_registry())
    notices: list[object] = []
    now = [T0]
    engine_ms, render_ms, index_ms = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        db = StateDB.open(f"sqlite:///{tmp}/state.db")
        engine = AlertEngine(plan, rules, db, notice_sink=notices.append, clock=lambda: now[0], host="bench")
        for samples in series:
            cycle = Cycle(now[0], list(samples), 0.1)
            index_ms.append(cpu_ms(lambda s=samples: SampleIndex(s)))  # noqa: B023
            engine_ms.append(cpu_ms(lambda c=cycle: engine.on_cycle(c)))  # noqa: B023
            latest.update(samples)
            render_ms.append(cpu_ms(latest.render))
            now[0] += INTERVAL
        firing = sum(1 for i in engine.active() if i.state == "firing")
        db.close()

    warm = slice(10, None)  # the first cycles insert every pending row at once

    def stats(values: list[float]) -> dict[str, float]:
        v = sorted(values[warm])
        return {"median_ms": round(statistics.median(v), 3), "p95_ms": round(v[int(len(v) * 0.95) - 1], 3),
                "max_ms": round(v[-1], 3)}

    result = {
        "rules": args.rules, "series": args.rules, "cycles": args.cycles,
        "engine_on_cycle": stats(engine_ms), "first_cycle_ms": round(engine_ms[0], 3),
        "anchor_render_metrics": stats(render_ms), "anchor_index_only": stats(index_ms),
        "firing_at_end": firing, "notices": len(notices),
        "python": platform.python_version(), "machine": platform.machine(),
    }
    result["ratio_engine_to_render"] = round(result["engine_on_cycle"]["median_ms"]
                                             / result["anchor_render_metrics"]["median_ms"], 2)
    json.dump(result, sys.stdout, indent=2)
    print()
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
