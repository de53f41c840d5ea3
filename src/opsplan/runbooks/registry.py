"""Which builder makes each kind of runbook, so a run can be rebuilt from its journal to resume.

A builder has the signature `build(plan, state_db, params, *, environ, clock) -> Runbook` and
must build the same steps from the same params (the journal stores only kind and params).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from opsplan.errors import OpsplanError

BUILDERS: dict[str, str] = {
    "restore-db": "opsplan.runbooks.restore.database:build",
    "restore-model": "opsplan.runbooks.rollback.model:build",
    "drill-db": "opsplan.runbooks.drill.database:build",
    "drill-model": "opsplan.runbooks.drill.model:build",
}


def register_builder(kind: str, target: str) -> None:
    """Add or replace the builder for `kind` ("package.module:function"); tests register toy runbooks."""
    if ":" not in target:
        raise OpsplanError(f"runbook builder {target!r} must look like 'package.module:function'")
    BUILDERS[kind] = target


def builder(kind: str) -> Callable[..., Any]:
    target = BUILDERS.get(kind)
    if target is None:
        raise OpsplanError(f"unknown runbook kind {kind!r} (known: {', '.join(sorted(BUILDERS))})")
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)
