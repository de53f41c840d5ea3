"""Progress of long work: a rich bar on a terminal, plain log lines every few seconds otherwise.

Progress goes to stderr (or the log), never to stdout, so `--json` output stays clean.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from opsplan import format as fmt

log = logging.getLogger("opsplan.backup.progress")

LOG_EVERY_SECONDS = 5.0


@contextmanager
def progress(
    total_bytes: int,
    description: str,
    *,
    stream: TextIO | None = None,
    clock: Callable[[], float] = time.monotonic,
    log_every: float = LOG_EVERY_SECONDS,
) -> Iterator[Callable[[int], None]]:
    """Yields `advance(n)`: call it with each chunk's size. A TTY gets a bar with bytes, rate and
    time left; anything else gets an INFO line at most every `log_every` seconds and one at the end."""
    stream = stream if stream is not None else sys.stderr
    if stream.isatty():
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(file=stream),
            transient=True,
        )
        with bar:
            task = bar.add_task(description, total=max(total_bytes, 0))

            def advance_bar(n: int) -> None:
                bar.advance(task, n)

            yield advance_bar
        return

    started = clock()
    state = {"done": 0, "last": started}

    def advance_log(n: int) -> None:
        state["done"] += n
        now = clock()
        if now - state["last"] >= log_every:
            state["last"] = now
            _log_line(description, state["done"], total_bytes, now - started)

    yield advance_log
    _log_line(description, state["done"], total_bytes, clock() - started)


def _log_line(description: str, done: float, total: int, elapsed: float) -> None:
    rate = done / elapsed if elapsed > 0 else 0.0
    left = (total - done) / rate if rate > 0 and total > done else 0.0
    log.info("%s: %s of %s (%s), %s/s, %s left", description, fmt.size(done), fmt.size(total),
             fmt.percent(done / total if total > 0 else 1.0, precision=0), fmt.size(rate),
             fmt.seconds(left, precision=0))
