"""What the operator sees while a runbook runs: a live status line per step on a terminal,
plain lines (one at the start and one at the end of each step) otherwise."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.live import Live
from rich.spinner import Spinner
from rich.text import Text as RichText

from opsplan import format as fmt


class _Elapsed:
    """Re-rendered on every refresh, so the seconds tick while the step runs."""

    def __init__(self, label: str, started: float, now: Callable[[], float]):
        self.label, self.started, self.now = label, started, now

    def __rich__(self) -> RichText:
        return RichText(f"{self.label}  {fmt.seconds(self.now() - self.started, precision=0)}")


class StepDisplay:
    def __init__(self, console: Console):
        self.console = console
        self.live = console.is_terminal and not console.is_dumb_terminal

    def line(self, text: str, *, style: str | None = None) -> None:
        self.console.print(text, markup=False, style=style, highlight=False)

    @contextmanager
    def running(self, label: str) -> Iterator[None]:
        """Show `label` as running for the block: a spinner with elapsed time, or one plain line."""
        if not self.live:
            self.line(f"{label} ...")
            yield
            return
        # Wall time here on purpose: the display ticks in real seconds whatever clock the engine uses.
        spinner = Spinner("dots", text=_Elapsed(label, time.monotonic(), time.monotonic))
        with Live(spinner, console=self.console, refresh_per_second=4, transient=True):
            yield
