"""`opsplan init`, `opsplan plan check`, `opsplan plan show`: write, validate and print the plan."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from opsplan import format as fmt
from opsplan.cli.common import err, out
from opsplan.cli.language import CLI_LANGUAGE, help_text, plan_language
from opsplan.errors import PlanError, in_language
from opsplan.i18n import t

if TYPE_CHECKING:  # the plan's models load with the plan, not for `--help`
    from opsplan.plan.models import Plan


class Lang(StrEnum):
    ko = "ko"
    en = "en"


def register(app: typer.Typer) -> None:
    """Add `init` to `app` and the `plan` group (`check`, `show`)."""
    app.command("init", help=help_text("help.cmd.init"))(init)
    plan_app = typer.Typer(name="plan", no_args_is_help=True, help=help_text("help.plan"))
    plan_app.command("check", help=help_text("help.cmd.plan_check"))(check)
    plan_app.command("show", help=help_text("help.cmd.plan_show"))(show)
    app.add_typer(plan_app, name="plan")


def init(ctx: typer.Context,
         path: Path = typer.Argument(None, readable=False,
                                     help=help_text("help.init.path")),
         lang: Lang = typer.Option(Lang.ko, "--lang", help=help_text("help.init.lang")),
         force: bool = typer.Option(False, "--force", help=help_text("help.init.force")),
         keep: bool = typer.Option(False, "--keep",
                                   help=help_text("help.init.keep"))) -> None:
    """Write a commented plan whose values are the seed's."""
    from opsplan.plan.template import write_template

    target = path or _global_plan(ctx) or Path("opsplan.yaml")
    if keep and not force and target.exists():
        _say_kept(target, lang.value)
        return
    try:
        write_template(target, lang.value, force=force)
    except PlanError as exc:
        _print_err(in_language(exc, lang.value))
        raise typer.Exit(1) from None
    out.print(t("init.written", lang.value, path=target, lang=lang.value), markup=False, emoji=False)


def _say_kept(target: Path, wanted: str) -> None:
    """One line: the plan is there and kept, its language, and how to switch (a rerun never overwrites)."""
    from opsplan.stages.all import load_plan

    current: str
    try:
        current = load_plan(target).language
    except PlanError:
        current = "?"  # `opsplan plan check`, which run.sh runs next, says what is wrong with it
    key = "init.kept" if current == wanted else "init.kept_other_language"
    out.print(t(key, wanted, path=target, current=current, wanted=wanted), markup=False, emoji=False)


def check(ctx: typer.Context,
          # readable=False: click's own check would print a usage box; the loader says it in one line.
          path: Path = typer.Argument(None, readable=False, help=help_text("help.plan.check_path"))) -> None:
    """Validate the plan: exit 0 when it is valid, 2 with one line per problem when not."""
    found, plan = _load(path or _global_plan(ctx), strict=True)
    # The language the file names, as for its problems (cli/language.py), else the command line's.
    lang = plan_language(found) or CLI_LANGUAGE
    out.print(t("plan.check.ok", lang, path=found), markup=False, emoji=False)
    for line in summary(plan, lang):
        out.print(f"  {line}", markup=False, emoji=False)


def show(ctx: typer.Context,
         path: Path = typer.Argument(None, readable=False, help=help_text("help.plan.show_path")),
         as_json: bool = typer.Option(False, "--json", help=help_text("help.plan.show_json"))) -> None:
    """Print the effective plan: every default filled in, durations and sizes in human form."""
    _, plan = _load(path or _global_plan(ctx))
    from opsplan.plan.show import effective, effective_yaml  # the console's Plan page shows the same

    text = fmt.to_json(effective(plan)) if as_json else effective_yaml(plan)
    out.print(text, markup=False, emoji=False, highlight=False)


def summary(plan: Plan, lang: str) -> list[str]:
    """What a valid plan describes, in three lines: groups, GPUs, services."""
    # In Korean the group's name leads and its id follows (KOREAN.md rule 5); English names the id.
    groups = ", ".join(f"{g.name.get(lang)} ({g.id}, GPU {','.join(map(str, g.gpus)) or '-'})" if lang == "ko"
                       else f"{g.id} (GPU {','.join(map(str, g.gpus)) or '-'})" for g in plan.allocation)
    gpus = plan.expected_gpus()
    services = ", ".join(s.name for s in plan.services) or "-"
    return [
        t("plan.check.groups", lang, n=len(plan.allocation), groups=groups or "-"),
        t("plan.check.gpus", lang, allocated=len(gpus), count=plan.server.gpu.count, model=plan.server.gpu.model),
        t("plan.check.services", lang, n=len(plan.services), services=services),
    ]


def _load(explicit: Path | None, *, strict: bool = False) -> tuple[Path, Plan]:
    from opsplan.plan.loader import all_errors, find_plan_path
    from opsplan.stages.all import load_plan

    found: Path | None = None
    try:
        found = find_plan_path(explicit)
        return found, load_plan(found, strict=strict)
    except PlanError as exc:
        # The plan could not be validated: its `language:` is read from its text (else the command line's).
        lang = (plan_language(found) if found is not None else None) or CLI_LANGUAGE
        for error in all_errors(exc):
            _print_err(in_language(error, lang))
        raise typer.Exit(2) from None


def _global_plan(ctx: typer.Context) -> Path | None:
    obj = ctx.obj if isinstance(ctx.obj, dict) else {}
    value = obj.get("plan_path")
    return Path(value) if value is not None else None


def _print_err(line: str) -> None:
    # markup off: keys such as allocation[1] must not be read as rich tags.
    err.print(line, markup=False, emoji=False, highlight=False)
