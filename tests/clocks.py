"""Clocks for tests: time that moves only when the test says so."""

from __future__ import annotations


class SteppingClock:
    """Each reading is `step` seconds after the previous one, from a fixed start."""

    def __init__(self, start: float = 1_800_000_000.0, step: float = 60.0) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now
