"""CLI start-up: wall time of whole `opsplan` processes (issue 10 item 7: `--help` <= 0.2 s).

    .venv/bin/python bench/bench_cli.py [--runs 15] [--json cli.json] [--before OLD_SRC]

Each command is a fresh process of this interpreter running `-m opsplan` from this checkout (what
the `opsplan` script does), timed from start to exit, its output thrown away. The commands run in
rounds, one of each per round in the same order, so every command sees the same machine noise;
the figure is the median over the rounds.

Anchors, in the same rounds: `python -c pass` (the interpreter's own start-up, which no command
can go under) and `python -m pip --version` (a well-known Python CLI that imports a sizeable
package). Ratios are to the bare interpreter. With `--before DIR` (another checkout's `src`, e.g. from
`git archive`), the same opsplan commands from that tree run in the same rounds, marked `before:`.

The listing commands read a plan written by `opsplan init --lang en` (the defaults) with one
change: `data_dir` points into a temporary directory, as an unprivileged user cannot write
/var/lib/opsplan; the state database is created (migrated) by one run before the rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def wall(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode()[-500:]}")
    return elapsed


def commands(plan: Path, before: Path | None) -> dict[str, tuple[list[str], Path]]:
    """name -> (argv, the src tree it runs from)."""
    py = sys.executable
    todo = {"anchor: python -c pass": ([py, "-c", "pass"], SRC),
            "anchor: python -m pip --version": ([py, "-m", "pip", "--version"], SRC)}
    opsplan = [py, "-m", "opsplan"]
    listing = [*opsplan, "--plan", str(plan)]
    mine = {
        "opsplan --help": [*opsplan, "--help"],
        "opsplan backup --help": [*opsplan, "backup", "--help"],
        "opsplan alerts list --help": [*opsplan, "alerts", "list", "--help"],
        "opsplan backup list": [*listing, "backup", "list"],
        "opsplan alerts list": [*listing, "alerts", "list"],
        "opsplan runbook list": [*listing, "runbook", "list"],
    }
    for name, argv in mine.items():
        todo[name] = (argv, SRC)
        if before is not None:
            todo[f"before: {name.removeprefix('opsplan ')}"] = (argv, before)
    return todo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="rounds (each runs every command once)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--before", type=Path, help="another src tree to time side by side (its opsplan package)")
    args = parser.parse_args()

    env = {**os.environ, "COLUMNS": "100"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)

    def env_for(src: Path) -> dict[str, str]:
        return {**env, "PYTHONPATH": str(src.resolve())}

    with tempfile.TemporaryDirectory(prefix="opsplan-bench-cli-") as tmp:
        work = Path(tmp)
        plan = work / "opsplan.yaml"
        subprocess.run([sys.executable, "-m", "opsplan", "init", "--lang", "en", str(plan)], env=env_for(SRC), cwd=work,
                       check=True, stdout=subprocess.DEVNULL)
        text = plan.read_text(encoding="utf-8")
        plan.write_text(text.replace("data_dir: /var/lib/opsplan", f"data_dir: {work / 'data'}", 1), encoding="utf-8")
        todo = commands(plan, args.before)
        for argv, src in todo.values():  # warm-up: byte-code caches, the state database's first migration
            wall(argv, env_for(src), work)
        times: dict[str, list[float]] = {name: [] for name in todo}
        for _ in range(args.runs):
            for name, (argv, src) in todo.items():
                times[name].append(wall(argv, env_for(src), work))

    base = statistics.median(times["anchor: python -c pass"])
    results = {name: {"median_s": statistics.median(t), "min_s": min(t), "max_s": max(t),
                      "ratio_to_python": statistics.median(t) / base} for name, t in times.items()}
    print(f"{'command':34} {'median s':>9} {'min':>7} {'max':>7} {'x python':>9}")
    for name, r in results.items():
        print(f"{name:34} {r['median_s']:9.3f} {r['min_s']:7.3f} {r['max_s']:7.3f} {r['ratio_to_python']:8.1f}x")
    if args.json:
        args.json.write_text(json.dumps({"runs": args.runs, "python": platform.python_version(),
                                         "cpus": os.cpu_count(), "results": results}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
