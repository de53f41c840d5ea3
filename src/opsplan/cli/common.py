"""What every command shares: loading the plan and turning errors into one line and an exit code."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from opsplan import format as fmt
from opsplan.errors import OpsplanError, PlanError
from opsplan.plan.models import Plan

if TYPE_CHECKING:
    from opsplan.store.state import StateDB

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def plan_from(ctx: typer.Context) -> Plan:
    from opsplan.plan.loader import all_errors, find_plan_path
    from opsplan.stages.all import load_plan

    obj = ctx.obj or {}
    try:
        return load_plan(find_plan_path(obj.get("plan_path")))
    except PlanError as exc:
        for problem in all_errors(exc):
            err.print(f"opsplan: {problem}", markup=False)
        raise typer.Exit(2) from None


def print_json(data: object) -> None:
    """A `--json` document on stdout, as every command prints it (not through rich: no markup, no emoji)."""
    typer.echo(fmt.to_json(data))


def fail(message: str, code: int = 1) -> None:
    err.print(f"opsplan: {message}", markup=False)
    raise typer.Exit(code)


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Expected failures become one line on stderr; tracebacks are for the log file only."""
    try:
        yield
    except PlanError as exc:
        fail(str(exc), code=2)
    except OpsplanError as exc:
        fail(str(exc), code=1)


SERVER_LOGGERS = ("uvicorn", "asyncio")


def setup_logging(log_file: Path | None, verbose: bool) -> None:
    level = logging.DEBUG if verbose else logging.INFO
    handler: logging.Handler
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("opsplan")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    # The web server's own records (a request that failed with a traceback, a malformed request)
    # and asyncio's go to the same place: with --log-file, nothing of serve's reaches stderr.
    for name in SERVER_LOGGERS:
        server = logging.getLogger(name)
        server.handlers[:] = [handler]
        server.setLevel(max(level, logging.WARNING))
        server.propagate = False


@contextmanager
def state_db(plan: Plan) -> Iterator[StateDB]:
    """The plan's state database for one command; opened (and migrated) here, closed after."""
    from opsplan.store.state import StateDB, state_url

    db = StateDB.open(state_url(plan.data_dir, plan.state_db_url_env, os.environ))
    try:
        yield db
    finally:
        db.close()
