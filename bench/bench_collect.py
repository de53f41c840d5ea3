"""CPU per scrape: one opsplan collection cycle + /metrics render, against Debian's node_exporter.

Both run on this machine in the same run, and the result is a ratio (target: at most 0.5x).
node_exporter collects on every scrape, so its CPU per scrape is its process CPU time over N
scrapes; opsplan collects on its interval and renders on scrape, so its cost per scrape is one
cycle plus one render, measured as this process's CPU time (all threads).

    .venv/bin/python bench/bench_collect.py [--scrapes 200] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from mariadb_server import MariaDBServer  # noqa: E402
from opsplan.collectors.catalog import build_collectors, metric_catalogue  # noqa: E402
from opsplan.collectors.exposition import LatestSamples  # noqa: E402
from opsplan.collectors.runner import CollectionRunner  # noqa: E402
from opsplan.plan.loader import load_plan  # noqa: E402
from yaml_writer import free_port, write_plan  # noqa: E402


def start_api(workdir: Path) -> tuple[subprocess.Popen, int]:
    """The stand-in API runs in its own process: its CPU must not count as opsplan's."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "stand_in_api.py"), str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    return proc, port


def bench_node_exporter(scrapes: int) -> dict[str, float]:
    binary = shutil.which("prometheus-node-exporter") or "/usr/bin/prometheus-node-exporter"
    port = free_port()
    proc = subprocess.Popen([binary, f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        for _ in range(100):
            try:
                httpx.get(url, timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        httpx.get(url, timeout=10)  # warm up
        process = psutil.Process(proc.pid)
        before = process.cpu_times()
        series = 0
        for _ in range(scrapes):
            text = httpx.get(url, timeout=10).text
            series = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
        after = process.cpu_times()
        cpu = (after.user - before.user) + (after.system - before.system)
        return {"cpu_ms_per_scrape": 1000 * cpu / scrapes, "series": series}
    finally:
        proc.terminate()
        proc.wait(10)


def bench_opsplan(scrapes: int, workdir: Path) -> dict[str, float]:
    server = MariaDBServer()
    server.start()
    api, api_port = start_api(workdir)
    try:
        plan_path = write_plan(workdir, {
            "services": [{"name": "llm-api", "group": "app", "url": f"http://127.0.0.1:{api_port}/health",
                          "metrics_url": f"http://127.0.0.1:{api_port}/metrics"}],
            "database": {"host": "127.0.0.1", "port": server.port, "user": server.monitor_user,
                         "password_env": "BENCH_DB_PASSWORD"},
        })
        plan = load_plan(plan_path)
        collectors, rollups = build_collectors(plan, {"BENCH_DB_PASSWORD": server.monitor_password})
        runner = CollectionRunner(collectors, rollups=rollups, deadline=10)
        latest = LatestSamples(metric_catalogue())
        latest.update(runner.run_once().samples)  # first cycle primes CPU counters and connections
        latest.render()
        before = time.process_time()
        samples = 0
        for _ in range(scrapes):
            cycle = runner.run_once()
            latest.update(cycle.samples)
            latest.render()
            samples = len(cycle.samples)
        cpu = time.process_time() - before
        runner.close()
        return {"cpu_ms_per_scrape": 1000 * cpu / scrapes, "series": samples}
    finally:
        api.terminate()
        api.wait(10)
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scrapes", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        node = bench_node_exporter(args.scrapes)
        ours = bench_opsplan(args.scrapes, Path(tmp))
    ratio = ours["cpu_ms_per_scrape"] / node["cpu_ms_per_scrape"]
    result = {"scrapes": args.scrapes, "node_exporter": node, "opsplan": ours, "ratio": ratio,
              "cpus": psutil.cpu_count()}
    print(f"{'':14}{'CPU ms/scrape':>14}{'series':>8}")
    print(f"{'node_exporter':14}{node['cpu_ms_per_scrape']:14.2f}{node['series']:8.0f}")
    print(f"{'opsplan':14}{ours['cpu_ms_per_scrape']:14.2f}{ours['series']:8.0f}")
    print(f"ratio opsplan/node_exporter: {ratio:.2f}x (target <= 0.5x)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
