"""Checks that span several fields of a plan that pydantic has already validated field by field.

Each problem carries the location of the value an operator has to change, as a tuple in
the plan file's own terms (YAML keys, list indices), so the loader can point at its line.
"""

from __future__ import annotations

import difflib
import os
import zoneinfo
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from opsplan.i18n import Message, t
from opsplan.jobs import interval_cron
from opsplan.metrics import MetricSpec
from opsplan.plan.models import Alerts, LatencyThreshold, ModelSource, PercentThreshold, Plan
from opsplan.plan.types import format_duration, format_size

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    loc: Loc
    message: str  # English
    ko: str | None = None  # the same in Korean, where the check words it (plan check prints the plan's)

    @classmethod
    def said(cls, loc: Loc, key: str, **values: object) -> Problem:
        """A problem worded by the catalogue's `key`, in both languages."""
        return cls(loc, t(key, "en", **values), t(key, "ko", **values))

    def text(self) -> str | Message:
        return self.message if self.ko is None else Message(ko=self.ko, en=self.message)


@dataclass(frozen=True)
class CheckContext:
    """What a check may look at besides the plan: the environment (channel URLs, passwords) and
    whether this is `opsplan plan check` (strict: also fail on what is only known at run time)."""

    environ: Mapping[str, str]
    strict: bool = False
    # Every metric family opsplan emits, for checks of fields that name a metric (custom rules).
    families: Mapping[str, MetricSpec] = field(default_factory=dict)


# A stage's own check of the plan fields it reads: stages hand these to the loader, so the plan
# package never imports a stage.
PlanCheck = Callable[[Plan, CheckContext], Iterable[Problem]]


def check_plan(plan: Plan, checks: Sequence[PlanCheck] = (), *, environ: Mapping[str, str] | None = None,
               strict: bool = False, families: Mapping[str, MetricSpec] | None = None) -> list[Problem]:
    """Every cross-field problem in `plan`: the plan's own, then each stage check's."""
    context = CheckContext(os.environ if environ is None else environ, strict, dict(families or {}))
    problems = [
        *_allocation(plan),
        *_services(plan),
        *_service_ca_files(plan, strict),
        *_web_tls(plan, strict),
        *_members(plan),
        *_monitoring(plan),
        *_notifications(plan),
        *_backup(plan),
        *_recovery(plan),
        *_timezone(plan),
    ]
    for check in checks:
        problems += check(plan, context)
    return problems


def _recovery(plan: Plan) -> Iterator[Problem]:
    # A restore moves the whole datadir aside: scratch space inside it would be moved with it.
    datadir = plan.database.datadir
    scratch = plan.recovery.scratch_dir or plan.backup.directory / ".scratch"
    key: Loc = ("recovery", "scratch_dir") if plan.recovery.scratch_dir else ("backup", "directory")
    if scratch.is_absolute() and datadir.is_absolute() and scratch.is_relative_to(datadir):
        yield Problem.said(key, "plan.problem.scratch_in_datadir", scratch=scratch, datadir=datadir)
    if plan.recovery.api_service.health.kind == "sql":
        yield Problem(("recovery", "api_service", "health", "kind"),
                      "sql logs in to the database; probe the API with http or tcp")


def _num(value: float) -> str:
    return f"{value:g}"


def _allocation(plan: Plan) -> Iterator[Problem]:
    yield from _duplicates([g.id for g in plan.allocation], ("allocation",), "plan.what.group_id", key="id")
    count = plan.server.gpu.count
    owner_of_gpu: dict[int, str] = {}
    for i, group in enumerate(plan.allocation):
        for j, gpu in enumerate(group.gpus):
            if gpu >= count:
                span = f"indices 0-{count - 1}" if count else "no GPUs"
                yield Problem(("allocation", i, "gpus", j), f"GPU {gpu} is beyond server.gpu.count {count} ({span})",
                              t("plan.problem.gpu_beyond_count", "ko", gpu=gpu, count=count))
            elif gpu in owner_of_gpu:
                yield Problem.said(("allocation", i, "gpus", j), "plan.problem.gpu_taken",
                                   gpu=gpu, group=owner_of_gpu[gpu])
            else:
                owner_of_gpu[gpu] = group.id
    # The seed splits the box exactly (128GB + 128GB of 256GB, 2TB + 2TB of 4TB); a budget
    # above the hardware would make every per-group usage percentage meaningless.
    memory = sum(group.memory for group in plan.allocation)
    if memory > plan.server.memory:
        yield Problem(("allocation",), f"groups' memory adds up to {format_size(memory)}, "
                                       f"more than server.memory {format_size(plan.server.memory)}")
    storage = sum(group.storage for group in plan.allocation)
    if storage > plan.server.storage.size:
        yield Problem(("allocation",), f"groups' storage adds up to {format_size(storage)}, more than "
                                       f"server.storage.size {format_size(plan.server.storage.size)}")


