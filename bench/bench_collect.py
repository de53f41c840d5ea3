"""CPU per scrape: one opsplan collection cycle + /metrics render, against Debian's node_exporter.

Both run on this machine in the same run, and the result is a ratio (target: at most 0.5x).
node_exporter collects on every scrape, so its CPU per scrape is its process CPU time over N
scrapes; opsplan collects on its interval and renders on scrape, so its cost per scrape is one
cycle plus one render, measured as this process's CPU time (all threads).

    .venv/bin/python bench/bench_collect.py [--rounds 5] [--scrapes 100] [--seconds 60] [--json out.json]

A second measure runs both as deployed, side by side in one window: `opsplan serve` (its HTTP
serving and idle costs included) and node_exporter, each scraped once a second.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from mariadb_server import MariaDBServer  # noqa: E402
from opsplan.collectors.build import build_collectors  # noqa: E402
from opsplan.collectors.runner import CollectionRunner  # noqa: E402
from opsplan.metrics.exposition import LatestSamples  # noqa: E402
from opsplan.stages.all import load_plan, metric_registry  # noqa: E402
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


def wait_http(url: str) -> None:
    for _ in range(300):
        try:
            httpx.get(url, timeout=5)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit(f"nothing answers at {url}")


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


@contextlib.contextmanager
def node_exporter() -> Iterator[tuple[psutil.Process, str]]:
    binary = shutil.which("prometheus-node-exporter") or "/usr/bin/prometheus-node-exporter"
    port = free_port()
    proc = subprocess.Popen([binary, f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        wait_http(url)
        yield psutil.Process(proc.pid), url
    finally:
        proc.terminate()
        proc.wait(10)


def count_series(text: str) -> int:
    return sum(1 for line in text.splitlines() if line and not line.startswith("#"))


@contextlib.contextmanager
def environment(workdir: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """A throwaway MariaDB and a stand-in API, both in their own processes, and a plan watching them."""
    server = MariaDBServer()
    server.start()
    api, api_port = start_api(workdir)
    try:
        plan_path = write_plan(workdir, {
            "monitoring": {"interval": "1s"},
            "services": [{"name": "llm-api", "group": "app", "url": f"http://127.0.0.1:{api_port}/health",
                          "metrics_url": f"http://127.0.0.1:{api_port}/metrics"}],
            "database": {"host": "127.0.0.1", "port": server.port, "user": server.monitor_user,
                         "password_env": "BENCH_DB_PASSWORD"},
        })
        yield plan_path, {"BENCH_DB_PASSWORD": server.monitor_password}
    finally:
        api.terminate()
        api.wait(10)
        server.stop()


def in_process(plan_path: Path, secrets: dict[str, str], rounds: int, scrapes: int) -> list[dict[str, float]]:
    """The issue's measure: one cycle + one render per scrape, rounds alternating with node_exporter."""
    plan = load_plan(plan_path)
    collectors, rollups = build_collectors(plan, secrets)
    runner = CollectionRunner(collectors, rollups=rollups, deadline=10)
    latest = LatestSamples(metric_registry())
    latest.update(runner.run_once().samples)  # the first cycle primes CPU counters and connections
    results = []
    with node_exporter() as (node, url):
        httpx.get(url, timeout=10)
        for _ in range(rounds):
            before = cpu_seconds(node)
            for _ in range(scrapes):
                text = httpx.get(url, timeout=10).text
            node_ms = 1000 * (cpu_seconds(node) - before) / scrapes
            before = time.process_time()
            for _ in range(scrapes):
                cycle = runner.run_once()
                latest.update(cycle.samples)
                body = latest.render()
            ours_ms = 1000 * (time.process_time() - before) / scrapes
            results.append({"node_exporter_ms": node_ms, "opsplan_ms": ours_ms, "ratio": ours_ms / node_ms,
                            "node_exporter_series": count_series(text),
                            "opsplan_series": count_series(body.decode())})
    runner.close()
    return results


def whole_process(plan_path: Path, secrets: dict[str, str], seconds: float) -> dict[str, float]:
    """Both as deployed, side by side in the same window: `opsplan serve` (interval 1 s, HTTP
    serving included) and node_exporter, each scraped once a second."""
    port = free_port()
    serve = subprocess.Popen([sys.executable, "-m", "opsplan", "--plan", str(plan_path), "--log-file",
                              str(plan_path.parent / "serve.log"), "serve", "--port", str(port)],
                             stdout=subprocess.DEVNULL, env={**os.environ, **secrets})
    ours_url = f"http://127.0.0.1:{port}/metrics"
    try:
        wait_http(ours_url)
        time.sleep(2)  # past start-up: imports, first cycle
        ours = psutil.Process(serve.pid)
        with node_exporter() as (node, node_url):
            ours_before, node_before = cpu_seconds(ours), cpu_seconds(node)
            cycles_before = _cycles(httpx.get(ours_url, timeout=5).text)
            scrapes = 0
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                httpx.get(node_url, timeout=10)
                httpx.get(ours_url, timeout=10)
                scrapes += 1
                time.sleep(max(0.0, 1.0 - (time.monotonic() % 1.0)))
            cycles = _cycles(httpx.get(ours_url, timeout=5).text) - cycles_before
            # One cycle a second and one scrape a second: the serve process's CPU per scrape.
            ours_ms = 1000 * (cpu_seconds(ours) - ours_before) / scrapes
            node_ms = 1000 * (cpu_seconds(node) - node_before) / scrapes
    finally:
        serve.terminate()
        serve.wait(10)
    return {"node_exporter_ms": node_ms, "opsplan_ms": ours_ms, "ratio": ours_ms / node_ms,
            "cycles": cycles, "scrapes": scrapes}


def _cycles(text: str) -> int:
    for line in text.splitlines():
        if line.startswith("opsplan_cycles_total "):
            return int(float(line.split()[1]))
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scrapes", type=int, default=100, help="scrapes per round")
    parser.add_argument("--seconds", type=float, default=60, help="length of the whole-process run")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, environment(Path(tmp)) as (plan_path, secrets):
        rounds = in_process(plan_path, secrets, args.rounds, args.scrapes)
        whole = whole_process(plan_path, secrets, args.seconds)
    median = statistics.median(r["ratio"] for r in rounds)
    print(f"in process, {args.rounds} rounds of {args.scrapes} scrapes (one cycle + one render per scrape):")
    print(f"  {'round':>5} {'node_exporter ms':>17} {'opsplan ms':>11} {'ratio':>6}")
    for i, r in enumerate(rounds, 1):
        print(f"  {i:5d} {r['node_exporter_ms']:17.2f} {r['opsplan_ms']:11.2f} {r['ratio']:6.2f}")
    print(f"  series per scrape: node_exporter {rounds[0]['node_exporter_series']}, "
          f"opsplan {rounds[0]['opsplan_series']}")
    print(f"  median ratio opsplan/node_exporter: {median:.2f}x (target <= 0.5x)")
    print(f"whole process, {whole['scrapes']} scrapes each over {args.seconds:g}s (HTTP serving included):")
    print(f"  node_exporter {whole['node_exporter_ms']:.2f} ms/scrape, opsplan serve {whole['opsplan_ms']:.2f} "
          f"ms/scrape ({whole['cycles']} cycles), ratio {whole['ratio']:.2f}x")
    if args.json:
        args.json.write_text(json.dumps({"rounds": rounds, "median_ratio": median, "whole_process": whole,
                                         "cpus": psutil.cpu_count()}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
