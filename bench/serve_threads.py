"""Runs `opsplan serve` and, on SIGUSR1, writes which OS thread is which Python thread.

Python 3.11 does not name its OS threads, so /proc/PID/task/TID/stat cannot say which of serve's
threads spends the CPU, and a short-lived thread (a scheduled job, a probe's deadline thread) is
gone before anyone reads it. This wrapper counts each ended thread's CPU time (time.thread_time at
its end) by name, and on SIGUSR1 writes `{"names": {tid: name}, "ended": {name: seconds}}` to the
file given, so `bench/bench_serve.py` can split serve's CPU per thread. It adds no timer.

    python bench/serve_threads.py NAMES.json -- [opsplan arguments...]
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import FrameType

ENDED: Counter[str] = Counter()
_LOCK = threading.Lock()


def count_ended_threads() -> None:
    original = threading.Thread.run

    def run_and_count(self: threading.Thread) -> None:
        try:
            original(self)
        finally:
            spent = time.thread_time()
            with _LOCK:
                ENDED[self.name.rstrip("0123456789_") if self.name.startswith("collect") else self.name] += spent

    threading.Thread.run = run_and_count  # type: ignore[method-assign]


def write_names(path: Path) -> None:
    names = {str(t.native_id): t.name for t in threading.enumerate() if t.native_id is not None}
    with _LOCK:
        ended = dict(ENDED)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"names": names, "ended": ended}), encoding="utf-8")
    os.replace(tmp, path)


def main() -> None:
    names_path = Path(sys.argv[1])
    args = sys.argv[sys.argv.index("--") + 1:]
    count_ended_threads()

    def on_usr1(sig: int, frame: FrameType | None) -> None:
        write_names(names_path)

    signal.signal(signal.SIGUSR1, on_usr1)
    from opsplan.cli.main import main as opsplan_main

    sys.argv = ["opsplan", *args]
    opsplan_main()


if __name__ == "__main__":
    main()