def _services(plan: Plan) -> Iterator[Problem]:
    group_ids = [group.id for group in plan.allocation]
    yield from _duplicates([s.name for s in plan.services], ("services",), "plan.what.service_name")
    for i, service in enumerate(plan.services):
        if service.group is not None and service.group not in group_ids:
            yield Problem(("services", i, "group"),
                          f"unknown allocation group '{service.group}'{_suggest(service.group, group_ids)}",
                          t("plan.problem.unknown_group", "ko", group=service.group, known=", ".join(group_ids)))
        if service.url is None and service.metrics_url is None and service.access_log is None:
            yield Problem.said(("services", i), "plan.problem.service_source")


def _service_ca_files(plan: Plan, strict: bool) -> Iterator[Problem]:
    for i, service in enumerate(plan.services):
        if service.ca_file is None:
            continue
        loc: Loc = ("services", i, "ca_file")
        if not service.tls_verify:
            yield Problem(loc, "has no effect with tls_verify: false; remove one of the two")
        # Whether the file is there is a fact of the host that runs opsplan: `plan check` (strict) says so.
        elif strict:
            problem = _unreadable(service.ca_file)
            if problem:
                yield Problem(loc, f"CA file {service.ca_file} {problem}")


def _web_tls(plan: Plan, strict: bool) -> Iterator[Problem]:
    """`plan check` (strict) reads the certificate and key the way serve will, so a wrong path, a
    key that does not match or a key others can read is found before the console is down."""
    cert, key = plan.web.tls_cert_file, plan.web.tls_key_file
    if not strict or cert is None or key is None:
        return
    problem = _unreadable(cert)
    if problem:
        yield Problem.said(("web", "tls_cert_file"), "plan.problem.tls_cert_bad", path=cert, reason=problem)
        return
    try:
        mode = key.stat().st_mode
    except OSError as exc:
        yield Problem.said(("web", "tls_key_file"), "plan.problem.tls_key_bad", path=key,
                           reason=(exc.strerror or str(exc)).lower())
        return
    if mode & 0o077:
        yield Problem.said(("web", "tls_key_file"), "plan.problem.tls_key_open", path=key)
    import ssl

    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc)
        yield Problem.said(("web", "tls_key_file"), "plan.problem.tls_key_bad", path=key, reason=str(reason).lower())


