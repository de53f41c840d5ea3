"""The weekly check items (seed §2.2): log analysis, performance trend, security patches.

Each turns what checks/logs.py, checks/trend.py and checks/patches.py found into an ItemResult:
a status, one summary line, figures, charts and findings (worst first), all catalogue lines.
"""

from __future__ import annotations

from pathlib import Path

from opsplan.checks import logs, patches, trend
from opsplan.checks.model import (
    FAIL,
    NOT_RUN,
    PASS,
    WARN,
    Chart,
    CheckContext,
    Figure,
    ItemResult,
    Line,
    Series,
    ToolRun,
    not_run,
)
from opsplan.checks.registry import evaluator
from opsplan.checks.tools import ToolMissing

SHOWN = 10  # findings of each kind per source: the report is read by a person


# --- logs.analysis ------------------------------------------------------------------------------

def _sources(ctx: CheckContext) -> list[tuple[str, Path]]:
    checks = ctx.plan.checks
    found = [(source.name, Path(source.path)) for source in checks.log_sources]
    if checks.access_logs:
        found += [(f"{service.name}-access", Path(service.access_log.path)) for service in ctx.plan.services
                  if service.access_log is not None]
    return found


def _not_analysed(result: logs.SourceResult) -> Line:
    if result.why == logs.WHY_STATE:
        return Line("checks.logs.state_refused", {"source": result.name, "detail": result.refused})
    if result.why == logs.WHY_NO_SYSTEMD:
        return Line("checks.logs.no_systemd", {"source": result.name})
    return Line("checks.logs.unreadable", {"source": result.name, "detail": result.refused})


def _template_lines(result: logs.SourceResult) -> tuple[list[Line], list[Line], bool]:
    """(findings worth a look, the rest, whether any is trouble), each kind capped at SHOWN."""
    first: list[Line] = []
    rest: list[Line] = []
    trouble = False
    for template in result.new()[:SHOWN]:
        line = Line("checks.logs.new_template", {"source": result.name, "count": template.count,
                                                 "template": template.template, "example": template.example})
        (first if template.trouble else rest).append(line)
        trouble = trouble or template.trouble
    for template in result.rising()[:SHOWN]:
        line = Line("checks.logs.rising", {"source": result.name, "previous": template.previous,
                                           "count": template.count, "template": template.template,
                                           "example": template.example})
        (first if template.trouble else rest).append(line)
        trouble = trouble or template.trouble
    for template in result.rare()[:SHOWN]:
        rest.append(Line("checks.logs.rare", {"source": result.name, "count": template.count,
                                              "template": template.template, "example": template.example}))
    return first, rest, trouble


@evaluator("logs.analysis")
def logs_analysis(ctx: CheckContext) -> ItemResult:
    if ctx.data_dir is None:  # never a shared temporary directory: the state files must be ours alone
        return not_run("logs.analysis", Line("checks.logs.no_data_dir"))
    data_dir = Path(ctx.data_dir)
    results = [logs.analyse(name, data_dir, path=path) for name, path in _sources(ctx)]
    if ctx.plan.checks.journal:
        if logs.systemd_runs():
            results.append(logs.analyse("journal", data_dir, lines=logs.journal_lines(ctx.start, ctx.end)))
        else:
            results.append(logs.SourceResult("journal", refused="systemd is not running",
                                             why=logs.WHY_NO_SYSTEMD))
    analysed = [r for r in results if r.refused is None]
    skipped = [_not_analysed(r) for r in results if r.refused is not None]
    if not analysed:
        if not skipped:
            return not_run("logs.analysis", Line("checks.logs.none_in_plan"))
        reason = skipped[0] if len(skipped) == 1 else Line("checks.logs.no_source", {"count": len(skipped)})
        return ItemResult("logs.analysis", NOT_RUN, Line("checks.not_run"), reason=reason, findings=skipped)
    worth: list[Line] = []
    rest: list[Line] = []
    figures = []
    trouble = False
    for result in analysed:
        first, others, bad = _template_lines(result)
        worth += first
        rest += others
        trouble = trouble or bad
        figures.append(Figure(Line("checks.logs.figure.lines", {"source": result.name}), result.lines, "count"))
        figures.append(Figure(Line("checks.logs.figure.templates", {"source": result.name}), len(result.templates),
                              "count"))
        if result.first_run:
            rest.append(Line("checks.logs.first_run", {"source": result.name, "count": len(result.templates)}))
    lines = sum(r.lines for r in analysed)
    summary = Line("checks.logs.summary", {
        "lines": lines, "templates": sum(len(r.templates) for r in analysed),
        "new": sum(len(r.new()) for r in analysed), "rising": sum(len(r.rising()) for r in analysed),
        "sources": len(analysed), "skipped": len(skipped)})
    # Worth a warning: a new or rising template that reads as trouble; new "user logged in" shapes are not.
    return ItemResult("logs.analysis", WARN if trouble else PASS, summary, figures=figures,
                      findings=[*worth, *skipped, *rest])


