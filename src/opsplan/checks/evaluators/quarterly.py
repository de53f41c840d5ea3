"""The quarterly items (seed §2.2): major updates, the security audit, the backup recovery test."""

from __future__ import annotations

import platform
import sys
import tempfile
from pathlib import Path

import psutil
from sqlalchemy import select

from opsplan.checks import audit, audit_db, audit_host, audit_lynis, audit_ssh, releases
from opsplan.checks.model import (
    FAIL,
    NOT_RUN,
    PASS,
    SEVERITY,
    WARN,
    CheckContext,
    Figure,
    ItemResult,
    Line,
    ToolRun,
    worst,
)
from opsplan.checks.registry import evaluator
from opsplan.checks.tools import ToolMissing, run_tool
from opsplan.format import file_stamp, local_time
from opsplan.jobs import next_fire
from opsplan.mariadb.connection import address
from opsplan.mariadb.errors import classify_error
from opsplan.runbooks.drill import results as drills

OS_RELEASE = Path("/etc/os-release")


def _previous_figure(ctx: CheckContext, item_id: str, key: str) -> float | None:
    before = ctx.previous(item_id)
    if before is None:
        return None
    return next((f.value for f in before.figures if f.name.key == key), None)


def _item(item_id: str, parts: list[tuple[str, Line]], summary: Line, figures: list[Figure],
          tools: list[ToolRun]) -> ItemResult:
    """An item as bad as its worst part; not-run (with the first part that could not run as the
    reason) only when nothing worse was found."""
    status = worst([s for s, _ in parts])
    reason = next((line for s, line in parts if s == NOT_RUN), None) if status == NOT_RUN else None
    ordered = [line for _, line in sorted(parts, key=lambda part: -SEVERITY[part[0]])]
    return ItemResult(item_id, status, summary, reason=reason, figures=figures, tools=tools, findings=ordered)


# --- security.audit ----------------------------------------------------------------------------

@evaluator("security.audit")
def security_audit(ctx: CheckContext) -> ItemResult:
    findings: list[audit.AuditFinding] = []
    findings += audit_ssh.check()
    try:
        findings += audit_host.check_ports(ctx.plan, audit_host.listeners())
    except (psutil.Error, OSError) as exc:  # some kernels hide other users' sockets: not-run, not a pass
        findings.append(audit.skipped("OPS-NET-001", Line("checks.audit.net.unreadable", {
            "check": "OPS-NET-001", "detail": str(exc)[:200] or type(exc).__name__})))
    findings += audit_db.check(ctx.plan.database, ctx.environ)
    findings += audit_host.check_modes(audit_host.guarded_paths(ctx.plan))
    findings += audit_host.check_certificates(ctx.plan, ctx.now)
    findings += audit_host.check_uid0()
    findings += audit_host.check_firewall()
    findings += audit_host.check_unattended()
    previous_index = _previous_figure(ctx, "security.audit", "checks.audit.figure.hardening_index")
    report_file: Path | None = None
    if ctx.data_dir is not None:
        work = Path(ctx.data_dir) / "audit"
        found, index = audit_lynis.check(work, previous_index)
        findings += found
        report_file = audit.write_report(work, file_stamp(ctx.now, ctx.plan.timezone), findings)
    else:
        with tempfile.TemporaryDirectory(prefix="opsplan-lynis-") as scratch:
            found, index = audit_lynis.check(Path(scratch), previous_index)
            findings += found
    ordered = audit.worst_first(findings)
    parts = [(f.status, f.line) for f in ordered]
    if report_file is not None:
        parts.append((PASS, Line("checks.audit.report_file", {"path": str(report_file)})))
    figures = [
        Figure(Line("checks.audit.figure.score"), audit.score(findings), "ratio",
               previous=_previous_figure(ctx, "security.audit", "checks.audit.figure.score")),
        Figure(Line("checks.audit.figure.hardening_index"), None if index is None else float(index), "none",
               threshold=float(audit_lynis.LOW_INDEX), previous=previous_index),
    ]
    tools: list[ToolRun] = [run for f in ordered for run in f.tools]
    return _item("security.audit", parts, Line("checks.audit.summary", audit.counts(findings)),
                 figures=figures, tools=tools)


# --- updates.major -----------------------------------------------------------------------------

