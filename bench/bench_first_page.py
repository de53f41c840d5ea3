"""Time from a threshold crossed to the on-call primary's first page, against the alert path alone
(the anchor: the ApiDown notification on a webhook channel, bench_alert_latency.py's embedded path),
both measured in the same round of the same `opsplan serve`.

The plan is the one `opsplan init` writes (collection every 15s, the default escalation: a critical
incident pages the primary at once, at any hour) plus one on-call person reached through an own
apprise URL and one alert channel, both json:// to one loopback receiver that stamps each arrival.
Each round one stand-in service starts failing; ApiDown fires, the alert notice goes to the channel
and the critical incident it opens pages the primary. The round records both arrivals, then
acknowledges the incident (`opsplan incident ack`), lets the service recover and waits for the alert
to resolve. Rounds start at random offsets against the collection timer.

Issue 13's target: the first page at most 1 s after the alert path's notification.

    .venv/bin/python bench/bench_first_page.py [--rounds 5] [--interval 15s] [--for 10s] [--json out.json]

`--for` shifts both paths alike (the page follows the incident, which follows the firing).
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
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from opsplan.plan.types import parse_duration  # noqa: E402
from prometheus_stack import controllable_service  # noqa: E402
from serve_process import OPSPLAN, start_serve, wait_for_cycles  # noqa: E402
from yaml_writer import four_gpus, free_port, write_plan  # noqa: E402

ALERT_ENV, PAGE_ENV = "OPSPLAN_BENCH_ALERT_URL", "OPSPLAN_BENCH_PAGE_URL"
TARGET_S = 1.0


class Arrivals:
    """A loopback receiver that stamps each post on arrival: (time, path, body)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.posts: list[tuple[float, str, dict]] = []
        self.port = 0

    def first(self, path: str, *words: str, since: int) -> float | None:
        with self.lock:
            for at, where, body in self.posts[since:]:
                text = json.dumps(body, ensure_ascii=False)
                if where.startswith(path) and body.get("type") != "success" and all(w in text for w in words):
                    return at  # the first post there naming all `words` that is not a resolved notice
        return None


@contextmanager
def arrivals() -> Iterator[Arrivals]:
    found = Arrivals()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            stamp = time.time()
            with found.lock:
                found.posts.append((stamp, self.path, json.loads(body or b"{}")))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    found.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield found
    finally:
        server.shutdown()
        server.server_close()


def _cli(plan: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*OPSPLAN, "--plan", str(plan), *args], capture_output=True, text=True, timeout=120,
                          check=False)


def _run_round(service, name: str, found: Arrivals, plan: Path, serve_url: str, timeout: float) -> dict:
    with found.lock:
        since = len(found.posts)
    service.status = 500
    crossed = time.time()
    alert = page = None
    deadline = crossed + timeout
    while time.time() < deadline and (alert is None or page is None):
        alert = alert or found.first("/alert", "ApiDown", name, since=since)
        page = page or found.first("/page", "Page: incident", name, since=since)
        time.sleep(0.05)
    # Stop the escalation and let the alert resolve before the next round.
    for incident in json.loads(_cli(plan, "incident", "list", "--json").stdout or "{}").get("incidents", []):
        if incident["status"] == "triggered":
            _cli(plan, "incident", "ack", str(incident["id"]), "--by", "bench")
    service.status = 200
    quiet = time.time() + timeout
    while time.time() < quiet and name in httpx.get(serve_url + "api/v1/alerts", timeout=5).text:
        time.sleep(0.5)
    return {"alert_s": None if alert is None else alert - crossed,
            "page_s": None if page is None else page - crossed,
            "page_after_alert_s": None if alert is None or page is None else page - alert}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--interval", default="15s", help="the collection interval (`opsplan init` writes 15s)")
    parser.add_argument("--for", dest="for_", default="10s", help="ApiDown's duration")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    interval, for_s = parse_duration(args.interval), parse_duration(args.for_)
    timeout = 3 * (interval + for_s) + 30

    with tempfile.TemporaryDirectory(prefix="bench-page-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        services = [stack.enter_context(controllable_service()) for _ in range(args.rounds)]
        found = stack.enter_context(arrivals())
        plan = write_plan(work, {
            "language": "en",
            "monitoring": {"interval": args.interval, "alerts": {
                "api_down": {"for": args.for_}, "mariadb_down": {"enabled": False},
                "collector_down": {"enabled": False}}},
            "services": [{"name": f"bench-api-{i + 1}", "group": "app", "url": service.url, "timeout": "1s"}
                         for i, service in enumerate(services)],
            "database": {"port": free_port(), "connect_timeout": "1s"},
            "notifications": {"critical_repeat": "1h", "channels": [
                {"name": "alerts", "kind": "webhook", "url_env": ALERT_ENV, "severities": ["critical"]}]},
            "oncall": {"people": [{"name": "kim", "url_env": PAGE_ENV}], "rotation": {"people": ["kim"]}},
        })
        env = {"OPSPLAN_FAKE_NVML": str(four_gpus(work)),
               ALERT_ENV: f"json://127.0.0.1:{found.port}/alert", PAGE_ENV: f"json://127.0.0.1:{found.port}/page"}
        proc, serve_url = start_serve(plan, env=env)
        stack.callback(proc.wait, 15)
        stack.callback(proc.terminate)
        wait_for_cycles(serve_url, 2, timeout=3 * interval + 10)
        rounds = []
        for i in range(args.rounds):
            time.sleep(random.uniform(0, interval))
            result = _run_round(services[i], f"bench-api-{i + 1}", found, plan, serve_url, timeout)
            rounds.append(result)
            print(f"round {i + 1}: alert {_fmt(result['alert_s'])}  page {_fmt(result['page_s'])}  "
                  f"page after alert {_fmt(result['page_after_alert_s'], 3)}", flush=True)

    pairs = [r for r in rounds if r["page_after_alert_s"] is not None]
    summary: dict = {"interval_s": interval, "for_s": for_s, "target_page_after_alert_s": TARGET_S,
                     "rounds": rounds, "measured": len(pairs)}
    if pairs:
        diffs = [r["page_after_alert_s"] for r in pairs]
        summary.update({
            "alert_median_s": statistics.median(r["alert_s"] for r in pairs),
            "page_median_s": statistics.median(r["page_s"] for r in pairs),
            "page_after_alert_median_s": statistics.median(diffs), "page_after_alert_max_s": max(diffs),
            "ratio_median": statistics.median(r["page_s"] / r["alert_s"] for r in pairs),
        })
    print(json.dumps(summary, indent=2))
    if pairs:
        verdict = "meets" if summary["page_after_alert_max_s"] <= TARGET_S else "misses"
        print(f"first page worst {summary['page_after_alert_max_s']:.3f}s after the alert's notification: "
              f"{verdict} the target {TARGET_S:g}s")
    else:
        print("missing: no round saw both the alert notification and the page")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return 0 if pairs else 1


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}s"


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
