"""The whole `opsplan serve` process at rest, against node_exporter, measured the same way.

    .venv/bin/python bench/bench_serve.py [--seconds 60] [--intervals 1,15] [--json out.json]

For each interval (1 s, and the default 15 s) one run starts, side by side:
  * `opsplan serve` on the plan `opsplan init` writes, with only what a bench must change: the
    interval (for the 1 s case), its data and backup directories in a temporary folder, its port,
    and the database and service it watches pointed at a throwaway MariaDB and a stand-in API
    (each in its own process, so their CPU is not counted). Nothing scrapes serve: it is idle.
  * node_exporter (Debian's), scraped by this bench once per interval, as Prometheus would.
After start-up settles, both processes' CPU (utime + stime from /proc/PID/stat, all threads) is
read at the start and the end of the same window (default 60 s); the result is CPU per second
and CPU per cycle (serve: per collection cycle; node_exporter: per scrape), and their ratio.
serve's CPU is also split per thread (/proc/PID/task/TID/stat for live threads, thread_time at
their end for threads that ended in the window, named through `bench/serve_threads.py`): that is
the profile that says where idle CPU goes. /proc counts in 10 ms ticks, so a thread's figure is
+-10 ms; the process total is what the ratio uses.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_collect import start_api, wait_http  # noqa: E402

from mariadb_server import MariaDBServer  # noqa: E402
from yaml_writer import free_port  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int, task: int | None = None) -> float:
    """utime + stime in seconds, from /proc (the whole process, or one thread)."""
    path = f"/proc/{pid}/stat" if task is None else f"/proc/{pid}/task/{task}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def thread_cpu(pid: int) -> dict[int, float]:
    out = {}
    for entry in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            out[int(entry.name)] = proc_cpu(pid, int(entry.name))
    return out


def write_default_plan(workdir: Path, *, interval_s: int, db: MariaDBServer, api_port: int, web_port: int) -> Path:
    """`opsplan init`'s plan, changed only where a bench on a shared machine must."""
    path = workdir / "opsplan.yaml"
    subprocess.run([sys.executable, "-m", "opsplan", "init", "--lang", "en", str(path)], check=True,
                   stdout=subprocess.DEVNULL)
    yaml = YAML()
    data = yaml.load(path.read_text(encoding="utf-8"))
    data["data_dir"] = str(workdir / "data")
    data["web"]["port"] = web_port
    data["backup"]["directory"] = str(workdir / "backups")
    data["backup"]["config"]["paths"] = [str(workdir / "etc")]
    (workdir / "etc").mkdir(exist_ok=True)
    data["database"].update({"host": "127.0.0.1", "port": db.port, "user": db.monitor_user,
                             "password_env": "BENCH_DB_PASSWORD"})
    service = data["services"][0]
    service["url"] = f"http://127.0.0.1:{api_port}/health"
    service["metrics_url"] = f"http://127.0.0.1:{api_port}/metrics"
    if interval_s != 15:
        data["monitoring"]["interval"] = f"{interval_s}s"
    with path.open("w", encoding="utf-8") as fh:
        yaml.dump(data, fh)
    return path


