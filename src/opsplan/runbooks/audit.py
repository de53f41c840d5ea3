"""The runbook engine's audit entries: every run, resume and confirmation decision.

They go through the one audit log (`opsplan.audit.record`: hash-chained in the state DB), and the
same entry is appended as one JSON line to `<data_dir>/audit.log` (0600): the file survives a lost
or rebuilt state database and is easy to ship elsewhere.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from opsplan import audit
from opsplan.fsutil import FILE_MODE, private_dir
from opsplan.store.state import StateDB

log = logging.getLogger(__name__)

AUDIT_FILE = "audit.log"


def record(state_db: StateDB, data_dir: Path | None, *, at: float, actor: str, action: str,
           kind: str | None = None, run_id: int | None = None, arguments: dict[str, Any] | None = None,
           outcome: str | None = None, detail: str | None = None) -> dict[str, Any]:
    """Write one audit entry to the table and to the file; returns it as written."""
    written = audit.record(state_db, actor, action, f"runbook #{run_id}" if run_id is not None else "",
                           arguments, at=at, kind=kind, run_id=run_id, outcome=outcome, detail=detail)
    entry = {key: written[key] for key in ("at", "actor", "action", "kind", "run_id", "arguments", "outcome",
                                           "detail", "hash")}
    if data_dir is not None:
        append_line(Path(data_dir) / AUDIT_FILE, entry)
    return entry


def append_line(path: Path, entry: dict[str, Any]) -> None:
    """Append one JSON line; the file is created 0600 (and kept 0600) in a private directory."""
    try:
        private_dir(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)
            os.write(fd, (json.dumps(entry, ensure_ascii=False, sort_keys=True, default=str) + "\n").encode())
        finally:
            os.close(fd)
    except OSError as exc:  # the table already holds the entry; the file is a copy
        log.warning("cannot append to the audit log %s: %s", path, exc.strerror or exc)


def entries(state_db: StateDB, *, run_id: int | None = None, limit: int = 200) -> list[dict[str, Any]]:
    return audit.entries(state_db, run_id=run_id, limit=limit)
