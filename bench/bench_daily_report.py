"""The daily check run and its report over 30 days of 1,000 series (issue 14: <= 5 s on 2 cores).

    PYTHONPATH=src .venv/bin/python bench/bench_daily_report.py [--days 30] [--interval 15] [--runs 5]
        [--keep DIR]

`--keep DIR` builds the plan and its store in DIR the first time and reuses them after (the build
takes minutes; the measured runs do not depend on it).

The plan `opsplan init` writes (Korean, Asia/Seoul, two allocation groups over 4 GPUs) with its data
dir in a temporary folder. Its metrics store is filled with `--days` of cycles every `--interval`
seconds (the plan's collection interval) of 1,000 series whose values are generated and known: the
system (CPU a daily sine 0.30 +- 0.10, memory, swap), 8 mounts (`/data` at 95 %: a failure), 4 network
interfaces with their counters, 4 GPUs with 16 processes each, the groups, MariaDB, 24 services
(`svc-07` answering in 2.5 s at p95: a warning) and the series no daily item reads (collector and
per-process figures) up to 1,000. The store is maintained as `serve` maintains it (its retention from
the plan: 14 days raw, the rest 5-minute rollups; the last cycles still in the WAL). Then, in
alternating rounds, each a fresh process (whole process measured, start-up included):

- the measured process: open the store and the state DB, `run_checks` daily (every item of the
  plan's daily schedule, stored), the report rendered in ko and en as html, md and json (what
  `opsplan report export` writes), six files written;
- the anchor: a process that opens the store and queries every series the daily items read over the
  same window and step, nothing else;
- `opsplan check run daily --for DAY` (the real CLI, one process) for the operator's figure.

Reported: medians of `--runs` wall times and of the processes' CPU time (user + system: on a
shared machine the wall time also counts the wait for a core), and the ratio to the anchor.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

SRC = Path(__file__).resolve().parent.parent / "src"
DAY = 86400.0
SERIES = 1000
MOUNTS = ["/", "/data", "/home", "/var", "/srv/models", "/srv/vector", "/backup", "/tmp"]
INTERFACES = ["lo", "eth0", "eth1", "ib0"]
SERVICES = [f"svc-{i:02d}" for i in range(24)]
# What the daily items query (the anchor asks for the same): metric names, by evaluator.
READ_BY_DAILY = [
    "opsplan_cpu_usage_ratio", "opsplan_memory_usage_ratio", "opsplan_disk_usage_ratio",
    "opsplan_group_memory_usage_ratio", "opsplan_gpu_count", "opsplan_gpu_expected", "opsplan_gpu_missing",
    "opsplan_gpu_up", "opsplan_gpu_temperature_celsius", "opsplan_gpu_memory_usage_ratio",
    "opsplan_group_gpu_utilization_ratio", "opsplan_gpu_utilization_ratio", "opsplan_network_up",
    "opsplan_network_receive_bytes_total", "opsplan_network_transmit_bytes_total",
    "opsplan_network_receive_errors_total", "opsplan_network_transmit_errors_total",
    "opsplan_api_response_seconds", "opsplan_api_error_ratio", "opsplan_api_requests_per_second",
    "opsplan_api_concurrent_users", "opsplan_mariadb_up", "opsplan_mariadb_connection_usage_ratio",
    "opsplan_mariadb_threads_connected", "opsplan_mariadb_slow_queries_total", "opsplan_disk_used_bytes",
    "opsplan_disk_total_bytes",
]


def series_table(groups: dict[str, list[int]]) -> list[tuple[str, dict[str, str], float, float, str]]:
    """(name, labels, base, daily amplitude, kind) for each of the 1,000 series; kind 'gauge',
    'counter' (base is its rate per second) or 'noise' (base +- 1 % jitter)."""
    out: list[tuple[str, dict[str, str], float, float, str]] = [
        ("opsplan_cpu_usage_ratio", {}, 0.30, 0.10, "gauge"),
        ("opsplan_memory_usage_ratio", {}, 0.55, 0.05, "gauge"),
        ("opsplan_swap_usage_ratio", {}, 0.0, 0.0, "gauge"),
        ("opsplan_gpu_count", {}, 4.0, 0.0, "gauge"),
        ("opsplan_gpu_expected", {}, 4.0, 0.0, "gauge"),
        ("opsplan_mariadb_up", {}, 1.0, 0.0, "gauge"),
        ("opsplan_mariadb_threads_connected", {}, 20.0, 8.0, "gauge"),
        ("opsplan_mariadb_connection_usage_ratio", {}, 0.13, 0.05, "gauge"),
        ("opsplan_mariadb_slow_queries_total", {}, 0.001, 0.0, "counter"),
        ("opsplan_mariadb_queries_per_second", {}, 230.0, 80.0, "gauge"),
    ]
    for i, mount in enumerate(MOUNTS):
        ratio = 0.95 if mount == "/data" else 0.30 + 0.05 * i
        total = 2e12
        out += [("opsplan_disk_usage_ratio", {"mountpoint": mount}, ratio, 0.0, "noise"),
                ("opsplan_disk_used_bytes", {"mountpoint": mount}, ratio * total, 0.0, "noise"),
                ("opsplan_disk_total_bytes", {"mountpoint": mount}, total, 0.0, "gauge")]
    for interface in INTERFACES:
        out += [("opsplan_network_up", {"interface": interface}, 1.0, 0.0, "gauge"),
                ("opsplan_network_receive_bytes_total", {"interface": interface}, 4e7, 0.0, "counter"),
                ("opsplan_network_transmit_bytes_total", {"interface": interface}, 2e7, 0.0, "counter"),
                ("opsplan_network_receive_errors_total", {"interface": interface}, 0.0, 0.0, "counter"),
                ("opsplan_network_transmit_errors_total", {"interface": interface}, 0.0, 0.0, "counter")]
    for group, gpus in groups.items():
        out += [("opsplan_group_memory_usage_ratio", {"group": group}, 0.60, 0.10, "gauge"),
                ("opsplan_group_memory_used_bytes", {"group": group}, 9e10, 1e10, "gauge"),
                ("opsplan_group_storage_used_bytes", {"group": group}, 8e11, 0.0, "noise"),
                ("opsplan_group_storage_usage_ratio", {"group": group}, 0.4, 0.0, "noise"),
                ("opsplan_group_gpu_utilization_ratio", {"group": group}, 0.7, 0.2, "gauge")]
        for gpu in map(str, gpus):
            labels = {"gpu": gpu, "group": group}
            out += [("opsplan_gpu_up", labels, 1.0, 0.0, "gauge"),
                    ("opsplan_gpu_missing", labels, 0.0, 0.0, "gauge"),
                    ("opsplan_gpu_utilization_ratio", labels, 0.7, 0.2, "gauge"),
                    ("opsplan_gpu_memory_usage_ratio", labels, 0.6, 0.1, "gauge"),
                    ("opsplan_gpu_memory_used_bytes", labels, 2.9e10, 4e9, "gauge"),
                    ("opsplan_gpu_memory_total_bytes", labels, 4.8e10, 0.0, "gauge"),
                    ("opsplan_gpu_temperature_celsius", labels, 68.0, 6.0, "gauge"),
                    ("opsplan_gpu_power_watts", labels, 250.0, 60.0, "gauge")]
            out += [("opsplan_gpu_process_memory_bytes", {**labels, "pid": str(1000 + 16 * int(gpu) + k),
                                                          "process": "python"}, 1.5e9, 2e8, "gauge")
                    for k in range(16)]
    for service in SERVICES:
        labels = {"service": service}
        p95 = 2.5 if service == "svc-07" else 0.18
        out += [("opsplan_api_up", labels, 1.0, 0.0, "gauge"),
                ("opsplan_api_response_seconds", {**labels, "quantile": "0.95"}, p95, 0.0, "noise"),
                ("opsplan_api_response_seconds", {**labels, "quantile": "0.99"}, p95 * 1.6, 0.0, "noise"),
                ("opsplan_api_error_ratio", labels, 0.002, 0.001, "gauge"),
                ("opsplan_api_requests_per_second", labels, 35.0, 20.0, "gauge"),
                ("opsplan_api_concurrent_users", labels, 40.0, 25.0, "gauge"),
                ("opsplan_api_requests_total", labels, 35.0, 0.0, "counter")]
    k = 0
    while len(out) < SERIES:  # what no daily item reads: collector timings, per-process figures
        out.append(("opsplan_bench_unread", {"collector": f"c{k % 40}", "pid": str(k)}, 1.0, 0.5, "gauge"))
        k += 1
    return out


def fill(data_dir: Path, plan: object, end: float, days: int, interval: float) -> dict[str, int]:
    from opsplan.metrics import Sample
    from opsplan.metrics.samples import labels_of
    from opsplan.store import MetricsStore

    groups = {g.id: list(g.gpus) for g in plan.allocation}  # type: ignore[attr-defined]
    table = series_table(groups)
    names = [name for name, *_ in table]
    labels = [labels_of(**lab) for _, lab, *_ in table]
    base = np.array([row[2] for row in table])
    amp = np.array([row[3] for row in table])
    counter = np.array([row[4] == "counter" for row in table])
    noisy = np.array([row[4] == "noise" for row in table])
    phase = np.linspace(0, 2 * np.pi, len(table), endpoint=False)
    settings = plan.monitoring.store  # type: ignore[attr-defined]
    clock = [end]
    store = MetricsStore(data_dir / "metrics", raw_retention_s=settings.raw_retention,
                         rollup_step_s=int(settings.rollup_step), rollup_retention_s=settings.rollup_retention,
                         clock=lambda: clock[0], sync=False)
    rng = np.random.default_rng(14)
    start = end - days * DAY
    cycles = int(days * DAY / interval)
    totals = np.zeros(len(table))
    every_2h, every_5m = int(7200 / interval), int(300 / interval)
    for c in range(cycles):
        ts = start + c * interval
        day_angle = 2 * np.pi * ts / DAY
        gauge = base + amp * np.sin(day_angle + phase * (amp > 0))
        gauge[0] = base[0] + amp[0] * np.sin(day_angle)  # the CPU: a plain daily sine
        gauge = np.where(noisy, base * (1 + rng.normal(0, 0.01, len(table))), gauge)
        totals += base * interval * counter
        values = np.where(counter, totals, gauge).tolist()
        store.append(ts, [Sample(n, v, lab) for n, v, lab in zip(names, values, labels, strict=True)])
        recent = end - ts <= 7200
        if (c + 1) % (every_5m if recent else every_2h) == 0 and end - ts > 300:
            clock[0] = ts
            store.maintain()  # as serve does (every 5 minutes); the last cycles stay in the WAL
    clock[0] = end
    stats = store.stats()
    store.close()
    return stats


# --- the measured processes ---------------------------------------------------------------------------

def child_report(plan_path: Path, end: float, out_dir: Path) -> None:
    """The daily run and six report files, as serve's job and `opsplan report export` do them."""
    from opsplan.checks import runs
    from opsplan.checks.report import render
    from opsplan.stages.all import load_plan
    from opsplan.store.reading import open_for_reading
    from opsplan.store.state import StateDB, state_url

    plan = load_plan(plan_path)
    store = open_for_reading(plan)  # as `opsplan check run` opens it (read-only, beside serve)
    assert store is not None
    db = StateDB.open(state_url(plan.data_dir, plan.state_db_url_env, os.environ))
    try:
        outcome = runs.run_checks(plan, db, "daily", store=store, actor="bench", now=end)
        run = runs.get_run(db, outcome.run_id)
    finally:
        store.close()
        db.close()
    for lang in ("ko", "en"):
        for fmt_name in ("html", "md", "json"):
            (out_dir / f"daily-{lang}.{fmt_name}").write_text(render(run, fmt_name, lang, plan.timezone),
                                                             encoding="utf-8")
    statuses = {item["item_id"]: item["status"] for item in run["items"]}
    print(json.dumps(statuses))


