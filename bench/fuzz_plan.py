"""Fuzz the plan loader: every input must end in a Plan or in one `file:line: ...` line per problem.

    .venv/bin/python bench/fuzz_plan.py [--inputs 5000] [--seed 1] [--timeout 20] [--memory-mb 1536]
                                        [--workers 2] [--json out.json] [--show 5]

The long run behind docs/security.md "Plan loader"; tests/unit/test_plan_fuzz.py is its short
form in the suite. Inputs, from a seeded random generator:
  * mutations of the default plan (`opsplan init`, ko and en): lines deleted, repeated, swapped,
    re-indented or cut; values replaced by hostile ones (400-digit integers, 300-digit sizes,
    `1000000000w`, `.inf`, NUL, tags, anchors and aliases); keys replaced by `true`, `~`, `1`, `[a]`;
    a billion-laughs alias bomb or 300-deep nesting spliced in;
  * YAML-ish texts drawn from YAML's punctuation, keys of the plan and hostile values;
  * the issue's probes as files, through the real CLI (`opsplan plan check`): a FIFO, /dev/zero,
    a directory, a 200 MB line, 200,000 unknown keys.

Each text is parsed by `opsplan.stages.all.parse_plan` in a worker process with an address-space
limit and an alarm. Outcomes: `plan` (valid), `plan_error` (every message one line with
`file:line`), `bad_message` (a PlanError line without a line number or over several lines),
`traceback` (any other exception), `memory` (MemoryError) and `hang` (the alarm). Run it against
another checkout with PYTHONPATH=<checkout>/src to compare.
"""

from __future__ import annotations

import argparse
import collections
import json
import multiprocessing
import os
import random
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HOSTILE_VALUES = [
    "9" * 400, "-" + "9" * 400, "9" * 300 + "GB", "9" * 5000, "1000000000w", "99999999999999999999d",
    "1e400", "-1e400", ".inf", "-.inf", ".nan", "0x" + "f" * 40, "0b" + "1" * 70, "1_000_000",
    "~", "null", "true", "[]", "{}", "''", "-1", "0", "1.5", "!!binary aGk=", "!custom x", "2024-01-01",
    "2024-01-01T00:00:00Z", '"a\\x00b"', "\x00", "\x07", "\ufeff", "|\n  block", ">-\n  folded",
    "&a [1, 2]", "*a", "*undefined", "{a: *a}", "[" * 40 + "]" * 40, "'unterminated", '"unterminated',
    "% directive", "--- ", "...", "? complex", "- item", "a: b: c", "{a: 1, a: 2}", "5m", "1h30m",
    "128GB", "0 2 * * *", "* * * * *", "'0 25 * * *'", "http://127.0.0.1:1/", "/", "ko", "en",
]
HOSTILE_KEYS = ["true", "~", "1", "[a]", "{a: 1}", "<<", "? x", "'quoted'", "password", "for",
                "null", "2024-01-01", "1.5", "-", "&k key", "*k"]
PLAN_KEYS = ["version", "server", "allocation", "services", "database", "monitoring", "checks", "backup",
             "recovery", "incidents", "notifications", "web", "data_dir", "interval", "alerts", "for",
             "critical", "warning", "models", "perf", "requests", "body", "name", "memory", "gpus"]
PUNCTUATION = [": ", "- ", "\n", "\n  ", "\n    ", "[", "]", "{", "}", ",", "&a ", "*a", "<<: ", "!!str ",
               "!!int ", "? ", "|", ">", "#", "'", '"', "\t", "%YAML 1.2\n", "---\n", "...\n"]

BOMB = ("\n{indent}lol0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        + "".join(f"{{indent}}lol{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 10)))


def default_plans() -> list[str]:
    from opsplan.plan.template import template_text
    return [template_text("ko"), template_text("en")]


