"""Benchmark of a check report as PDF (issue 14 item 6): what `--format pdf` costs over the HTML it is
made from.

    PYTHONPATH=src .venv/bin/python bench/bench_report_pdf.py [--step 60] [--runs 5]

The default plan's daily check (what `opsplan init` writes: its items, thresholds, 4 GPUs) runs over
a metrics store filled with a day of samples every `--step` seconds for every series the daily
items read (CPU, memory, disks, GPUs, network, API, MariaDB), so the report has its figures and
its charts. Then, in alternating rounds, median of `--runs`, in Korean and in English:

- the anchor: the report rendered as self-contained HTML (`opsplan report export --format html`);
- the PDF: that HTML laid out and written by WeasyPrint with the Korean font (`opsplan/pdf.py`),
  the font check (`fc-list :lang=ko`) included, as each export and each console download pays it.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from opsplan import pdf
from opsplan.checks import runs
from opsplan.checks.report.render import to_html
from opsplan.metrics import sample
from opsplan.plan.models import Plan
from opsplan.store import MetricsStore
from opsplan.store.state import StateDB, default_url

END = 1_795_996_800.0  # 2026-11-30 09:00 KST: the default daily schedule's time


def fill(plan: Plan, step: float) -> None:
    """A day of every series the daily items read, with a disk past its threshold (a finding)."""
    with MetricsStore(Path(plan.data_dir) / "metrics", sync=False, clock=lambda: END) as store:
        start = END - 86400
        for index in range(int(86400 // step)):
            ts = start + index * step
            wave = (index % 120) / 120
            batch = [sample("opsplan_cpu_usage_ratio", 0.3 + 0.4 * wave),
                     sample("opsplan_memory_usage_ratio", 0.5 + 0.2 * wave),
                     sample("opsplan_disk_usage_ratio", 0.92, mountpoint="/data"),
                     sample("opsplan_disk_usage_ratio", 0.4, mountpoint="/"),
                     sample("opsplan_api_response_seconds", 0.2 + wave, quantile="0.95"),
                     sample("opsplan_api_error_ratio", 0.002 * wave),
                     sample("opsplan_api_requests_per_second", 40 + 30 * wave),
                     sample("opsplan_api_concurrent_users", 50 + 100 * wave),
                     sample("opsplan_mariadb_up", 1), sample("opsplan_mariadb_threads_connected", 12),
                     sample("opsplan_mariadb_slow_queries_total", index // 50),
                     sample("opsplan_gpu_count", 4), sample("opsplan_gpu_expected", 4)]
            for gpu in range(4):
                batch += [sample("opsplan_gpu_up", 1, gpu=str(gpu)),
                          sample("opsplan_gpu_utilization_ratio", 0.2 * gpu + 0.3 * wave, gpu=str(gpu)),
                          sample("opsplan_gpu_memory_usage_ratio", 0.5 + 0.1 * gpu, gpu=str(gpu)),
                          sample("opsplan_gpu_temperature_celsius", 55 + 5 * gpu, gpu=str(gpu))]
            for nic in ("eth0", "eth1"):
                batch += [sample("opsplan_network_up", 1, interface=nic),
                          sample("opsplan_network_receive_bytes_total", index * step * 2e8, interface=nic),
                          sample("opsplan_network_transmit_bytes_total", index * step * 1e8, interface=nic),
                          sample("opsplan_network_receive_errors_total", 0, interface=nic),
                          sample("opsplan_network_transmit_errors_total", 0, interface=nic)]
            store.append(ts, batch)


def _once(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", type=float, default=60.0, help="seconds between samples (default 60)")
    parser.add_argument("--runs", type=int, default=5, help="rounds, median taken (default 5)")
    args = parser.parse_args()
    if pdf.unavailable() is not None:
        print(f"bench_report_pdf: {pdf.unavailable()}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="bench-pdf-") as tmp:
        plan = Plan(data_dir=tmp)
        fill(plan, args.step)
        db = StateDB.open(default_url(plan.data_dir))
        store = runs.open_store(plan)  # as `opsplan check run` opens it
        try:
            outcome = runs.run_checks(plan, db, "daily", store=store, actor="bench", now=END + 60,
                                      clock=lambda: END + 60)
            run = runs.get_run(db, outcome.run_id)
        finally:
            if store is not None:
                store.close()
            db.close()
        charts = sum(len((item.get("result") or {}).get("charts", [])) for item in run["items"])
        statuses = " ".join(f"{item['item_id'] or 'manual'}={item['status']}" for item in run["items"])
        pdf.html_to_pdf(to_html(run, "ko", plan.timezone))  # warm: imports, fontconfig, the font files
        print(f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, "
              f"load {os.getloadavg()[0]:.1f}; font: {pdf.korean_font()}; default plan's daily report: "
              f"{len(run['items'])} items, {charts} charts; median of {args.runs}\n  {statuses}")
        for lang in ("ko", "en"):
            html = to_html(run, lang, plan.timezone)
            anchors, pdfs = [], []
            for _ in range(args.runs):  # alternating, so load from elsewhere falls on both
                anchors.append(_once(lambda lang=lang: to_html(run, lang, plan.timezone)))
                pdfs.append(_once(lambda html=html: pdf.html_to_pdf(html)))
            anchor, printed = statistics.median(anchors), statistics.median(pdfs)
            size = len(pdf.html_to_pdf(html))
            print(f"{lang}: anchor: report as HTML ({len(html) / 1000:4.0f} KB)  {anchor * 1000:8.1f} ms   x   1")
            print(f"{lang}: report as PDF   ({size / 1000:4.0f} KB)          {printed * 1000:8.1f} ms   x "
                  f"{printed / anchor:4.0f}")
        check = statistics.median(_once(pdf.korean_font) for _ in range(args.runs))
        print(f"of which the font check (fc-list :lang=ko)       {check * 1000:8.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
