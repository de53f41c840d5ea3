"""Scheduled work as every stage declares it, and the cron arithmetic they share.

A stage hands `opsplan serve` a list of Jobs; the scheduler that runs them lives in serve, so a
stage never needs to know the process that hosts it. Cron expressions are read in the plan's
timezone (the seed's "daily 02:00" is Seoul time).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from croniter import croniter


@dataclass
class Job:
    name: str
    cron: str
    run: Callable[[], object]
    # When the job last completed (UTC seconds), from its own records; lets a run missed while
    # opsplan was down (the server was off at 02:00) happen at start-up.
    last_run: Callable[[], float | None] | None = None
    # With no record of any run (last_run gives None), run at start-up: a new install backs up now.
    # The scheduler says "first run", not "missed while opsplan was down": opsplan never ran it.
    run_first: bool = False
    next_at: float = 0.0
    running: threading.Thread | None = field(default=None, repr=False)


STARTED, ALREADY_RUNNING = "started", "already-running"
SCHEDULE_ACTOR = "opsplan serve (schedule)"  # who a job acts for when the clock started it
BY_HAND = " (console)"  # after the name of the person who pressed a job's button
# Who asked for the job running on this thread (set by the scheduler for a job started by hand).
REQUESTED_BY: ContextVar[str | None] = ContextVar("opsplan_job_requested_by", default=None)


def job_actor() -> str:
    """Who a job acts for in the journal and the audit log: the person who pressed its button
    (`JobControl.run_now(name, by=...)`), else serve's schedule."""
    by = REQUESTED_BY.get()
    return f"{by}{BY_HAND}" if by else SCHEDULE_ACTOR


class JobControl:
    """Start a scheduled job now (a console button: "back up now", "run a drill"), through serve's
    scheduler, so a job started by hand and one started by the clock never run at once.

    Stages and pages hold this from the start; serve binds it to its scheduler once that exists.
    """

    def __init__(self) -> None:
        self._scheduler: _Starter | None = None

    def bind(self, scheduler: _Starter) -> None:
        self._scheduler = scheduler

    def run_now(self, name: str, by: str | None = None) -> str:
        """STARTED, or ALREADY_RUNNING (then nothing new starts); KeyError for a job serve does not run,
        RuntimeError before serve's scheduler exists. `by`: the user who asked (see `job_actor`)."""
        if self._scheduler is None:
            raise RuntimeError("jobs cannot be started yet: the scheduler is not running")
        return self._scheduler.run_now(name, by)

    def running(self, name: str) -> bool:
        return self._scheduler is not None and self._scheduler.is_running(name)


class _Starter(Protocol):
    def run_now(self, name: str, by: str | None = None) -> str: ...

    def is_running(self, name: str) -> bool: ...


def next_fire(cron: str, after: float, tz: str | ZoneInfo) -> float:
    """The first time after `after` the cron expression fires (UTC epoch seconds)."""
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    return float(croniter(cron, datetime.fromtimestamp(after, zone)).get_next(float))


def previous_fire(cron: str, now: float, tz: str | ZoneInfo) -> float:
    """The latest time at or before `now` the cron expression fired (UTC epoch seconds)."""
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    return float(croniter(cron, datetime.fromtimestamp(now, zone)).get_prev(float))


def missed_since(cron: str, last_success: float | None, now: float, tz: str | ZoneInfo) -> float | None:
    """The scheduled time that has passed with no success after it, or None when nothing was missed.

    With no success at all, the last scheduled time counts as missed (a new install runs at start-up).
    """
    due = previous_fire(cron, now, tz)
    if last_success is None or last_success < due:
        return due
    return None


def interval_cron(seconds: float) -> str:
    """A check interval as cron: whole minutes dividing an hour, or whole hours dividing a day."""
    minutes = seconds / 60
    if minutes == int(minutes) and 1 <= minutes < 60 and 60 % int(minutes) == 0:
        return "* * * * *" if minutes == 1 else f"*/{int(minutes)} * * * *"
    hours = minutes / 60
    if hours == int(hours) and 1 <= hours <= 24 and 24 % int(hours) == 0:
        return "0 * * * *" if hours == 1 else f"0 */{int(hours)} * * *" if hours < 24 else "0 0 * * *"
    raise ValueError("must be whole minutes dividing an hour (1m, 5m, 15m, 30m) or hours dividing a day "
                     "(1h, 2h, 6h, 12h, 24h)")
