"""OPS-LYNIS-001: a Lynis run when lynis is installed, its hardening index read from its report
file and compared with the previous quarter's. Without lynis the check is not-run, never a pass."""

from __future__ import annotations

import re
from pathlib import Path

from opsplan.checks.audit import AuditFinding, skipped
from opsplan.checks.model import FAIL, PASS, WARN, Line
from opsplan.checks.tools import ToolMissing, run_tool

# Below this Lynis's own scale reads "weak" (its report colours 0-50 red, 50-70 yellow).
LOW_INDEX = 50
LYNIS_TIMEOUT = 900.0  # a quick audit takes a minute or two; a hung one must not hold the run


def read_report(path: Path) -> tuple[int | None, int, int]:
    """(hardening_index, warnings, suggestions) from a lynis-report.dat."""
    index, warnings, suggestions = None, 0, 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("hardening_index="):
            match = re.match(r"hardening_index=(\d+)", line)
            index = int(match.group(1)) if match else None
        elif line.startswith("warning[]="):
            warnings += 1
        elif line.startswith("suggestion[]="):
            suggestions += 1
    return index, warnings, suggestions


def check(work_dir: Path, previous_index: float | None, *, program: str = "lynis") -> tuple[list[AuditFinding],
                                                                                              int | None]:
    """Run lynis with its report file in `work_dir` (the run's own, 0700); (findings, index)."""
    work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    report = work_dir / "lynis-report.dat"
    report.unlink(missing_ok=True)
    try:
        run = run_tool([program, "audit", "system", "--quick", "--no-colors", "--report-file", str(report),
                        "--logfile", str(work_dir / "lynis.log")], timeout=LYNIS_TIMEOUT,
                       version_argv=[program, "show", "version"])
    except ToolMissing:
        return [skipped("OPS-LYNIS-001", Line("checks.audit.lynis.missing", {"check": "OPS-LYNIS-001"}))], None
    index = None
    warnings = suggestions = 0
    if report.is_file():
        index, warnings, suggestions = read_report(report)
    if index is None:
        finding = skipped("OPS-LYNIS-001", Line("checks.audit.lynis.no_index", {
            "check": "OPS-LYNIS-001", "code": "-" if run.exit_code is None else run.exit_code}))
        finding.tools = [run]
        return [finding], None
    dropped = previous_index is not None and index < previous_index
    status = FAIL if index < LOW_INDEX else WARN if dropped or warnings else PASS
    line = Line("checks.audit.lynis.index", {"value": index, "warnings": warnings, "suggestions": suggestions,
                                             "previous": "-" if previous_index is None else int(previous_index)})
    return [AuditFinding("OPS-LYNIS-001", status, line, [f"hardening_index={index}", f"warnings={warnings}",
                                                         f"suggestions={suggestions}"], [run])], index