@contextlib.contextmanager
def node_exporter() -> Iterator[tuple[int, str]]:
    binary = shutil.which("prometheus-node-exporter") or "/usr/bin/prometheus-node-exporter"
    port = free_port()
    proc = subprocess.Popen([binary, f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        wait_http(url)
        yield proc.pid, url
    finally:
        proc.terminate()
        proc.wait(10)


def cycles_total(url: str) -> int:
    for line in httpx.get(url, timeout=10).text.splitlines():
        if line.startswith("opsplan_cycles_total "):
            return int(float(line.split()[1]))
    return 0


def jobs_started(log: Path) -> list[str]:
    """The scheduled jobs serve has started so far, from its log."""
    text = log.read_text(encoding="utf-8") if log.exists() else ""
    return re.findall(r"job (\S+) started$", text, re.M)


def thread_report(pid: int, path: Path) -> dict:
    """Ask the wrapper (SIGUSR1) which thread is which and what ended threads spent."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    os.kill(pid, signal.SIGUSR1)
    for _ in range(100):
        if path.exists() and path.stat().st_mtime_ns != before:
            return json.loads(path.read_text(encoding="utf-8"))
        time.sleep(0.05)
    return {"names": {}, "ended": {}}


def one_run(workdir: Path, db: MariaDBServer, api_port: int, interval_s: int, seconds: float) -> dict:
    port = free_port()
    plan = write_default_plan(workdir, interval_s=interval_s, db=db, api_port=api_port, web_port=port)
    names_file = workdir / "threads.json"
    serve = subprocess.Popen([sys.executable, str(ROOT / "bench" / "serve_threads.py"), str(names_file), "--",
                              "--plan", str(plan), "--log-file", str(workdir / "serve.log"), "serve"],
                             stdout=subprocess.DEVNULL, env={**os.environ, "BENCH_DB_PASSWORD": db.monitor_password})
    metrics_url = f"http://127.0.0.1:{port}/metrics"
    try:
        wait_http(metrics_url)
        # Past start-up: imports, the first cycles, the jobs that run at once (first binlog archive,
        # first config snapshot) and the model folders' first look.
        time.sleep(max(10.0, 2 * interval_s))
        with node_exporter() as (node_pid, node_url):
            httpx.get(node_url, timeout=10)
            cycles_before = cycles_total(metrics_url)
            report_before = thread_report(serve.pid, names_file)
            jobs_before = jobs_started(workdir / "serve.log")
            serve_before, node_before, threads_before = proc_cpu(serve.pid), proc_cpu(node_pid), thread_cpu(serve.pid)
            began = time.monotonic()
            scrapes = 0
            while time.monotonic() - began < seconds:
                httpx.get(node_url, timeout=10)
                scrapes += 1
                time.sleep(max(0.0, began + scrapes * interval_s - time.monotonic()))
            window = time.monotonic() - began
            serve_cpu, node_cpu = proc_cpu(serve.pid) - serve_before, proc_cpu(node_pid) - node_before
            threads_after = thread_cpu(serve.pid)
            report_after = thread_report(serve.pid, names_file)
            cycles = cycles_total(metrics_url) - cycles_before
            jobs = jobs_started(workdir / "serve.log")[len(jobs_before):]
    finally:
        serve.terminate()
        serve.wait(20)
    names = report_after["names"]
    per_thread: dict[str, float] = {}
    for tid, after in threads_after.items():
        name = names.get(str(tid), "main" if tid == serve.pid else f"tid {tid}")
        name = name.rstrip("0123456789_") if name.startswith("collect") else name
        per_thread[name] = per_thread.get(name, 0.0) + 1000 * (after - threads_before.get(tid, 0.0))
    for name, spent in report_after["ended"].items():
        ended_ms = 1000 * (spent - report_before["ended"].get(name, 0.0))
        if ended_ms > 0:
            per_thread[f"{name} (ended threads)"] = per_thread.get(f"{name} (ended threads)", 0.0) + ended_ms
    serve_ms_s, node_ms_s = 1000 * serve_cpu / window, 1000 * node_cpu / window
    serve_per_cycle = 1000 * serve_cpu / max(cycles, 1)
    node_per_scrape = 1000 * node_cpu / max(scrapes, 1)
    return {"interval_s": interval_s, "window_s": round(window, 1), "cycles": cycles, "scrapes": scrapes,
            "serve_ms_per_s": round(serve_ms_s, 2), "node_exporter_ms_per_s": round(node_ms_s, 2),
            "serve_ms_per_cycle": round(serve_per_cycle, 2), "node_exporter_ms_per_scrape": round(node_per_scrape, 2),
            "ratio_per_cycle": round(serve_per_cycle / node_per_scrape, 2) if node_per_scrape else None,
            "jobs_in_window": jobs,
            "serve_threads_ms": {k: round(v, 1) for k, v in sorted(per_thread.items(), key=lambda kv: -kv[1])}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--intervals", default="1,15", help="comma-separated intervals in seconds")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp, MariaDBServer() as db:
        api, api_port = start_api(Path(tmp))
        try:
            for interval in (int(x) for x in args.intervals.split(",")):
                workdir = Path(tmp) / f"i{interval}"
                workdir.mkdir()
                results.append(one_run(workdir, db, api_port, interval, args.seconds))
        finally:
            api.terminate()
            api.wait(10)
    for r in results:
        print(f"interval {r['interval_s']} s, {r['window_s']} s window: {r['cycles']} cycles, {r['scrapes']} scrapes")
        print(f"  serve {r['serve_ms_per_s']:.2f} ms CPU/s, {r['serve_ms_per_cycle']:.2f} ms/cycle; "
              f"node_exporter {r['node_exporter_ms_per_s']:.2f} ms CPU/s, {r['node_exporter_ms_per_scrape']:.2f} "
              f"ms/scrape; ratio per cycle {r['ratio_per_cycle']}x")
        print(f"  scheduled jobs run in the window: {', '.join(r['jobs_in_window']) or 'none'}")
        for name, ms in r["serve_threads_ms"].items():
            if ms >= 1:
                print(f"    {name:40s} {ms:8.1f} ms")
    if args.json:
        args.json.write_text(json.dumps({"runs": results, "cpus": os.cpu_count(),
                                         "python": platform.python_version()}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
