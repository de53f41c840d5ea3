"""Time from a threshold crossed to a notification delivered: opsplan's embedded path against the
exported Prometheus + Alertmanager path, side by side in one run.

One `opsplan serve` watches one stand-in service. The same plan drives both paths:
  embedded:   serve's alert engine -> notifier outbox -> webhook channel (apprise json://)
  exported:   real Prometheus (scrape/eval from the plan) -> real Alertmanager (group_wait 30s) -> webhook
Each round the service starts failing (the ApiDown threshold is crossed at that instant), and the
script records when each path's notification reaches one receiver; then the service recovers and
both paths are let go quiet before the next round. Rounds start at random offsets, so the phase of
the collection/scrape/evaluation timers against the failure varies as it does in life.

Target: the embedded path within one collection interval + the rule's duration + 1 s.

    .venv/bin/python bench/bench_alert_latency.py [--rounds 3] [--interval 15s] [--for 10s] [--json out.json]

Prometheus and Alertmanager run with their defaults (scrape 15s, evaluation 15s, group_wait 30s,
group_interval 5m) unless --prom-interval / --group-wait say otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from opsplan.plan.types import parse_duration  # noqa: E402
from prometheus_stack import alertmanager, controllable_service, prometheus, webhook_receiver  # noqa: E402
from serve_process import OPSPLAN, start_serve, wait_for_cycles  # noqa: E402
from yaml_writer import four_gpus, free_port, write_plan  # noqa: E402

WEBHOOK_ENV = "OPSPLAN_BENCH_WEBHOOK_URL"


def _is_prometheus_firing(body: dict[str, Any], name: str) -> bool:
    return any(a.get("labels", {}).get("alertname") == "ApiDown" and a.get("status") == "firing"
               and a.get("labels", {}).get("service") == name for a in body.get("alerts", []))


def _is_embedded_firing(body: dict[str, Any], name: str) -> bool:
    text = json.dumps(body, ensure_ascii=False)
    return "ApiDown" in text and name in text and "resolved" not in text.lower()


def _run_round(service: Any, name: str, receiver: Any, serve_url: str, am_url: str, timeout: float,
               embedded_expected: bool) -> dict[str, float | None]:
    start_index = len(receiver.bodies)
    service.status = 500
    crossed = time.time()
    got: dict[str, float | None] = {"embedded": None, "exported": None}
    deadline = crossed + timeout
    seen = start_index
    while time.time() < deadline and (got["exported"] is None or (embedded_expected and got["embedded"] is None)):
        with receiver.lock:
            fresh = list(zip(receiver.bodies[seen:], receiver.paths[seen:], strict=True))
            seen = len(receiver.bodies)
        now = time.time()
        for body, path in fresh:
            if path.startswith("/exported") and got["exported"] is None and _is_prometheus_firing(body, name):
                got["exported"] = now - crossed
            if path.startswith("/embedded") and got["embedded"] is None and _is_embedded_firing(body, name):
                got["embedded"] = now - crossed
        time.sleep(0.05)
    service.status = 200
    # Let both paths go quiet: Alertmanager holds no ApiDown, opsplan lists none firing.
    quiet_deadline = time.time() + timeout
    while time.time() < quiet_deadline:
        held = httpx.get(am_url + "api/v2/alerts", params={"filter": 'alertname="ApiDown"', "active": "true"},
                         timeout=5).json()
        own = httpx.get(serve_url + "api/v1/alerts", timeout=5)
        if not held and (own.status_code == 404 or "ApiDown" not in own.text):
            break
        time.sleep(0.5)
    return got


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--interval", default="15s", help="opsplan's collection interval (the plan's default)")
    parser.add_argument("--for", dest="for_", default="10s", help="ApiDown's duration, the same for both paths")
    parser.add_argument("--prom-interval", default="15s", help="Prometheus scrape and evaluation interval")
    parser.add_argument("--group-wait", default="30s", help="Alertmanager group_wait")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    interval, for_s = parse_duration(args.interval), parse_duration(args.for_)
    target = interval + for_s + 1
    timeout = max(180.0, 3 * (parse_duration(args.prom_interval) * 3 + parse_duration(args.group_wait) + for_s))

    with tempfile.TemporaryDirectory(prefix="bench-alert-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        # One service per round: a new Alertmanager group each time, as a first failure is (a group
        # that resolved less than group_interval ago would batch the next firing on that interval).
        services = [stack.enter_context(controllable_service()) for _ in range(args.rounds)]
        receiver = stack.enter_context(webhook_receiver())
        plan = write_plan(work, {
            "language": "en",
            "monitoring": {"interval": args.interval, "alerts": {
                "api_down": {"for": args.for_}, "mariadb_down": {"enabled": False},
                "collector_down": {"enabled": False}}},
            "services": [{"name": f"bench-api-{i + 1}", "group": "app", "url": service.url, "timeout": "1s"}
                         for i, service in enumerate(services)],
            "database": {"port": free_port(), "connect_timeout": "1s"},
            "notifications": {"critical_repeat": "1h", "channels": [
                {"name": "bench", "kind": "webhook", "url_env": WEBHOOK_ENV, "severities": ["critical"]}]},
        })
        apprise_url = "json://" + receiver.url.removeprefix("http://") + "embedded"
        proc, serve_url = start_serve(plan, env={"OPSPLAN_FAKE_NVML": str(four_gpus(work)), WEBHOOK_ENV: apprise_url})
        stack.callback(proc.wait, 15)
        stack.callback(proc.terminate)
        wait_for_cycles(serve_url, 1, timeout=3 * interval + 10)
        am_port = free_port()
        out = work / "export"
        export = [*OPSPLAN, "--plan", str(plan), "export", "--out", str(out), "--opsplan-url", serve_url,
                  "--alertmanager-url", f"http://127.0.0.1:{am_port}", "--webhook-url", receiver.url + "exported",
                  "--scrape-interval", args.prom_interval, "--group-wait", args.group_wait]
        subprocess.run(export, check=True, capture_output=True, text=True)
        am = stack.enter_context(alertmanager(out / "alertmanager/alertmanager.yml", work, port=am_port))
        stack.enter_context(prometheus(out / "prometheus/prometheus.yml", work))

        own = httpx.get(serve_url + "api/v1/alerts", timeout=5)
        engine_wired = own.status_code != 404
        missing: list[str] = []
        if not engine_wired:
            missing.append("`opsplan serve` has no alert engine wired (GET /api/v1/alerts is 404)")
        # Let Prometheus take a few scrapes of the healthy service first.
        time.sleep(2 * parse_duration(args.prom_interval))
        rounds: list[dict[str, float | None]] = []
        for i in range(args.rounds):
            time.sleep(random.uniform(0, interval))
            result = _run_round(services[i], f"bench-api-{i + 1}", receiver, serve_url, am, timeout,
                                embedded_expected=engine_wired)
            rounds.append(result)
            print(f"round {i + 1}: embedded {_fmt(result['embedded'])}  exported {_fmt(result['exported'])}",
                  flush=True)
        if engine_wired and not any(r["embedded"] for r in rounds):
            missing.append("the engine is wired but no notification reached the webhook channel "
                           "(notifier/outbox not wired into serve?)")

    summary = {"interval_s": interval, "for_s": for_s, "target_embedded_s": target,
               "prometheus": {"scrape_interval": args.prom_interval, "evaluation_interval": args.prom_interval,
                              "group_wait": args.group_wait},
               "rounds": rounds, "missing": missing}
    worst: dict[str, float | None] = {}
    for path in ("embedded", "exported"):
        values = [v for r in rounds if (v := r[path]) is not None]
        worst[path] = max(values) if values else None
        summary[path] = {"median_s": statistics.median(values) if values else None,
                         "max_s": worst[path], "delivered": len(values)}
    print(json.dumps(summary, indent=2))
    embedded_max = worst["embedded"]
    if embedded_max is not None:
        verdict = "meets" if embedded_max <= target else "misses"
        print(f"embedded worst {embedded_max:.1f}s {verdict} the target {target:.0f}s "
              f"(interval {interval:g}s + for {for_s:g}s + 1s)")
    for line in missing:
        print(f"missing: {line}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return 0


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
