"""The seam to the audit log: every identity change and every login attempt is one entry.

It calls the audit writer's public function (runbooks/audit.py `record`, which the audit work of
issue 12 makes hash-chained) and nothing of its internals. Secrets never reach it: callers pass
names, roles, scopes and ids only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opsplan.store.state import StateDB

KIND = "identity"


def write(state_db: StateDB, data_dir: Path | None, *, at: float, actor: str, action: str,
          outcome: str = "ok", arguments: dict[str, Any] | None = None, detail: str | None = None) -> None:
    from opsplan.runbooks import audit

    audit.record(state_db, data_dir, at=at, actor=actor, action=action, kind=KIND, arguments=arguments,
                 outcome=outcome, detail=detail)