def _os_part(on: releases.date, path: Path) -> tuple[str, Line, float | None]:
    try:
        release = releases.read_os_release(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return NOT_RUN, Line("checks.updates.os_unreadable", {"path": str(path), "detail": exc.strerror or str(exc)}), \
            None
    return releases.judge(releases.os_name(release), releases.os_support(release), on)


def _mariadb_part(ctx: CheckContext, on: releases.date) -> tuple[str, Line]:
    try:
        conn = audit_db.connect(ctx.plan.database, ctx.environ)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT VERSION()")
                version = str(cur.fetchone()[0])
        finally:
            conn.close()
    except Exception as exc:  # noqa: BLE001 - down or refused: this part is not-run, the others still count
        why = classify_error(exc) if not isinstance(exc, ValueError) else str(exc).splitlines()[0][:200]
        return NOT_RUN, Line("checks.updates.mariadb_down", {"where": address(ctx.plan.database), "detail": why})
    name = f"MariaDB {version.split('-')[0]}"
    status, line, _ = releases.judge(name, releases.MARIADB_SERIES.get(releases.series(version)), on)
    return status, line


def _driver_part(on: releases.date) -> tuple[str, Line, list[ToolRun], bool]:
    """(status, line, tool runs, judged against the branch table)."""
    try:
        run = run_tool(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"], timeout=30)
    except ToolMissing:
        return NOT_RUN, Line("checks.updates.no_driver", {}), [], False
    versions = sorted({line.strip() for line in run.output.splitlines() if line.strip()})
    if run.exit_code != 0 or not versions:
        code = "-" if run.exit_code is None else run.exit_code
        return NOT_RUN, Line("checks.updates.driver_failed", {"code": code}), [run], False
    known = [(releases.DRIVER_BRANCHES[releases.driver_branch(v)], v) for v in versions
             if releases.driver_branch(v) in releases.DRIVER_BRANCHES]
    if len(known) != len(versions):  # a New Feature branch (no published end): shown, not judged
        return PASS, Line("checks.updates.driver", {"version": ", ".join(versions)}), [run], False
    support, version = min(known, key=lambda found: found[0].regular_end)
    status, line, _ = releases.judge(f"NVIDIA {version} (R{releases.driver_branch(version)})", support, on)
    return status, line, [run], True


@evaluator("updates.major")
def updates_major(ctx: CheckContext, *, os_release: Path = OS_RELEASE) -> ItemResult:
    on = releases.today(ctx.now)
    os_status, os_line, os_days = _os_part(on, os_release)
    db_status, db_line = _mariadb_part(ctx, on)
    python = f"Python {platform.python_version()}"
    py_status, py_line, _ = releases.judge(python, releases.PYTHON_SERIES.get(
        f"{sys.version_info.major}.{sys.version_info.minor}"), on)
    driver_status, driver_line, tools, driver_judged = _driver_part(on)
    parts = [(os_status, os_line), (PASS, Line("checks.updates.kernel", {"version": platform.release()})),
             (db_status, db_line), (py_status, py_line), (driver_status, driver_line)]
    judged = [os_status, db_status, py_status] + ([driver_status] if driver_judged else [])
    summary = Line("checks.updates.summary", {"checked": sum(s != NOT_RUN for s in judged),
                                              "count": sum(s in (WARN, FAIL) for s in judged),
                                              "as_of": releases.AS_OF})
    figures = [Figure(Line("checks.updates.figure.os_days"), os_days, "days",
                      previous=_previous_figure(ctx, "updates.major", "checks.updates.figure.os_days"))]
    return _item("updates.major", parts, summary, figures=figures, tools=tools)


# --- backup.recovery_test ----------------------------------------------------------------------

def _next_drill(ctx: CheckContext) -> Line:
    cron = ctx.plan.recovery.drill_schedule or ctx.plan.checks.quarterly.schedule
    when = next_fire(cron, ctx.now, ctx.plan.timezone)
    return Line("checks.drill.next", {"when": local_time(when, ctx.plan.timezone, zone_name=True)})


@evaluator("backup.recovery_test")
def backup_recovery_test(ctx: CheckContext) -> ItemResult:
    """The quarter's newest database drill: passed within the RTO and RPO targets → pass; passed
    past a target → warning; failed → fail; none this quarter → fail (running one is serve's job:
    the finding says when the next is scheduled)."""
    if ctx.state_db is None:
        return ItemResult("backup.recovery_test", NOT_RUN, Line("checks.not_run"),
                          reason=Line("checks.drill.no_state", {}))
    with ctx.state_db.session() as session:
        rows = list(session.scalars(
            select(drills.DrillResult).where(drills.DrillResult.target == drills.DATABASE,
                                             drills.DrillResult.started_at >= ctx.start,
                                             drills.DrillResult.started_at < ctx.end)
            .order_by(drills.DrillResult.started_at.desc(), drills.DrillResult.id.desc())))
        drill = next((r.as_dict() for r in rows if r.status != drills.RUNNING), None)
        running = next((r.as_dict() for r in rows if r.status == drills.RUNNING), None)
    tz = ctx.plan.timezone
    if drill is None:
        if running is not None:
            return ItemResult("backup.recovery_test", NOT_RUN, Line("checks.not_run"), reason=Line(
                "checks.drill.running", {"when": local_time(running["started_at"], tz, zone_name=True)}))
        return ItemResult("backup.recovery_test", FAIL, Line("checks.drill.none", {}),
                          reason=Line("checks.drill.none", {}), findings=[_next_drill(ctx)])
    when = local_time(drill["finished_at"] or drill["started_at"], tz, zone_name=True)
    rto_target = drill["targets"]["rto_seconds"] or ctx.plan.recovery.rto
    rpo_target = drill["targets"]["rpo_seconds"] or ctx.plan.recovery.rpo
    figures = [
        Figure(Line("checks.drill.figure.rto"), drill["rto_seconds"], "seconds", threshold=rto_target,
               previous=_previous_figure(ctx, "backup.recovery_test", "checks.drill.figure.rto")),
        Figure(Line("checks.drill.figure.rpo"), drill["rpo_seconds"], "seconds", threshold=rpo_target,
               previous=_previous_figure(ctx, "backup.recovery_test", "checks.drill.figure.rpo")),
    ]
    if drill["status"] != drills.OK:
        line = Line("checks.drill.failed", {"when": when, "id": drill["id"],
                                            "detail": (drill["reason"] or drill["failed_step"] or "-")[:300]})
        return ItemResult("backup.recovery_test", FAIL, line, reason=line, figures=figures)
    # The measured times and their targets are figures (rendered in the report's language), not text.
    missed = [name for name, value, target in (("RTO", drill["rto_seconds"], rto_target),
                                               ("RPO", drill["rpo_seconds"], rpo_target))
              if value is None or value > target]
    if missed:
        return ItemResult("backup.recovery_test", WARN, Line("checks.drill.missed_target", {
            "when": when, "id": drill["id"], "which": ", ".join(missed)}), figures=figures)
    return ItemResult("backup.recovery_test", PASS, Line("checks.drill.passed", {"when": when, "id": drill["id"]}),
                      figures=figures)
