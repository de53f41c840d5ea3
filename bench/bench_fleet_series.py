"""How big a fleet is for Prometheus: series per host, counted on a real `/metrics` and in a real
Prometheus, against node_exporter's (the anchor: what every Prometheus user already scrapes per host).

    .venv/bin/python bench/bench_fleet_series.py [--hosts 2] [--json out.json]

Each host is `opsplan serve` on the plan `opsplan init` writes, changed only where a bench must
(bench_serve.write_default_plan: its port, data and backup folders, a throwaway MariaDB and the
stand-in API), with the seed's 4 GPUs as a fake NVML inventory (this machine has none) and its own
`server.name`. `opsplan fleet export` writes the Prometheus config for all of them (scrape every 5s
so the bench is short; the series count does not depend on it), a real Prometheus scrapes them with
the exported rules, and the bench reads:
  * series per host on /metrics (non-comment lines) and bytes per scrape;
  * series per host in Prometheus (`count by (host) ({job="opsplan"})`, with up/scrape_* series),
    and the head's total (`prometheus_tsdb_head_series`, which adds the rule's ALERTS and records);
  * node_exporter's series on its /metrics, same machine, same moment: the ratio is opsplan / node.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_collect import start_api, wait_http  # noqa: E402
from bench_serve import node_exporter, write_default_plan  # noqa: E402

from mariadb_server import MariaDBServer  # noqa: E402
from prometheus_stack import prometheus, prometheus_value, wait_until  # noqa: E402
from yaml_writer import four_gpus, free_port  # noqa: E402


def series_lines(url: str) -> tuple[int, int]:
    text = httpx.get(url, timeout=10).text
    return sum(1 for line in text.splitlines() if line and not line.startswith("#")), len(text.encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, MariaDBServer() as db:
        api, api_port = start_api(Path(tmp))
        serves: list[subprocess.Popen] = []
        try:
            hosts = []
            for i in range(args.hosts):
                workdir = Path(tmp) / f"host{i}"
                workdir.mkdir()
                port = free_port()
                plan = write_default_plan(workdir, interval_s=15, db=db, api_port=api_port, web_port=port)
                yaml = YAML()
                data = yaml.load(plan.read_text(encoding="utf-8"))
                data["server"]["name"] = f"ai-server-{i + 1:02d}"
                with plan.open("w", encoding="utf-8") as fh:
                    yaml.dump(data, fh)
                env = {**os.environ, "BENCH_DB_PASSWORD": db.monitor_password,
                       "OPSPLAN_FAKE_NVML": str(four_gpus(workdir))}
                serves.append(subprocess.Popen(
                    [sys.executable, "-m", "opsplan", "--plan", str(plan), "--log-file", str(workdir / "serve.log"),
                     "serve"], stdout=subprocess.DEVNULL, env=env))
                hosts.append((data["server"]["name"], plan, f"http://127.0.0.1:{port}/"))
            for _, _, url in hosts:
                wait_http(url + "metrics")
            time.sleep(35)  # two 15 s cycles: every collector has reported, the jobs that start at once ran
            out = Path(tmp) / "export"
            done = subprocess.run([sys.executable, "-m", "opsplan", "fleet", "export", *(str(p) for _, p, _ in hosts),
                                   "--out", str(out), "--scrape-interval", "5s"], capture_output=True, text=True)
            if done.returncode:
                raise SystemExit(done.stdout + done.stderr)
            per_host = {name: series_lines(url + "metrics") for name, _, url in hosts}
            with node_exporter() as (_, node_url), prometheus(out / "prometheus/prometheus.yml", Path(tmp)) as prom:
                node_series, node_bytes = series_lines(node_url)
                names = {name for name, _, _ in hosts}
                wait_until(lambda: {r["metric"]["host"] for r in prometheus_value(prom, "opsplan:host_up")} == names,
                           60, "every host scraped")
                time.sleep(12)  # a few scrapes and rule evaluations
                stored = {r["metric"]["host"]: int(r["value"][1])
                          for r in prometheus_value(prom, 'count by (host) ({job="opsplan"})')}
                head = next(int(float(line.split()[1])) for line in httpx.get(prom + "metrics", timeout=10).text
                            .splitlines() if line.startswith("prometheus_tsdb_head_series "))
        finally:
            for proc in serves:
                proc.terminate()
                proc.wait(20)
            api.terminate()
    mean = sum(s for s, _ in per_host.values()) / len(per_host)
    result = {"hosts": args.hosts, "series_on_metrics": {k: v[0] for k, v in per_host.items()},
              "bytes_per_scrape": {k: v[1] for k, v in per_host.items()}, "series_in_prometheus": stored,
              "prometheus_head_series": head, "node_exporter_series": node_series,
              "node_exporter_bytes": node_bytes, "ratio_to_node_exporter": round(mean / node_series, 2),
              "samples_per_s_per_host_at_15s": round(mean / 15, 1)}
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
