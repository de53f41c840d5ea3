"""Alert-engine and outbox cycle cost with the state DB on PostgreSQL and MariaDB, against SQLite
(issue 15): the workload of bench/bench_rules.py (1,000 rules over 1,000 series, a fixed
pseudo-random walk, ~10 % above threshold, a few crossing each cycle, a simulated 15-second clock)
run once per engine in the same process, on the same samples.

    .venv/bin/python bench/bench_state_engines.py [--rules 1000] [--cycles 200] [--json out.json]

Each cycle, per engine:
  * engine: AlertEngine.on_cycle (every rule, state changes written to the state DB);
  * outbox write: Notifier.submit_all of the cycle's notices (routing, one transaction);
  * outbox delivery: Notifier.deliver_due (claim each due row, send it through apprise json:// to a
    loopback receiver, record the outcome) and Notifier.samples (the backlog read /metrics shows).
Wall time is the cycle's real cost on a server engine (round trips, the server's own work); process
CPU time is opsplan's share. The anchor is SQLite, the engine `opsplan init` configures: ratios are
engine / SQLite medians. The sends are the same on every engine (same notices), so the delivery
ratio understates the database's share; the write ratio isolates it.

PostgreSQL and MariaDB are this machine's servers (tests/state_engines.py: postgres@127.0.0.1:5432,
root@127.0.0.1:3306, or OPSPLAN_TEST_PG_URL / OPSPLAN_TEST_MARIADB_URL); each run uses a throwaway
database `opsplan_test_<hex>` created and dropped here, no other database is touched. A server that
cannot be reached is reported as skipped with the reason.
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_rules import INTERVAL, T0, cycles, make_rules  # noqa: E402

from opsplan.alerts.engine import AlertEngine  # noqa: E402
from opsplan.alerts.events import AlertNotice  # noqa: E402
from opsplan.metrics import Cycle  # noqa: E402
from opsplan.notify.service import Notifier  # noqa: E402
from opsplan.plan.models import Plan  # noqa: E402
from opsplan.store.state import StateDB  # noqa: E402
from state_engines import ENGINES, throwaway_database  # noqa: E402

URL_ENV = "OPSPLAN_BENCH_CHANNEL_URL"
WARM = 10  # the first cycles insert every pending row at once (as in bench_rules.py)
T = TypeVar("T")
PARTS = ("engine", "outbox_write", "outbox_delivery")


@contextmanager
def receiver() -> Iterator[list[int]]:
    """A loopback webhook that answers 200 and counts what it got."""
    got = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            got[0] += 1
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    got.append(server.server_address[1])
    try:
        yield got
    finally:
        server.shutdown()
        server.server_close()


def timed(fn: Callable[[], T], into: dict[str, list[float]], part: str) -> T:
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    into[f"{part}_wall"].append((time.perf_counter() - wall) * 1000)
    into[f"{part}_cpu"].append((time.process_time() - cpu) * 1000)
    return value


def deliver(notifier: Notifier, now: float) -> int:
    """One delivery round and the backlog read that /metrics makes each cycle; how many were sent."""
    sent = notifier.deliver_due(now).sent
    notifier.samples()
    return sent


def run_engine(url: str, plan: Plan, series: list, rules: list, hook_port: int) -> dict:
    db = StateDB.open(url)  # migrated here, outside the timing
    now = [T0]
    notices: list[AlertNotice] = []
    notifier = Notifier(plan, db, clock=lambda: now[0], environ={URL_ENV: f"json://127.0.0.1:{hook_port}/bench"})
    engine = AlertEngine(plan, rules, db, notice_sink=notices.append, clock=lambda: now[0], host="bench")
    times: dict[str, list[float]] = {f"{p}_{k}": [] for p in PARTS for k in ("wall", "cpu")}
    submitted = sent = 0
    try:
        for samples in series:
            cycle = Cycle(now[0], list(samples), 0.1)
            timed(lambda c=cycle: engine.on_cycle(c), times, "engine")  # type: ignore[misc]
            batch, notices[:] = list(notices), []
            submitted += len(batch)
            timed(lambda b=batch: notifier.submit_all(b), times, "outbox_write")  # type: ignore[misc]
            sent += timed(lambda: deliver(notifier, now[0]), times, "outbox_delivery")  # noqa: B023
            now[0] += INTERVAL
        firing = sum(1 for i in engine.active() if i.state == "firing")
    finally:
        db.close()
    result: dict = {"notices": submitted, "sent": sent, "firing_at_end": firing}
    for key, values in times.items():
        v = sorted(values[WARM:])
        result[key] = {"median_ms": round(statistics.median(v), 3), "p95_ms": round(v[int(len(v) * 0.95) - 1], 3)}
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    plan = Plan.model_validate({"notifications": {"channels": [
        {"name": "bench", "kind": "webhook", "url_env": URL_ENV, "severities": ["critical", "warning"]}]}})
    rules, series = make_rules(args.rules), cycles(args.rules, args.cycles)
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp, receiver() as hook:
        for kind in ENGINES:
            try:
                with throwaway_database(kind, Path(tmp)) as url:
                    results[kind] = run_engine(url, plan, series, rules, hook[1])
            except BaseException as exc:  # noqa: BLE001 - pytest's skip (an unreachable server) is a BaseException
                if type(exc).__name__ != "Skipped":
                    raise
                results[kind] = {"skipped": str(exc)}
            print(f"{kind}: {json.dumps(results[kind])}", file=sys.stderr, flush=True)
    anchor = results.get("sqlite", {})
    ratios: dict[str, dict[str, float]] = {}
    for kind in ("postgresql", "mariadb"):
        if "skipped" in results[kind]:
            continue
        ratios[kind] = {key: round(results[kind][key]["median_ms"] / anchor[key]["median_ms"], 2)
                        for key in anchor if key.endswith(("_wall", "_cpu")) and anchor[key]["median_ms"] > 0}
    summary = {"rules": args.rules, "cycles": args.cycles, "warm_up_cycles": WARM, "engines": results,
               "ratio_to_sqlite": ratios, "python": platform.python_version(), "machine": platform.machine()}
    json.dump(summary, sys.stdout, indent=2)
    print()
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
