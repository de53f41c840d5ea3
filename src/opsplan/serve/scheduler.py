"""Runs the plan's scheduled jobs (backups at 02:00, check reports, drills) inside `opsplan serve`.

Cron expressions are read in the plan's timezone (the seed's "daily 02:00" is Seoul time). A job
that is still running when it is due again is not started twice; a job that fails is logged and
runs again at its next time. Jobs run on their own threads so a long backup never delays
collection.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

from opsplan import format as fmt
from opsplan.jobs import ALREADY_RUNNING, REQUESTED_BY, STARTED, Job, next_fire, previous_fire

log = logging.getLogger("opsplan.scheduler")

# The longest the scheduler sleeps: jobs are due on the wall clock, and a clock set forward (NTP
# after a boot) is noticed within this long rather than at the old due time.
MAX_SLEEP = 60.0


class Scheduler:
    def __init__(self, jobs: list[Job], *, timezone: str, clock: Callable[[], float] = time.time,
                 active: Callable[[], bool] = lambda: True):
        self.jobs = jobs
        self.tz = ZoneInfo(timezone)
        self.clock = clock
        # Whether this serve holds the plan's lease: a standby's jobs are not started (serve/lease.py).
        self.active = active
        self._stop = threading.Event()
        self._starting = threading.Lock()  # the clock and a person starting one job at once start it once
        self._thread = threading.Thread(target=self.run, name="scheduler", daemon=True)
        now = clock()
        for job in jobs:
            job.next_at = self.next_time(job.cron, now)
            self._catch_up(job, now)

    def _catch_up(self, job: Job, now: float) -> None:
        if job.last_run is None:
            return
        try:
            last = job.last_run()
        except Exception as exc:  # noqa: BLE001 - an unreadable record must not stop the scheduler
            log.warning("job %s: cannot tell when it last ran: %s", job.name, exc)
            return
        if last is None:
            if job.run_first:
                log.info("job %s: first run (no earlier run recorded); running it now", job.name)
                job.next_at = now
            return
        due = previous_fire(job.cron, now, self.tz)
        if last < due:
            log.warning("job %s missed its run at %s while opsplan was down; running it now", job.name,
                        fmt.iso_local(due, self.tz, timespec="minutes"))
            job.next_at = now

    def catch_up(self) -> None:
        """This serve took the plan's lease: a run the last holder missed (it died) happens now."""
        now = self.clock()
        for job in self.jobs:
            self._catch_up(job, now)

    def next_time(self, cron: str, after: float) -> float:
        return next_fire(cron, after, self.tz)

    def start(self) -> None:
        """Run on a thread of its own (`serve` runs `run` under its supervisor instead)."""
        if self.jobs:
            self._thread.start()

    def request_stop(self) -> None:
        self._stop.set()

    def stop(self, timeout: float = 2.0) -> None:
        self.request_stop()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def run_due(self) -> list[str]:
        """Start every job whose time has come; returns the names started (for tests and logs)."""
        now = self.clock()
        started = []
        for job in self.jobs:
            if now < job.next_at:
                continue
            job.next_at = self.next_time(job.cron, now)
            if not self.active():
                log.debug("job %s is due, but this serve is a standby: the active one runs it", job.name)
                continue
            with self._starting:
                if job.running is not None and job.running.is_alive():
                    log.warning("job %s is still running from its last time; not starting it again", job.name)
                    continue
                self._start(job)
            started.append(job.name)
        return started

    def run_now(self, name: str, by: str | None = None) -> str:
        """Start the job `name` now (a person, `by`, asked), unless it is running; its schedule is unchanged."""
        job = self._job(name)
        if not self.active():  # the console's caller answers 503 with this line
            raise RuntimeError("this serve is a standby: start it on the active serve of the plan")
        with self._starting:
            if job.running is not None and job.running.is_alive():
                return ALREADY_RUNNING
            log.info("job %s started by hand%s", name, f" ({by})" if by else "")
            self._start(job, by)
            return STARTED

    def is_running(self, name: str) -> bool:
        job = self._job(name)
        return job.running is not None and job.running.is_alive()

    def _job(self, name: str) -> Job:
        found = next((job for job in self.jobs if job.name == name), None)
        if found is None:
            raise KeyError(f"no job named {name!r} runs in this serve")
        return found

    def _start(self, job: Job, by: str | None = None) -> None:
        job.running = threading.Thread(target=self._run, args=(job, by), name=f"job-{job.name}", daemon=True)
        job.running.start()

    def _run(self, job: Job, by: str | None = None) -> None:
        REQUESTED_BY.set(by)  # this thread's own context: what job_actor() reads during the job
        log.info("job %s started", job.name)
        try:
            job.run()
            log.info("job %s finished", job.name)
        except BaseException as exc:  # noqa: BLE001 - a failed job runs again at its next time; and its
            # thread ends here, logged, rather than through threading's hook (a traceback on stderr)
            log.error("job %s failed: %s", job.name, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)

    def seconds_to_next(self) -> float:
        """How long to sleep before a job is due (at most MAX_SLEEP)."""
        if not self.jobs:
            return MAX_SLEEP
        soonest = min(job.next_at for job in self.jobs)
        return min(max(soonest - self.clock(), 0.0), MAX_SLEEP)

    def run(self) -> None:
        """Start due jobs, then sleep until the next one is due, until `request_stop`."""
        while not self._stop.is_set():
            self.run_due()
            # A little past the due time, so the wake-up does not land a hair before it and spin.
            self._stop.wait(self.seconds_to_next() + 0.01)
