"""Where one `serve` collection cycle's CPU goes, part by part, at a given spacing.

    .venv/bin/python bench/profile_cycle.py [--cycles 8] [--gap 15]

The parts `serve` composes (every stage's collectors, cycle hooks, the metrics store) on the plan
`opsplan init` writes (as `bench/bench_serve.py` changes it: a throwaway MariaDB, the stand-in API,
a temporary data directory), driven by one CollectionLoop in this process, one cycle every `--gap`
seconds: a cycle every 15 s finds colder caches than one every second. Each part's CPU is its
thread's CPU (time.thread_time) around the call, averaged per cycle; the total is this process's
CPU per cycle. No HTTP server runs here: `bench_serve.py` measures the whole process.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_serve import start_api, write_default_plan  # noqa: E402

from mariadb_server import MariaDBServer  # noqa: E402
from opsplan.alerts.engine import AlertEngine  # noqa: E402
from opsplan.collectors.runner import CollectionRunner  # noqa: E402
from opsplan.metrics.exposition import LatestSamples  # noqa: E402
from opsplan.serve.loop import CollectionLoop  # noqa: E402
from opsplan.serve.server import open_store  # noqa: E402
from opsplan.stages.all import compose, load_plan, metric_registry  # noqa: E402

SPENT: collections.Counter[str] = collections.Counter()


def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def measured(*args: Any, **kwargs: Any) -> Any:
        began = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            SPENT[name] += time.thread_time() - began
    measured.__name__ = getattr(fn, "__name__", name)
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=8)
    parser.add_argument("--gap", type=float, default=15.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, MariaDBServer() as db:
        api, port = start_api(Path(tmp))
        try:
            plan = load_plan(write_default_plan(Path(tmp), interval_s=15, db=db, api_port=port, web_port=0))
            parts = compose(plan, {**os.environ, "BENCH_DB_PASSWORD": db.monitor_password})
            for collector in parts.collectors:
                collector.collect = timed(f"collector {collector.name}", collector.collect)  # type: ignore[method-assign]
            runner = CollectionRunner(parts.collectors, rollups=parts.rollups, deadline=12)
            store = open_store(plan)
            hooks = [timed(f"hook {getattr(h, '__name__', h)}", h) for h in parts.on_cycle]
            loop = CollectionLoop(runner, store, LatestSamples(metric_registry()), interval=args.gap,
                                  store_lock=threading.Lock(), after_cycle=hooks,
                                  persistence=parts.context.state_db.health)
            engine = parts.context.get(AlertEngine)
            if engine is not None:
                engine._refresh = timed("hook alert_rules, of it: silences and acks", engine._refresh)  # type: ignore[method-assign]
            store.append = timed("store write (WAL append)", store.append)  # type: ignore[method-assign]
            for _ in range(3):
                loop.run_cycle()
            SPENT.clear()
            began = time.process_time()
            for _ in range(args.cycles):
                time.sleep(args.gap)
                loop.run_cycle()
            total = 1000 * (time.process_time() - began) / args.cycles
            active = sorted({i.alert for i in engine.active()}) if engine is not None else []
            store.close()
            runner.close()
        finally:
            api.terminate()
            api.wait(10)
    print(f"{args.cycles} cycles, one every {args.gap:g} s: {total:.2f} ms CPU per cycle (this process, all threads)")
    print(f"alerts active: {', '.join(active) or 'none'}")
    for name, seconds in sorted(SPENT.items(), key=lambda kv: -kv[1]):
        print(f"  {name:45s} {1000 * seconds / args.cycles:7.3f} ms")


if __name__ == "__main__":
    main()