# --- performance.trend --------------------------------------------------------------------------

TITLES = {  # a metric's name in figures and charts
    "latency": "checks.trend.metric.latency", "throughput": "checks.trend.metric.throughput",
    "errors": "checks.trend.metric.errors", "gpu": "checks.trend.metric.gpu", "cpu": "checks.trend.metric.cpu",
}
ROSE = {  # a flagged figure, with both weeks' values
    "latency": "checks.trend.rose.latency", "errors": "checks.trend.rose.errors", "gpu": "checks.trend.rose.gpu",
    "cpu": "checks.trend.rose.cpu", "throughput": "checks.trend.rose.throughput",
}


def _shown(value: float, unit: str) -> str:
    """A figure in a finding, in units either language reads as is (ms, %, req/s)."""
    if unit == "seconds":
        return f"{value * 1000:,.0f} ms" if value < 10 else f"{value:,.1f} s"
    if unit == "ratio":
        return f"{value * 100:.1f}%"
    return f"{value:,.1f} req/s"


@evaluator("performance.trend")
def performance_trend(ctx: CheckContext) -> ItemResult:
    if ctx.store is None:
        return not_run("performance.trend", Line("checks.trend.no_store"))
    step = float(ctx.plan.checks.trend_step)
    compared = [c for c in trend.compare(ctx.store, ctx.plan, ctx.start, ctx.end, step)
                if c.value is not None and c.previous is not None]
    if not compared:
        return not_run("performance.trend", Line("checks.trend.no_data"))
    span = ctx.end - ctx.start
    this_label = trend.week_label(ctx.start, ctx.end, ctx.plan.timezone)
    last_label = trend.week_label(ctx.start - span, ctx.start, ctx.plan.timezone)
    figures, charts, findings = [], [], []
    for metric in trend.METRICS:
        mine = [c for c in compared if c.metric is metric]
        if not mine:
            continue
        series = []
        for c in mine:
            figures.append(Figure(Line(TITLES[metric.key], {"subject": c.subject}), c.value, metric.unit,
                                  previous=c.previous))
            series += [Series(f"{c.subject} {this_label}", c.this_week),
                       Series(f"{c.subject} {last_label}", c.last_week)]
            if c.flagged:
                assert c.value is not None and c.previous is not None
                findings.append(Line(ROSE[metric.key], {
                    "subject": c.subject, "last_week": _shown(c.previous, metric.unit),
                    "this_week": _shown(c.value, metric.unit),
                    "change": f"{c.change * 100:.0f}%" if c.change is not None else "-"}))
        charts.append(Chart(Line(TITLES[metric.key], {"subject": ", ".join(c.subject for c in mine)}),
                            metric.unit, series))
    flagged = len(findings)
    summary = Line("checks.trend.summary", {"compared": len(compared), "flagged": flagged, "rise": f"{step:g}%"})
    return ItemResult("performance.trend", WARN if flagged else PASS, summary, figures=figures, charts=charts,
                      findings=findings)