def child_anchor(plan_path: Path, end: float) -> None:
    """The raw store queries of what the daily items read, same window and step."""
    from opsplan.stages.all import load_plan
    from opsplan.store.reading import open_for_reading

    plan = load_plan(plan_path)
    store = open_for_reading(plan)
    assert store is not None
    found = 0
    try:
        for name in READ_BY_DAILY:
            found += len(store.query(name, None, end - DAY, end, 300.0))
    finally:
        store.close()
    print(found)


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall and CPU seconds of one process, and what it printed."""
    cpu = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - started
    if done.returncode not in (0, 1):  # `check run` exits 1 when an item fails (the known /data disk)
        raise SystemExit(f"{argv[2:]} failed: {done.stderr.strip()[-2000:]}")
    return took, _children_cpu() - cpu, done.stdout


def build(work: Path, env: dict[str, str], days: int, interval: float) -> tuple[float, float, dict[str, int]]:
    """The plan `opsplan init` writes, its data dir in `work`, and its filled store: (end, seconds, stats)."""
    from opsplan.stages.all import load_plan

    plan_path = work / "opsplan.yaml"
    subprocess.run([sys.executable, "-m", "opsplan", "init", str(plan_path)], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    text = plan_path.read_text(encoding="utf-8")
    plan_path.write_text(text.replace("data_dir: /var/lib/opsplan", f"data_dir: {work / 'data'}", 1),
                         encoding="utf-8")
    plan = load_plan(plan_path)
    # The window `opsplan check run daily --for DAY` checks: the 24 hours before 09:00 that day.
    zone = ZoneInfo(plan.timezone)
    day = (datetime.now(zone) - timedelta(days=1)).date()
    end = datetime(day.year, day.month, day.day, 9, tzinfo=zone).timestamp()
    started = time.perf_counter()
    stats = fill(work / "data", plan, end, days, interval)
    built = time.perf_counter() - started
    (work / "built.json").write_text(json.dumps({"end": end, "built": built, "stats": stats, "days": days,
                                                 "interval": interval}), encoding="utf-8")
    return end, built, stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--interval", type=float, default=15.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="build the store here once and reuse it")
    parser.add_argument("--child", choices=("report", "anchor"), help=argparse.SUPPRESS)
    parser.add_argument("--plan", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--end", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "report":
        child_report(args.plan, args.end, args.out)
        return 0
    if args.child == "anchor":
        child_anchor(args.plan, args.end)
        return 0

    env = {**os.environ, "PYTHONPATH": str(SRC), "COLUMNS": "200"}
    with tempfile.TemporaryDirectory(prefix="opsplan-bench-daily-") as tmp:
        work = args.keep or Path(tmp)
        plan_path = work / "opsplan.yaml"
        if (work / "built.json").exists():
            kept = json.loads((work / "built.json").read_text(encoding="utf-8"))
            end, built, stats = kept["end"], kept["built"], kept["stats"]
            args.days, args.interval = kept["days"], kept["interval"]
        else:
            work.mkdir(parents=True, exist_ok=True)
            end, built, stats = build(work, env, args.days, args.interval)
        day = datetime.fromtimestamp(end, ZoneInfo("Asia/Seoul")).date()
        me = [sys.executable, str(Path(__file__).resolve()), "--plan", str(plan_path), "--end", str(end)]
        report = [*me, "--child", "report", "--out", str(work)]
        anchor = [*me, "--child", "anchor"]
        cli = [sys.executable, "-m", "opsplan", "--plan", str(plan_path), "check", "run", "daily",
               "--for", day.isoformat()]
        timed(anchor, env)  # warm-up: byte-code caches, the state database's first migration
        statuses = timed(report, env)[2]
        times: dict[str, list[float]] = {"anchor": [], "report": [], "cli": []}
        cpu: dict[str, list[float]] = {"anchor": [], "report": [], "cli": []}
        for _ in range(args.runs):
            for key, argv in (("anchor", anchor), ("report", report), ("cli", cli)):
                wall, used, _ = timed(argv, env)
                times[key].append(wall)
                cpu[key].append(used)
        sizes = {p.name: p.stat().st_size for p in sorted(work.glob("daily-*"))}
    anchor_s, anchor_cpu = statistics.median(times["anchor"]), statistics.median(cpu["anchor"])
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load {os.getloadavg()[0]:.2f}, runs={args.runs}")
    print(f"store: {args.days} days every {args.interval:g} s, {stats['series']} series, "
          f"{stats['samples']:,} raw samples, {stats['rollup_rows']:,} rollup rows, {stats['blocks']} blocks, "
          f"{stats['bytes_on_disk'] / 1e6:.0f} MB (built in {built:.0f} s)")
    print(f"daily statuses: {statuses.strip()}")
    print(f"reports: {', '.join(f'{k} {v / 1000:.0f} kB' for k, v in sizes.items())}")
    rows = [("anchor: store queries of the daily series, 1 process", "anchor"),
            ("daily run + 6 reports (ko/en html/md/json), 1 process", "report"),
            ("`opsplan check run daily --for DAY` (CLI)", "cli")]
    print(f"{'':56} {'wall s':>7} {'min':>6} {'max':>6} {'x':>5}   {'CPU s':>6} {'x':>5}")
    for label, key in rows:
        median, used = statistics.median(times[key]), statistics.median(cpu[key])
        print(f"{label:56} {median:7.2f} {min(times[key]):6.2f} {max(times[key]):6.2f} {median / anchor_s:5.2f}"
              f"   {used:6.2f} {used / anchor_cpu:5.2f}")
    whole = statistics.median(times["report"])
    print(f"target <= 5 s for the daily run + its report: {'met' if whole <= 5 else 'NOT met'} (wall)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