def _unreadable(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except FileNotFoundError:
        return "does not exist"
    except IsADirectoryError:
        return "is a directory, not a PEM file"
    except OSError as exc:
        return f"cannot be read: {(exc.strerror or str(exc)).lower()}"
    if b"-----BEGIN CERTIFICATE-----" not in head:
        return "holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
    return None


def _members(plan: Plan) -> Iterator[Problem]:
    # A member counted in two groups would be counted twice against the server's memory.
    owner: dict[str, str] = {}
    for i, group in enumerate(plan.allocation):
        for j, member in enumerate(group.members):
            key = ("container:" + member.label) if member.container else member.label
            if key in owner:
                yield Problem(("allocation", i, "members", j),
                              f"{member.label} is already a member of group '{owner[key]}'")
            else:
                owner[key] = group.id


def _monitoring(plan: Plan) -> Iterator[Problem]:
    if plan.monitoring.interval < 1:
        yield Problem(("monitoring", "interval"),
                      f"must be at least 1s, got {format_duration(plan.monitoring.interval)}")
    for name in Alerts.model_fields:
        rule = getattr(plan.monitoring.alerts, name)
        loc: Loc = ("monitoring", "alerts", name, "warning")
        if isinstance(rule, PercentThreshold):
            if rule.warning is not None and rule.critical is not None and rule.warning >= rule.critical:
                yield Problem.said(loc, "plan.problem.warning_above", warning=_num(rule.warning),
                                   critical=_num(rule.critical))
        elif isinstance(rule, LatencyThreshold) and (
                rule.warning is not None and rule.critical is not None and rule.warning >= rule.critical):
            yield Problem.said(loc, "plan.problem.warning_above", warning=format_duration(rule.warning),
                               critical=format_duration(rule.critical))
    store = plan.monitoring.store
    if store.rollup_step < plan.monitoring.interval:
        yield Problem(("monitoring", "store", "rollup_step"),
                      "must not be shorter than monitoring.interval "
                      f"{format_duration(plan.monitoring.interval)}")


def _notifications(plan: Plan) -> Iterator[Problem]:
    channels = plan.notifications.channels
    yield from _duplicates([c.name for c in channels], ("notifications", "channels"), "plan.what.channel_name")
    for i, channel in enumerate(channels):
        # The URL carries the token, so it never sits in the plan itself.
        if channel.url_env is None and channel.url_file is None:
            yield Problem.said(("notifications", "channels", i), "plan.problem.channel_url")


def _backup(plan: Plan) -> Iterator[Problem]:
    models = plan.backup.models.models
    yield from _duplicates([m.name for m in models], ("backup", "models", "models"), "plan.what.model_name")

    for section, interval in (("models", plan.backup.models.check_interval),
                              ("config", plan.backup.config.check_interval)):
        try:
            interval_cron(interval)
        except ValueError as exc:
            yield Problem(("backup", section, "check_interval"), str(exc))
    try:
        interval_cron(plan.backup.database.binlog_archive_interval)
    except ValueError as exc:
        yield Problem(("backup", "database", "binlog_archive_interval"), str(exc))
    for i, m in enumerate(models):
        if not m.path.is_absolute():
            yield Problem.said(("backup", "models", "models", i, "path"), "plan.problem.relative_path", path=m.path)
        elif m.path.is_relative_to(plan.backup.directory) or plan.backup.directory.is_relative_to(m.path):
            yield Problem.said(("backup", "models", "models", i, "path"), "plan.problem.model_overlaps_backup",
                               path=m.path, directory=plan.backup.directory)
        yield from _model_serving(m, ("backup", "models", "models", i))
    for i, p in enumerate(plan.backup.config.paths):
        if not p.is_absolute():
            yield Problem.said(("backup", "config", "paths", i), "plan.problem.relative_config_path", path=p)


def _model_serving(m: ModelSource, loc: Loc) -> Iterator[Problem]:
    """The rollback swaps absolute links; a test slot must never be the serving link."""
    links = [("serving_link", m.serving_link)] + ([("test_slot", m.test_slot.link)] if m.test_slot else [])
    for key, link in links:
        if link is not None and not link.is_absolute():
            yield Problem((*loc, key), f"model {m.name}: {key} {link} must be absolute")
    if m.test_slot and m.serving_link and m.test_slot.link == m.serving_link:
        yield Problem((*loc, "test_slot", "link"), f"model {m.name}: the test slot's link must not be the serving link")
    if m.endpoint and not m.serving_link:
        yield Problem((*loc, "serving_link"), f"model {m.name}: an endpoint needs the serving_link it loads")


def _duplicates(names: list[str], where: Loc, what: str, key: str = "name") -> Iterator[Problem]:
    """Each repeated name; `what` is the catalogue key of what the names are ("plan.what.group_id")."""
    first: dict[str, int] = {}
    listed = ".".join(str(part) for part in where)
    for i, name in enumerate(names):
        if name in first:
            also = f"{listed}[{first[name]}]"
            yield Problem((*where, i, key),
                          t("plan.problem.duplicate", "en", what=t(what, "en"), name=name, first=also),
                          t("plan.problem.duplicate", "ko", what=t(what, "ko"), name=name, first=also))
        else:
            first[name] = i


def _timezone(plan: Plan) -> Iterator[Problem]:
    try:
        zoneinfo.ZoneInfo(plan.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # "Asia" is a directory
        close = difflib.get_close_matches(plan.timezone, sorted(zoneinfo.available_timezones()), n=1)
        if close:
            yield Problem.said(("timezone",), "plan.problem.timezone_close", zone=plan.timezone, close=close[0])
        else:
            yield Problem.said(("timezone",), "plan.problem.timezone", zone=plan.timezone)


def _suggest(word: str, choices: list[str]) -> str:
    choices = list(dict.fromkeys(choices))
    close = difflib.get_close_matches(word, choices, n=1)
    if close:
        return f" (did you mean '{close[0]}'?)"
    if 0 < len(choices) <= 10:
        return f" (known: {', '.join(choices)})"
    return ""
