"""What choosing the command line's language costs at start-up (issue 10 item 12).

    .venv/bin/python bench/bench_cli_language.py [--runs 15] [--json out.json]

--help texts are fixed when typer builds the app, so the language is chosen at import: OPSPLAN_LANG,
else a cheap read of the `language:` key of the plan in the working directory (no YAML parser).
Measured side by side, interleaved, in one run, on the plan `opsplan init` writes (Korean, the default):
  * anchor: `opsplan --help` with OPSPLAN_LANG=en (no plan read, typer's own English words);
  * korean-env: `opsplan --help` with OPSPLAN_LANG=ko (Korean texts, typer's words replaced);
  * korean-plan: `opsplan --help` with no OPSPLAN_LANG and the init plan in the working directory
    (the cheap read of opsplan.yaml, then as korean-env);
and in-process, per call: choose_language() reading that plan against the anchor of an environment
lookup that decides alone (OPSPLAN_LANG set).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def _help_seconds(cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "opsplan", "--help"], cwd=cwd, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    base = {k: v for k, v in os.environ.items() if k != "OPSPLAN_LANG"} | {"PYTHONPATH": str(SRC)}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        subprocess.run([sys.executable, "-m", "opsplan", "init"], cwd=work, env=base, check=True,
                       stdout=subprocess.DEVNULL)
        configs = {"anchor (OPSPLAN_LANG=en)": base | {"OPSPLAN_LANG": "en"},
                   "korean-env (OPSPLAN_LANG=ko)": base | {"OPSPLAN_LANG": "ko"},
                   "korean-plan (./opsplan.yaml)": base}
        times: dict[str, list[float]] = {name: [] for name in configs}
        _help_seconds(work, base)  # warm the file cache
        for _ in range(args.runs):
            for name, env in configs.items():
                times[name].append(_help_seconds(work, env))

        sys.path.insert(0, str(SRC))
        from opsplan.cli.language import choose_language

        plan = [work / "opsplan.yaml"]
        calls = 2000
        started = time.perf_counter()
        for _ in range(calls):
            choose_language([], {}, candidates=plan)
        read_us = (time.perf_counter() - started) / calls * 1e6
        started = time.perf_counter()
        for _ in range(calls):
            choose_language([], {"OPSPLAN_LANG": "ko"}, candidates=plan)
        env_us = (time.perf_counter() - started) / calls * 1e6

    anchor = statistics.median(times["anchor (OPSPLAN_LANG=en)"])
    result = {"runs": args.runs, "python": sys.version.split()[0],
              "help_median_s": {name: round(statistics.median(v), 4) for name, v in times.items()},
              "help_ratio_to_anchor": {name: round(statistics.median(v) / anchor, 3) for name, v in times.items()},
              "choose_language_us": {"plan read": round(read_us, 1), "env alone (anchor)": round(env_us, 2)}}
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
