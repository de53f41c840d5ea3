"""What every command shares: loading the plan and turning errors into one line and an exit code."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console

from opsplan import format as fmt
from opsplan.cli.language import CLI_LANGUAGE, plan_language
from opsplan.errors import REPEATED_ATTRIBUTE, OpsplanError, PlanError, in_language

if TYPE_CHECKING:
    from opsplan.plan.models import Plan
    from opsplan.store.state import StateDB

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def plan_from(ctx: typer.Context) -> Plan:
    from opsplan.plan.loader import all_errors, find_plan_path
    from opsplan.stages.all import load_plan

    obj = ctx.obj or {}
    found: Path | None = None
    try:
        found = find_plan_path(obj.get("plan_path"))
        plan = load_plan(found)
    except PlanError as exc:
        lang = (plan_language(found) if found is not None else None) or CLI_LANGUAGE
        for problem in all_errors(exc):
            err.print(f"opsplan: {in_language(problem, lang)}", markup=False)
        raise typer.Exit(2) from None
    set_log_timezone(plan.timezone)
    return plan


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
        fail(in_language(exc, CLI_LANGUAGE), code=2)
    except OpsplanError as exc:
        fail(in_language(exc, CLI_LANGUAGE), code=1)


SERVER_LOGGERS = ("uvicorn", "asyncio")


class PlanTimeFormatter(logging.Formatter):
    """Log times in the plan's timezone with the offset ('2026-11-27T14:00:00.123+09:00'), as every
    other time opsplan shows; the machine's local zone until the plan is loaded."""

    timezone: str | None = None

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        zone = ZoneInfo(self.timezone) if self.timezone else None
        return datetime.fromtimestamp(record.created, zone).astimezone(zone).isoformat(timespec="milliseconds")


def set_log_timezone(timezone: str) -> None:
    PlanTimeFormatter.timezone = timezone


class NotRepeatedOnConsole(logging.Filter):
    """Drops a line logged with `errors.REPEATED_AS_ERROR`: the error that follows carries the same
    message and is printed as the command's one error line (a log file still gets both)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, REPEATED_ATTRIBUTE, False)


def setup_logging(log_file: Path | None, verbose: bool) -> None:
    level = logging.DEBUG if verbose else logging.INFO
    handler: logging.Handler
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.addFilter(NotRepeatedOnConsole())
    handler.setFormatter(PlanTimeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
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


def flags_take_no_value() -> None:
    """Typer's rich help prints `<bool>` after every flag, --help included (its plain help does not):
    a flag takes no value, so its type column stays empty. Applied once, when the app is built."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich
    if getattr(shown, "flags_take_no_value", False):
        return

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag else shown(self, ctx)

    display_type_rich.flags_take_no_value = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]