# --- security.patches ---------------------------------------------------------------------------

def _packages(names: list[str], most: int = 30) -> str:
    return ", ".join(names[:most]) + (f", … (+{len(names) - most})" if len(names) > most else "")


@evaluator("security.patches")
def security_patches(ctx: CheckContext) -> ItemResult:
    tools = patches.Tools(ctx.environ)
    runs: list[ToolRun] = []
    try:
        apt = tools.run(["apt-get", "-s", "dist-upgrade"])
    except ToolMissing:
        return not_run("security.patches", Line("checks.patches.missing", {"tool": "apt-get"}))
    runs.append(apt)
    if apt.exit_code != 0:
        first = next((ln for ln in apt.output.splitlines() if ln.startswith(("E:", "W:"))), "")
        return ItemResult("security.patches", NOT_RUN, Line("checks.not_run"), tools=runs,
                          reason=Line("checks.patches.failed", {"tool": "apt-get", "code": apt.exit_code,
                                                                "detail": first or "-"}))
    updates = patches.parse_simulation(apt.output)
    security = [u.package for u in updates if u.security]
    other = [u.package for u in updates if not u.security]
    findings: list[Line] = []
    if security:
        findings.append(Line("checks.patches.security", {"count": len(security), "packages": _packages(security)}))
    if other:
        findings.append(Line("checks.patches.other", {"count": len(other), "packages": _packages(other)}))
    status = FAIL if security else WARN if other else PASS

    try:
        restart = tools.run(["needrestart", "-b"])
        runs.append(restart)
        found = patches.parse_needrestart(restart.output)
        if found.kernel_pending:
            findings.append(Line("checks.patches.kernel", {"running": found.kernel_running or "-",
                                                           "installed": found.kernel_expected or "-"}))
        if found.services:
            findings.append(Line("checks.patches.services", {"count": len(found.services),
                                                             "packages": _packages(found.services)}))
        if (found.kernel_pending or found.services) and status == PASS:
            status = WARN
    except ToolMissing:
        findings.append(Line("checks.patches.part_missing", {"tool": "needrestart"}))

    suite = patches.codename() or "bookworm"
    try:
        debsecan = tools.run(["debsecan", "--suite", suite, "--only-fixed"], version=False)
        runs.append(debsecan)
        if debsecan.exit_code == 0:
            fixable = patches.parse_debsecan(debsecan.output)
            if fixable:
                findings.append(Line("checks.patches.debsecan", {
                    "count": sum(len(v) for v in fixable.values()), "packages": _packages(sorted(fixable))}))
        else:  # most often: no network to security-tracker.debian.org
            said = debsecan.output.strip().splitlines()
            findings.append(Line("checks.patches.part_failed", {"tool": "debsecan", "code": debsecan.exit_code,
                                                                "detail": said[-1][:200] if said else "-"}))
    except ToolMissing:
        findings.append(Line("checks.patches.part_missing", {"tool": "debsecan"}))

    try:
        smi = tools.run(["nvidia-smi"], version=False, timeout=30)
        runs.append(smi)
        driver, cuda = patches.parse_nvidia(smi.output)
        if driver or cuda:
            findings.append(Line("checks.patches.nvidia", {"driver": driver or "-", "cuda": cuda or "-"}))
    except ToolMissing:
        pass  # a host without NVIDIA GPUs has no driver to report (gpu.status says whether one is expected)

    summary = Line("checks.patches.summary", {"total": len(updates), "security": len(security), "other": len(other)})
    figures = [Figure(Line("checks.patches.figure.security"), len(security), "count", threshold=0),
               Figure(Line("checks.patches.figure.other"), len(other), "count")]
    return ItemResult("security.patches", status, summary, figures=figures, tools=runs, findings=findings)
