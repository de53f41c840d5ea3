"""Starting the database restore from the console: the same runbook `opsplan restore db` runs
(runbooks/restore/database.py), in a thread of serve, journaled step by step.

The admin's typed confirmation on the form stands for the terminal's "yes" (the engine runs with
`yes=True` and audits that), so nothing waits for a terminal nobody is at. One restore at a time
from one serve: a second press while one runs is refused (the restore's own locks refuse one
started elsewhere, e.g. on the command line).
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from rich.console import Console

from opsplan.errors import OpsplanError, RunbookError
from opsplan.plan.models import Plan
from opsplan.runbooks.model import Runbook
from opsplan.store.state import StateDB

log = logging.getLogger(__name__)

START_WAIT = 30.0  # seconds to wait for the journal row, which the engine writes before any step

Builder = Callable[..., Runbook]


class RestoreBusy(RunbookError):
    """A restore started from this serve is still running."""


def restore_db_builder() -> Builder:
    from opsplan.runbooks.restore.database import build  # loaded when a restore is started

    return build


class RestoreStarter:
    """Builds the restore runbook (a bad argument is refused before anything starts) and runs it."""

    def __init__(self, plan: Plan, state_db: StateDB, *, environ: Mapping[str, str],
                 clock: Callable[[], float] = time.time, build: Builder | None = None) -> None:
        self.plan, self.state_db, self.environ, self.clock = plan, state_db, environ, clock
        self._build = build
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._run_id: int | None = None

    def running(self) -> int | None:
        """The journal id of the restore this serve is running, or None."""
        with self._lock:
            return self._run_id if self._thread is not None and self._thread.is_alive() else None

    def start(self, params: dict[str, Any], actor: str) -> int:
        """Start the restore; returns its journal id once the run row exists. RunbookError (one line)
        when the arguments cannot make a runbook or a restore from this serve is still running."""
        from opsplan.runbooks.engine import RunbookEngine

        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                raise RestoreBusy(f"a restore started from the console (run {self._run_id}) is still running")
            build = self._build or restore_db_builder()
            try:
                runbook = build(self.plan, self.state_db, params, environ=self.environ, clock=self.clock)
            except OpsplanError:
                raise
            except Exception as exc:  # noqa: BLE001 - the builder's failure is the admin's one line
                raise RunbookError(f"cannot build the restore runbook: {exc}") from None
            self._run_id = None
            started = threading.Event()
            found: list[int] = []

            def on_start(run_id: int) -> None:
                found.append(run_id)
                started.set()

            def work() -> None:
                try:
                    engine = RunbookEngine(self.plan, self.state_db, clock=self.clock, actor=actor,
                                           environ=self.environ, console=Console(file=io.StringIO()))
                    outcome = engine.run(runbook, params, yes=True, on_start=on_start)
                    log.info("restore %s started from the console by %s: %s", outcome.run_id, actor, outcome.status)
                except Exception:  # the journal holds what the steps did; the log gets the rest
                    log.exception("the restore started from the console by %s failed", actor)
                finally:
                    started.set()

            self._thread = threading.Thread(target=work, name="console-restore", daemon=True)
            self._thread.start()
        started.wait(START_WAIT)
        if not found:
            raise RunbookError("the restore did not start (see the serve log)")
        with self._lock:
            self._run_id = found[0]
        return found[0]