def mutate(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    for _ in range(rng.choice([1, 1, 1, 2, 3, 5])):
        index = rng.randrange(len(lines))
        line = lines[index]
        op = rng.randrange(11)
        if op == 0:
            del lines[index]
        elif op == 1:
            lines.insert(index, line)
        elif op == 2:
            other = rng.randrange(len(lines))
            lines[index], lines[other] = lines[other], line
        elif op == 3:
            lines[index] = " " * rng.choice([0, 1, 2, 3, 4, 8]) + line.lstrip()
        elif op in (4, 5, 6) and ":" in line:
            key, _, _ = line.partition(":")
            lines[index] = f"{key}: {rng.choice(HOSTILE_VALUES)}"
        elif op == 7 and ":" in line:
            _, _, value = line.partition(":")
            indent = " " * (len(line) - len(line.lstrip()))
            lines[index] = f"{indent}{rng.choice(HOSTILE_KEYS)}:{value}"
        elif op == 8:
            cut = rng.randrange(len(line) + 1)
            lines[index] = line[:cut] + rng.choice(PUNCTUATION + HOSTILE_VALUES) + line[cut:]
        elif op == 9 and line.rstrip().endswith(":"):
            indent = " " * (len(line) - len(line.lstrip()) + 2)
            lines.insert(index + 1, BOMB.format(indent=indent).strip("\n"))
        elif op == 10 and ":" in line:
            key, _, _ = line.partition(":")
            depth = rng.choice([10, 70, 300])
            lines[index] = f"{key}: " + "[" * depth + "]" * depth
    text = "\n".join(lines)
    if rng.random() < 0.05:
        text = text[:rng.randrange(len(text) + 1)]
    return text


def generate(rng: random.Random) -> str:
    parts = rng.choices(PUNCTUATION + PLAN_KEYS + HOSTILE_VALUES + HOSTILE_KEYS, k=rng.randrange(1, 40))
    return "".join(parts)


# --- the worker: one text, one outcome -----------------------------------------------------------

_LINE = re.compile(r"^plan\.yaml:\d+: [^\n]+$")


class _Alarm(Exception):
    pass


def _on_alarm(signum: int, frame: Any) -> None:
    raise _Alarm()


def _limit_memory(memory_mb: int) -> None:
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _init_worker(memory_mb: int) -> None:
    _limit_memory(memory_mb)
    signal.signal(signal.SIGALRM, _on_alarm)
    import warnings
    warnings.simplefilter("ignore")
    from opsplan.stages import all as stages_all
    stages_all.metric_registry()  # warm: the first call builds the registry


def _run_one(task: tuple[int, str, int]) -> tuple[int, str, str, float]:
    from opsplan.errors import PlanError
    from opsplan.plan.loader import all_errors
    from opsplan.stages.all import parse_plan

    index, text, timeout = task
    started = time.monotonic()
    signal.alarm(timeout)
    try:
        parse_plan(text, "plan.yaml", environ={})
        outcome, detail = "plan", ""
    except PlanError as exc:
        lines = [str(e) for e in all_errors(exc)]
        bad = [line for line in lines if not _LINE.match(line)]
        outcome, detail = ("bad_message", bad[0][:200]) if bad else ("plan_error", lines[0][:200])
    except _Alarm:
        outcome, detail = "hang", f"over {timeout}s"
    except MemoryError:
        outcome, detail = "memory", "MemoryError"
    except BaseException as exc:  # the whole point: any other exception is a finding
        outcome, detail = "traceback", f"{type(exc).__name__}: {str(exc)[:160]}"
    finally:
        signal.alarm(0)
    return index, outcome, detail, time.monotonic() - started


# --- the file probes through the CLI -----------------------------------------------------

def file_probes(workdir: Path, timeout: int, memory_mb: int) -> list[dict[str, Any]]:
    fifo = workdir / "fifo.yaml"
    os.mkfifo(fifo)
    (workdir / "dir.yaml").mkdir()
    (workdir / "long-line.yaml").write_text("server:\n  name: " + "x" * 200_000_000 + "\n")
    (workdir / "unknown-keys.yaml").write_text("monitoring:\n" + "".join(f"  k{i}: 1\n" for i in range(200_000)))
    results = []
    for path in (fifo, Path("/dev/zero"), workdir / "dir.yaml", workdir / "long-line.yaml",
                 workdir / "unknown-keys.yaml"):
        started = time.monotonic()
        try:
            # The same address-space limit as the workers: /dev/zero once read without bound.
            done = subprocess.run([sys.executable, "-m", "opsplan", "plan", "check", str(path)],
                                  capture_output=True, text=True, timeout=timeout,
                                  preexec_fn=lambda: _limit_memory(memory_mb))
            outcome = ("plan_error" if done.returncode == 2 and "Traceback" not in done.stderr
                       and len(done.stderr.splitlines()) == 1 else f"exit {done.returncode}")
            detail = (done.stderr.strip().splitlines() or [""])[-1][:200]
        except subprocess.TimeoutExpired:
            outcome, detail = "hang", f"over {timeout}s"
        results.append({"probe": path.name, "outcome": outcome, "detail": detail,
                        "seconds": round(time.monotonic() - started, 2)})
    return results


def _shape(line: str) -> str:
    """A message without its specifics, to count like messages together."""
    return re.sub(r"#x[0-9a-f]+|'[^']*'|\d+", "_", line.removeprefix("plan.yaml: "))[:60]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=int, default=20, help="seconds per input before it counts as a hang")
    parser.add_argument("--memory-mb", type=int, default=1536, help="address-space limit of a worker")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--show", type=int, default=5, help="examples printed per failing outcome")
    parser.add_argument("--no-files", action="store_true", help="skip the file probes (200 MB on disk)")
    parser.add_argument("--json")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    plans = default_plans()
    texts = [mutate(rng.choice(plans), rng) if rng.random() < 0.75 else generate(rng)
             for _ in range(args.inputs)]
    started = time.monotonic()
    outcomes: collections.Counter[str] = collections.Counter()
    examples: dict[str, list[str]] = collections.defaultdict(list)
    kinds: collections.Counter[str] = collections.Counter()  # exception types, messages without a line
    slowest = 0.0
    with multiprocessing.get_context("fork").Pool(args.workers, _init_worker, (args.memory_mb,),
                                                  maxtasksperchild=200) as pool:
        tasks = [(i, text, args.timeout) for i, text in enumerate(texts)]
        for index, outcome, detail, seconds in pool.imap_unordered(_run_one, tasks, chunksize=4):
            outcomes[outcome] += 1
            slowest = max(slowest, seconds)
            if outcome not in ("plan", "plan_error"):
                kinds[f"{outcome}: {detail.split(':')[0] if outcome == 'traceback' else _shape(detail)}"] += 1
                if len(examples[outcome]) < args.show:
                    examples[outcome].append(f"#{index}: {detail}")
    elapsed = time.monotonic() - started

    probes: list[dict[str, Any]] = []
    if not args.no_files:
        with tempfile.TemporaryDirectory(prefix="fuzz-plan-") as workdir:
            probes = file_probes(Path(workdir), args.timeout, args.memory_mb)

    report = {"inputs": args.inputs, "seed": args.seed, "seconds": round(elapsed, 1),
              "slowest_input_seconds": round(slowest, 2), "outcomes": dict(outcomes),
              "failures_by_kind": dict(kinds.most_common()),
              "examples": dict(examples), "file_probes": probes}
    print(json.dumps(report, indent=2, ensure_ascii=False))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    failing = sum(outcomes[k] for k in ("bad_message", "traceback", "memory", "hang"))
    failing += sum(1 for p in probes if p["outcome"] != "plan_error")
    sys.exit(1 if failing else 0)


if __name__ == "__main__":
    main()
