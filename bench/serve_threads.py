"""Runs `opsplan serve` and, beside it, writes which OS thread id is which Python thread.

Python 3.11 does not name its OS threads, so /proc/PID/task/TID/stat cannot say which of serve's
threads spends the CPU; this wrapper writes `{tid: thread name}` to a JSON file every 20 s (one
wake-up, a few microseconds) so `bench/bench_serve.py` can split serve's CPU per thread.

    python bench/serve_threads.py NAMES.json -- [opsplan arguments...]
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path


def write_names(path: Path, stop: threading.Event) -> None:
    while True:
        names = {str(t.native_id): t.name for t in threading.enumerate() if t.native_id is not None}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(names), encoding="utf-8")
        os.replace(tmp, path)
        if stop.wait(20.0):
            return


def main() -> None:
    names_path = Path(sys.argv[1])
    args = sys.argv[sys.argv.index("--") + 1:]
    stop = threading.Event()
    threading.Thread(target=write_names, args=(names_path, stop), name="bench-thread-names", daemon=True).start()
    from opsplan.cli.main import main as opsplan_main

    sys.argv = ["opsplan", *args]
    try:
        opsplan_main()
    finally:
        stop.set()


if __name__ == "__main__":
    main()
