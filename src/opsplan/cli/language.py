"""Which language the command line speaks, chosen once and cheaply, before typer builds the app.

Typer fixes every --help text when it builds the commands, long before a plan is loaded. So the
language is read here with the standard library only (no YAML parser, no pydantic: start-up stays
fast): OPSPLAN_LANG (ko or en) wins; else the top-level `language:` key of the plan that --plan
names, or of the first default path that exists (as plan/loader.py DEFAULT_LOCATIONS); else English.
The same cheap read gives a broken plan's language to `opsplan plan check`, which cannot validate it.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from opsplan.i18n import LANGUAGES, t, template

ENV = "OPSPLAN_LANG"
DEFAULT = "en"
# As plan/loader.py DEFAULT_LOCATIONS (a test keeps the two equal; the loader is too heavy to import here).
DEFAULT_PLAN_PATHS: tuple[Path, ...] = (Path("opsplan.yaml"), Path("/etc/opsplan/opsplan.yaml"))
_READ_LIMIT = 256 * 1024  # the `language:` key of a real plan is near its top
_LANGUAGE_KEY = re.compile(r"^language:[ \t]*(?P<value>.*?)[ \t]*(?:#.*)?$", re.MULTILINE)


def plan_language(path: Path | str) -> str | None:
    """The plan's top-level `language:` read from its text, ko or en; None when the file cannot be
    read, does not set it or names another language (the command line's language is used then)."""
    try:
        # Only a regular file: opening a FIFO would wait for a writer (plan/source.py refuses it later).
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with open(path, "rb") as handle:
            text = handle.read(_READ_LIMIT).decode("utf-8", errors="replace")
    except OSError:
        return None
    found = _LANGUAGE_KEY.search(text)
    if found is None:
        return None
    value = found.group("value").strip("'\"")
    return value if value in LANGUAGES else None


def _plan_argument(argv: Sequence[str]) -> str | None:
    for position, arg in enumerate(argv):
        if arg == "--plan" and position + 1 < len(argv):
            return argv[position + 1]
        if arg.startswith("--plan="):
            return arg.split("=", 1)[1]
    return None


def choose_language(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None,
                    candidates: Sequence[Path] = DEFAULT_PLAN_PATHS) -> str:
    """ko or en for this command line: OPSPLAN_LANG, else the plan's `language:`, else English."""
    argv = sys.argv[1:] if argv is None else argv
    environ = os.environ if environ is None else environ
    wanted = environ.get(ENV, "").strip().lower()
    if wanted in LANGUAGES:
        return wanted
    named = _plan_argument(argv)
    paths = [Path(named)] if named else [p for p in candidates if p.is_file()][:1]
    for path in paths:
        found = plan_language(path)
        if found is not None:
            return found
    return DEFAULT


CLI_LANGUAGE = choose_language()  # once, at import: typer reads the help texts once


def help_text(key: str) -> str:
    """A --help text from the catalogue in the command line's language."""
    return t(key, CLI_LANGUAGE)


# typer's own words around the help, by the English text typer looks up with gettext (which has
# no Korean catalogue here): literal catalogue keys, so the catalogue test sees them.
_GETTEXT_KEY = {"No such command {name!r}.": "cli.no_such_command"}
# typer.rich_utils constants (already evaluated from their msgids when typer was imported).
_RICH_KEY = {"ARGUMENTS_PANEL_TITLE": "cli.arguments", "OPTIONS_PANEL_TITLE": "cli.options",
             "COMMANDS_PANEL_TITLE": "cli.commands", "ERRORS_PANEL_TITLE": "cli.error",
             "ABORTED_TEXT": "cli.aborted", "DEFAULT_STRING": "cli.default", "REQUIRED_LONG_STRING": "cli.required",
             "RICH_HELP": "cli.try_help"}


def speak_help_in(language: str = CLI_LANGUAGE) -> None:
    """typer's fixed words around --help and usage errors (Usage, Options, Show this message and
    exit) in `language`. Applied once, when the app is built; English changes nothing."""
    if language == "en":
        return
    import typer.core
    import typer.rich_utils
    from typer._click.core import Command
    from typer._click.formatting import HelpFormatter

    def translate(message: str) -> str:
        return template(_GETTEXT_KEY[message], language) if message in _GETTEXT_KEY else message

    typer.core._ = translate
    for constant in _RICH_KEY:
        setattr(typer.rich_utils, constant, template(_RICH_KEY[constant], language))
    if getattr(HelpFormatter.write_usage, "speaks", None) == language:
        return
    write_usage, get_help_option = HelpFormatter.write_usage, Command.get_help_option

    def usage_in_language(self: HelpFormatter, prog: str, args: str = "", prefix: str | None = None) -> None:
        write_usage(self, prog, args, t("cli.usage", language) + " " if prefix is None else prefix)

    def help_option_in_language(self: Command, ctx: Any) -> Any:
        option = get_help_option(self, ctx)
        if option is not None:
            option.help = t("cli.help_option", language)
        return option

    usage_in_language.speaks = language  # type: ignore[attr-defined]
    HelpFormatter.write_usage = usage_in_language  # type: ignore[method-assign]
    Command.get_help_option = help_option_in_language  # type: ignore[method-assign]
