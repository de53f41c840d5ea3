"""The weekly log analysis' mining speed (issue 14: target >= 50,000 lines/s with masking on).

    .venv/bin/python bench/bench_logs.py [--lines 1000000] [--json out.json]

A generated log of `--lines` lines (MariaDB error-log, access-log and syslog shapes, with numbers,
IPs, UUIDs, hex, timestamps, e-mails and a password=... now and then; ~40 shapes, a few rare ones)
is written to a temporary file once. Then, in the same run:
- ours: opsplan.checks.logs.analyse over the file (reading, secret masking, Drain3's masking config
  with the masks of checks/logs.py, mining, and saving the 0600 state file);
- anchor: Drain3's own default TemplateMiner (no masking, no persistence) fed the same lines
  read from the same file, `add_log_message` per line.
Each is timed by wall clock (time.perf_counter) and CPU (time.process_time); lines/s is lines over
wall time. The template counts are printed too: without masking the anchor makes many more.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

from drain3 import TemplateMiner
from drain3.template_miner_config import TemplateMinerConfig

from opsplan.checks.logs import analyse


def shapes(rng: random.Random) -> list[str]:
    """One line of each kind, numbers and addresses drawn fresh each time."""
    ip = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    n = rng.randint(1, 99999)
    ts = f"2026-11-{rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
    uuid = (f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-{rng.getrandbits(16):04x}-"
            f"{rng.getrandbits(16):04x}-{rng.getrandbits(48):012x}")
    return [
        f"{ts} {n} [Note] Aborted connection {n} to db: 'app' user: 'api' host: '{ip}' (Got timeout reading "
        "communication packets)",
        f"{ts} 0 [Note] InnoDB: Buffer pool(s) load completed at {ts}",
        f"{ts} {n} [Warning] Access denied for user 'api'@'{ip}' (using password: YES)",
        f"{ts} 0 [Note] InnoDB: page_cleaner: 1000ms intended loop took {n}ms",
        f'{ip} - - [23/Nov/2026:10:{rng.randint(10, 59)}:01 +0900] "GET /v1/models/{n} HTTP/1.1" 200 '
        f'{rng.randint(100, 9000)} "-" "python-httpx/0.27"',
        f'{ip} - - [23/Nov/2026:10:{rng.randint(10, 59)}:02 +0900] "POST /v1/chat/completions HTTP/1.1" '
        f'{rng.choice((200, 200, 200, 429, 500))} {rng.randint(100, 9000)} "-" "openai/1.40"',
        f"Nov {rng.randint(1, 28)} 10:0{rng.randint(0, 9)}:11 ai-server-01 sshd[{n}]: Accepted publickey for ops "
        f"from {ip} port {rng.randint(1024, 65535)} ssh2",
        f"Nov {rng.randint(1, 28)} 10:00:12 ai-server-01 kernel: NVRM: Xid (PCI:0000:0{rng.randint(1, 4)}:00): "
        f"{rng.choice((13, 31, 43))}, pid={n}, name=python3",
        f"{ts} INFO request {uuid} done in {rng.random():.3f}s tokens={n}",
        f"{ts} INFO user {rng.randint(1, 500)}@example.com logged in from {ip}",
        f"{ts} ERROR upstream 0x{rng.getrandbits(32):08x} failed: connection refused (attempt {rng.randint(1, 5)})",
        f"{ts} DEBUG cache hit key={rng.getrandbits(64):016x} size={n}",
        f"{ts} INFO connecting to mysql://api:{rng.getrandbits(40):010x}@127.0.0.1:3306/app",
    ]


def generate(path: Path, lines: int, seed: int = 14) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as out:
        for i in range(lines):
            out.write(rng.choice(shapes(rng)[:-1]) + "\n")
            if i % 1000 == 999:  # a secret in a URL now and then: masked before mining
                out.write(shapes(rng)[-1] + "\n")
            if i % 50_000 == 49_999:  # a rare one now and then
                out.write(f"2026-11-23 10:00:00 0 [ERROR] InnoDB: Corruption of page {i} detected\n")


def run_ours(path: Path, state_dir: Path) -> dict[str, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = analyse("bench", state_dir, path=path)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"lines": result.lines, "wall_s": wall, "cpu_s": cpu, "lines_per_s": result.lines / wall,
            "templates": len(result.templates)}


def run_anchor(path: Path) -> dict[str, float]:
    miner = TemplateMiner(None, TemplateMinerConfig())  # Drain3's defaults: no masking
    count = 0
    wall, cpu = time.perf_counter(), time.process_time()
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            miner.add_log_message(line.rstrip("\n"))
            count += 1
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"lines": count, "wall_s": wall, "cpu_s": cpu, "lines_per_s": count / wall,
            "templates": len(miner.drain.clusters)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "generated.log"
        generate(log, args.lines)
        ours = run_ours(log, Path(tmp) / "state")
        anchor = run_anchor(log)
    report = {"python": sys.version.split()[0], "machine": platform.machine(), "ours": ours, "anchor": anchor}
    for name, row in (("ours (masked)", ours), ("drain3 default (anchor)", anchor)):
        print(f"{name:26} {row['lines']:>9,.0f} lines  {row['wall_s']:7.2f} s wall  {row['cpu_s']:7.2f} s cpu  "
              f"{row['lines_per_s']:>9,.0f} lines/s  {row['templates']:>7,.0f} templates")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
