"""Benchmark of the embedded metrics store, side by side with its anchors.

    .venv/bin/python bench/bench_store.py [--series 1000] [--hours 24] [--json out.json]

1. Size: `--hours` of 15-second cycles of `--series` series (a realistic mix, see `Mix`),
   compacted the way `opsplan serve` compacts them; bytes per sample on disk, against the
   ~1.3 B/sample Prometheus TSDB reaches (a published figure, not measured here). Run twice on
   the same samples: block format 1 (before shared cycle times) and format 2 (what serve writes).
2. Ingestion: the first `--ingest-cycles` cycles appended to a fresh store, and the same
   samples written to SQLite (executemany + commit per cycle, WAL journal), each with and without
   fsync per cycle; samples per second and the ratio.
3. Query: 30 days of `--query-series` series (15-second interval, maintained every hour of
   simulated time, so 14 days are raw and 16 are rollups); latency of one series over 30 days
   at a 5-minute step, warm and right after reopening; again block format 1 against format 2.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from opsplan.metrics import Sample
from opsplan.store import MetricsStore

T0 = 1_700_006_400.0  # midnight UTC, so day windows start at the first sample
INTERVAL = 15.0
PROMETHEUS_BYTES_PER_SAMPLE = 1.3


class Mix:
    """Series shaped like what opsplan's collectors emit.

    35% gauges rounded as collectors report them (percent to 0.1, temperatures and MiB to 1),
    25% counters (bytes, packets, seconds: irregular increments), 20% constant values (up,
    limits, info), 10% slowly moving integer gauges (process counts, queue lengths) and 10%
    full-precision floats (ratios computed from two counters), the hard case for any codec.
    """

    def __init__(self, n: int, seed: int = 1):
        self.rng = np.random.default_rng(seed)
        kinds = np.array(["gauge"] * 35 + ["counter"] * 25 + ["const"] * 20 + ["step"] * 10 + ["float"] * 10)
        self.kind = kinds[np.arange(n) % kinds.size]
        self.keys = [
            (f"opsplan_bench_{k}", (("host", "ai-01"), ("idx", str(i)))) for i, k in enumerate(self.kind)
        ]
        self.level = self.rng.uniform(5, 90, n)
        self.counter = self.rng.uniform(0, 1e9, n).round()
        self.rate = self.rng.uniform(10, 1e6, n)
        self.const = self.rng.integers(0, 64, n).astype(float)
        self.step = self.rng.integers(0, 300, n).astype(float)
        self.is_ = {k: self.kind == k for k in ("gauge", "counter", "const", "step", "float")}

    def cycle(self) -> np.ndarray:
        n = self.kind.size
        self.level = np.clip(self.level + self.rng.normal(0, 1.5, n), 0, 100)
        self.counter += np.floor(self.rate * self.rng.uniform(0.5, 1.5, n) * INTERVAL)
        self.step += np.where(self.rng.random(n) < 0.05, self.rng.integers(-3, 4, n), 0)
        v = np.empty(n)
        gauge = self.is_["gauge"]
        v[gauge] = np.where(np.arange(n)[gauge] % 2 == 0, self.level[gauge].round(1), self.level[gauge].round())
        v[self.is_["counter"]] = self.counter[self.is_["counter"]]
        v[self.is_["const"]] = self.const[self.is_["const"]]
        v[self.is_["step"]] = self.step[self.is_["step"]]
        v[self.is_["float"]] = self.level[self.is_["float"]] / 97.0
        return v

    def samples(self, values: np.ndarray) -> list[Sample]:
        return [Sample(name, v, labels) for (name, labels), v in zip(self.keys, values.tolist(), strict=True)]


# How late a cycle's time.time() is against the 15 s schedule, in ms; set by --jitter-ms.
CONFIG = {"jitter_ms": 20}


def timestamps(cycles: int, seed: int = 2) -> Iterator[float]:
    jitter = np.random.default_rng(seed).integers(0, CONFIG["jitter_ms"] + 1, cycles) / 1000.0
    for c in range(cycles):
        yield T0 + c * INTERVAL + float(jitter[c])


FORMATS = (1, 2)  # block format 1 (the anchor: before this change) and 2 (what serve writes)


def bench_size(workdir: Path, series: int, hours: float, fmt: int) -> dict:
    d = workdir / f"size-{fmt}"
    cycles = int(hours * 3600 / INTERVAL)
    mix = Mix(series)
    clock = [T0]
    st = MetricsStore(d, clock=lambda: clock[0], sync=False, block_format=fmt)
    append_s = maintain_s = 0.0
    for c, ts in enumerate(timestamps(cycles)):
        batch = mix.samples(mix.cycle())
        t = time.perf_counter()
        st.append(ts, batch)
        append_s += time.perf_counter() - t
        if (c + 1) % 240 == 0:  # an hour of simulated time
            clock[0] = ts
            t = time.process_time()  # CPU time: wall time on a shared machine swings with other load
            st.maintain()
            maintain_s += time.process_time() - t
    clock[0] = T0 + cycles * INTERVAL + 86400  # the last day window is over: merged into day blocks
    t = time.process_time()
    st.maintain()
    maintain_s += time.process_time() - t
    stats = st.stats()
    per_kind = {}
    for b in st.blocks:
        for row in b.table:
            k = str(mix.kind[int(row["sid"])])
            acc = per_kind.setdefault(k, [0, 0])
            acc[0] += int(row["raw_len"])
            acc[1] += int(row["count"])
    # Raw retention over: the day's raw samples give way to rollups (format 2 builds them now).
    clock[0] = T0 + cycles * INTERVAL + st.raw_retention_ms / 1000 + 86400
    t = time.process_time()
    st.maintain()
    expire_s = time.process_time() - t
    rolled_bytes = sum(p.stat().st_size for p in (d / "blocks").iterdir())
    st.close()
    samples = stats["samples"]
    return {
        "block_format": fmt,
        "series": series,
        "hours": hours,
        "timestamp_jitter_ms": CONFIG["jitter_ms"],
        "samples": samples,
        "bytes_on_disk": stats["bytes_on_disk"],
        "bytes_per_sample": stats["bytes_on_disk"] / samples,
        "raw_bytes_per_sample": stats["raw_bytes_per_sample"],
        "raw_bytes_per_sample_by_kind": {k: b / n for k, (b, n) in sorted(per_kind.items())},
        "prometheus_bytes_per_sample": PROMETHEUS_BYTES_PER_SAMPLE,
        "compaction_samples_per_s": samples / maintain_s,
        "raw_expiry_samples_per_s": samples / expire_s,
        "rollup_bytes_per_sample_after_raw_expiry": rolled_bytes / samples,
        "append_samples_per_s_during_size_run": samples / append_s,
    }


def bench_ingest(workdir: Path, series: int, cycles: int, sync: bool) -> dict:
    mix = Mix(series, seed=3)
    batches = [(ts, mix.cycle()) for ts in timestamps(cycles)]
    samples = cycles * series

    d = workdir / f"ingest-{sync}"
    st = MetricsStore(d, clock=lambda: T0, sync=sync)
    spent = 0.0
    for ts, values in batches:
        batch = mix.samples(values)  # building Sample objects is the collectors' cost, not ours
        t = time.perf_counter()
        st.append(ts, batch)
        spent += time.perf_counter() - t
    st.close()
    ours = samples / spent
    wal_bytes = sum(p.stat().st_size for p in d.rglob("*") if p.is_file())

    db = workdir / f"ingest-{sync}.sqlite"
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute(f"PRAGMA synchronous={'FULL' if sync else 'OFF'}")
    con.execute("CREATE TABLE series (id INTEGER PRIMARY KEY, name TEXT, labels TEXT)")
    con.execute("CREATE TABLE samples (series INTEGER, ts INTEGER, value REAL)")
    ids: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}
    spent = 0.0
    for ts, values in batches:
        batch = mix.samples(values)
        t = time.perf_counter()
        rows = []
        ms = int(ts * 1000)
        for s in batch:
            sid = ids.get((s.name, s.labels))
            if sid is None:
                sid = ids[(s.name, s.labels)] = len(ids)
                con.execute("INSERT INTO series VALUES (?, ?, ?)", (sid, s.name, json.dumps(s.labels)))
            rows.append((sid, ms, s.value))
        con.executemany("INSERT INTO samples VALUES (?, ?, ?)", rows)
        con.commit()
        spent += time.perf_counter() - t
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    sqlite_rate = samples / spent
    return {
        "sync": sync,
        "cycles": cycles,
        "series_per_cycle": series,
        "samples_per_s": ours,
        "sqlite_samples_per_s": sqlite_rate,
        "ratio_vs_sqlite": ours / sqlite_rate,
        "wal_bytes_per_sample": wal_bytes / samples,
        "sqlite_bytes_per_sample": db.stat().st_size / samples,
    }


def bench_query(workdir: Path, series: int, days: int, repeats: int, fmt: int) -> dict:
    d = workdir / f"query-{fmt}"
    clock = [T0]
    st = MetricsStore(d, clock=lambda: clock[0], sync=False, block_format=fmt)
    rng = np.random.default_rng(4)
    keys = [(("host", "ai-01"), ("idx", str(i))) for i in range(series)]
    cycles = int(days * 86400 / INTERVAL)
    level = rng.uniform(10, 90, series)
    t_build = time.perf_counter()
    for c in range(cycles):
        level = np.clip(level + rng.normal(0, 1.5, series), 0, 100)
        ts = T0 + c * INTERVAL
        st.append(ts, [Sample("gpu_util", v, k) for k, v in zip(keys, level.round(1).tolist(), strict=True)])
        if (c + 1) % 240 == 0:
            clock[0] = ts
            st.maintain()
    build_s = time.perf_counter() - t_build
    end = T0 + cycles * INTERVAL
    start = end - 30 * 86400
    layout = {"blocks": len(st.blocks), "raw_blocks": sum(b.has_raw for b in st.blocks)}

    cpu: list[float] = []

    def once(store: MetricsStore) -> tuple[float, int]:
        t, c = time.perf_counter(), time.process_time()
        res = store.query("gpu_util", {"idx": str(series // 2)}, start, end, 300)
        cpu.append((time.process_time() - c) * 1000)  # less swayed than wall time by other load
        return (time.perf_counter() - t) * 1000, len(res[0].points)

    warm = [once(st)[0] for _ in range(repeats)]
    cpu_median = statistics.median(cpu)
    st.close()
    opens, colds = [], []
    for _ in range(5):
        t = time.perf_counter()
        st = MetricsStore(d, clock=lambda: clock[0], sync=False, block_format=fmt)
        opens.append((time.perf_counter() - t) * 1000)
        cold_ms, points = once(st)
        colds.append(cold_ms)
        st.close()
    open_ms, cold_ms = statistics.median(opens), statistics.median(colds)
    return {
        "block_format": fmt,
        "series": series,
        "days_stored": days,
        "build_s": build_s,
        **layout,
        "points": points,
        "query_ms_median": statistics.median(warm),
        "query_ms_p95": sorted(warm)[int(0.95 * (len(warm) - 1))],
        "query_cpu_ms_median": cpu_median,
        "query_ms_first_after_open": cold_ms,
        "open_ms": open_ms,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--series", type=int, default=1000)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--ingest-cycles", type=int, default=480)
    ap.add_argument("--query-series", type=int, default=20)
    ap.add_argument("--query-days", type=int, default=31)
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--jitter-ms", type=int, default=CONFIG["jitter_ms"], help="random lateness of cycle timestamps")
    ap.add_argument("--dir", type=Path, help="work directory (default: a temporary one, removed after)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    CONFIG["jitter_ms"] = args.jitter_ms
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="bench_store-"))
    try:
        sizes = {f: bench_size(workdir, args.series, args.hours, f) for f in FORMATS}
        ingest = [bench_ingest(workdir, args.series, args.ingest_cycles, sync) for sync in (False, True)]
        queries = {f: bench_query(workdir, args.query_series, args.query_days, args.repeats, f) for f in FORMATS}
    finally:
        if args.dir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    result = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "size": sizes[2],
        "size_format_1": sizes[1],
        "ingest": ingest,
        "query": queries[2],
        "query_format_1": queries[1],
    }
    size, query = sizes[2], queries[2]
    print(f"{'measure':<52} {'format 2':>14} {'format 1':>14} {'ratio':>8}")

    def row(label: str, key: str, fmt: str, part: dict[int, dict]) -> None:
        new, old = part[2][key], part[1][key]
        print(f"{label:<52} {new:>14{fmt}} {old:>14{fmt}} {new / old:>8.2f}")

    row("bytes/sample on disk after compaction", "bytes_per_sample", ".2f", sizes)
    print(
        f"{'  against Prometheus TSDB (published)':<52} {size['bytes_per_sample']:>14.2f} "
        f"{PROMETHEUS_BYTES_PER_SAMPLE:>14.2f} {size['bytes_per_sample'] / PROMETHEUS_BYTES_PER_SAMPLE:>8.2f}"
    )
    row("  raw chunks only (rollups, index excluded)", "raw_bytes_per_sample", ".2f", sizes)
    for kind, b in size["raw_bytes_per_sample_by_kind"].items():
        old = sizes[1]["raw_bytes_per_sample_by_kind"][kind]
        print(f"{'    ' + kind:<52} {b:>14.2f} {old:>14.2f} {b / old:>8.2f}")
    row("compaction samples per CPU-second (maintain)", "compaction_samples_per_s", ",.0f", sizes)
    row("raw expiry samples per CPU-second (raw to rollups)", "raw_expiry_samples_per_s", ",.0f", sizes)
    row("rollup bytes/sample once raw has expired", "rollup_bytes_per_sample_after_raw_expiry", ".3f", sizes)
    for r in ingest:
        label = f"ingest samples/s, {r['series_per_cycle']}/cycle, fsync={'on' if r['sync'] else 'off'} (vs sqlite)"
        ours, anchor, ratio = r["samples_per_s"], r["sqlite_samples_per_s"], r["ratio_vs_sqlite"]
        print(f"{label:<52} {ours:>14,.0f} {anchor:>14,.0f} {ratio:>8.2f}")
    row("30-day query, 1 series, 5-min step: median ms", "query_ms_median", ".2f", queries)
    row("  p95 ms", "query_ms_p95", ".2f", queries)
    row("  CPU ms (process time), median", "query_cpu_ms_median", ".2f", queries)
    row("  first query after reopening (median of 5), ms", "query_ms_first_after_open", ".2f", queries)
    print(f"{'  (blocks in store, of which raw)':<52} {query['blocks']:>9} ({query['raw_blocks']})")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
