"""The Plan page (GET /plan): the plan this server runs, read-only, for every logged-in user.

It shows what `opsplan plan show` prints (the same masked YAML, plan/show.py), what `opsplan plan
check` would say of it on this host now (the strict checks: variables that are unset, files that
cannot be read), a summary an operator reads first, and where each secret comes from. A secret is
named (its variable, its file) and said to be there or not; its value is never read for the page
and never shown (the checks read some to validate them, as `plan check` does, and say only what is
wrong).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from opsplan import format as fmt
from opsplan.i18n import Message, t
from opsplan.metrics import MetricSpec
from opsplan.plan.models import Plan
from opsplan.plan.semantic import PlanCheck, check_plan
from opsplan.plan.show import effective_yaml, mask_url
from opsplan.plan.source import dotted
from opsplan.web.console.frame import Console, PageContext

# Where a secret comes from, as the page says it (the value never).
SOURCE_STATES = {"env": "console.plan.secret_from_env", "file": "console.plan.secret_from_file",
                 "file_missing": "console.plan.secret_file_missing", "unset": "console.plan.secret_unset"}
THRESHOLDS = {"cpu": "console.plan.th_cpu", "memory": "console.plan.th_memory", "disk": "console.plan.th_disk",
              "gpu_temperature": "console.plan.th_gpu_temperature", "gpu_memory": "console.plan.th_gpu_memory",
              "group_memory": "console.plan.th_group_memory", "api_error_rate": "console.plan.th_api_error_rate",
              "api_response_time": "console.plan.th_api_response_time"}
CHECK_SCHEDULES = {"daily": "console.plan.check_daily", "weekly": "console.plan.check_weekly",
                   "monthly": "console.plan.check_monthly", "quarterly": "console.plan.check_quarterly"}


@dataclass(frozen=True, slots=True)
class SecretSource:
    what: str  # shown, in the page's language
    env: str | None
    file: Path | None
    state: str  # a key of SOURCE_STATES


def secret_sources(plan: Plan, environ: Mapping[str, str], language: str) -> list[SecretSource]:
    """Every secret the plan points at, with where it would be read from now. Only whether the
    variable is set and whether the file exists are looked at: nothing is read."""
    wanted: list[tuple[str, str | None, Path | None]] = [
        (t("console.plan.secret_db_password", language), plan.database.password_env, plan.database.password_file),
        (t("console.plan.secret_api_token", language), plan.web.api_token_env, plan.web.api_token_file),
    ]
    if plan.state_db_url_env:
        wanted.append((t("console.plan.secret_state_db_url", language), plan.state_db_url_env, None))
    if plan.web.tls_key_file is not None:
        wanted.append((t("console.plan.secret_tls_key", language), None, plan.web.tls_key_file))
    wanted += [(t("console.plan.secret_channel", language, channel=c.name), c.url_env, c.url_file)
               for c in plan.notifications.channels]
    found = []
    for what, env, file in wanted:
        if env and environ.get(env):
            state = "env"  # as plan/secrets.py reads it: the variable first
        elif file is not None:
            state = "file" if os.path.lexists(file) else "file_missing"
        else:
            state = "unset"
        found.append(SecretSource(what, env, file, state))
    return found


def problems(plan: Plan, checks: Sequence[PlanCheck], environ: Mapping[str, str],
             families: Mapping[str, MetricSpec], language: str) -> list[dict[str, str]]:
    """What `opsplan plan check` would report of the running plan on this host now: where, and what."""
    found = check_plan(plan, checks, environ=environ, strict=True, families=families)
    shown = []
    for problem in found:
        text = problem.text()
        shown.append({"key": dotted(problem.loc), "message": text.get(language) if isinstance(text, Message) else text})
    return shown


def summary(plan: Plan, language: str) -> dict[str, Any]:
    """The plan's headline numbers, formatted for `language`."""

    def size(value: float) -> str:
        return fmt.size(value, language=language)

    def span(value: float | None) -> str:
        return fmt.duration(value, language=language, missing="–")

    gpu = plan.server.gpu
    server = [
        (t("console.plan.server_name", language), plan.server.name),
        (t("console.plan.server_kind", language), plan.server.kind),
        (t("console.plan.server_cpu", language), plan.server.cpu),
        (t("console.plan.server_gpu", language),
         t("console.plan.gpu_count", language, model=gpu.model, count=gpu.count)),
        (t("console.plan.server_memory", language), size(plan.server.memory)),
        (t("console.plan.server_storage", language), f"{size(plan.server.storage.size)} {plan.server.storage.type}"),
        (t("console.plan.server_timezone", language), plan.timezone),
    ]
    groups = [{"name": g.name.get(language), "id": g.id, "gpus": ", ".join(map(str, g.gpus)) or "–",
               "memory": size(g.memory), "storage": size(g.storage),
               "paths": ", ".join(str(p) for p in g.paths) or "–"} for g in plan.allocation]
    # A group is named as the allocation names it, its id after (KOREAN.md rule 5: no id alone).
    group_names = {g.id: f"{g.name.get(language)} ({g.id})" for g in plan.allocation}
    services = [{"name": s.name, "group": group_names.get(s.group, s.group) if s.group else "–",
                 "url": mask_url(s.url) if s.url else "–",
                 "timeout": span(s.timeout)} for s in plan.services]
    database, models, config = plan.backup.database, plan.backup.models, plan.backup.config
    backups = [
        {"what": t("console.plan.backup_db_incremental", language), "when": database.schedule,
         "keep": span(database.retention)},
        {"what": t("console.plan.backup_db_full", language), "when": database.full_schedule,
         "keep": span(database.retention)},
        {"what": t("console.plan.backup_models", language),
         "when": t("console.plan.on_change", language, duration=span(models.check_interval)),
         "keep": t("console.plan.keep_versions", language, count=models.keep_versions)},
        {"what": t("console.plan.backup_config", language),
         "when": t("console.plan.on_change_daily", language, duration=span(config.check_interval), cron=config.daily),
         "keep": t("console.plan.keep_forever", language)},
    ]
    alerts = plan.monitoring.alerts
    thresholds = []
    for name in THRESHOLDS:
        rule = getattr(alerts, name)
        if name == "api_response_time":
            warning, critical = span(rule.warning), span(rule.critical)
        elif name == "gpu_temperature":
            warning, critical = (f"{fmt.figure(v)}°C" if v is not None else "–" for v in (rule.warning, rule.critical))
        else:
            warning, critical = (fmt.percent(v / 100, precision=0, language=language) if v is not None else "–"
                                 for v in (rule.warning, rule.critical))
        thresholds.append({"what": t(THRESHOLDS[name], language), "warning": warning, "critical": critical,
                           "for": span(rule.for_)})
    checks = [{"what": t(CHECK_SCHEDULES[name], language), "when": getattr(plan.checks, name).schedule}
              for name in CHECK_SCHEDULES]
    return {"server": server, "groups": groups, "services": services, "backups": backups,
            "thresholds": thresholds, "checks": checks}


def plan_page_router(console: Console, checks: Sequence[PlanCheck] = (), environ: Mapping[str, str] | None = None,
                     families: Mapping[str, MetricSpec] | None = None) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    plan = console.plan
    env: Mapping[str, str] = os.environ if environ is None else environ
    shown_yaml = effective_yaml(plan)  # the plan does not change while serve runs

    @router.get("/plan", response_class=HTMLResponse)
    def plan_page(request: Request, lang: str | None = None) -> Response:
        def content(page: PageContext) -> dict[str, Any]:
            language = page.language
            return {"problems": problems(plan, checks, env, families or {}, language),
                    "summary": summary(plan, language),
                    "secrets": [{"what": s.what, "env": s.env, "file": str(s.file) if s.file else None,
                                 "state": t(SOURCE_STATES[s.state], language), "ok": s.state in ("env", "file")}
                                for s in secret_sources(plan, env, language)],
                    "plan_yaml": shown_yaml}

        return console.page(request, "plan.html", lang, content)

    return router
