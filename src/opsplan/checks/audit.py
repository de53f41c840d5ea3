"""The quarterly security audit (seed §2.2): built-in checks with stable ids in Lynis's spirit.

Each check (`OPS-SSH-001` ...) gives one or more `AuditFinding`s: a status, one catalogue line and
the evidence behind it (the config line, the file and its mode, the account names). The item's
status is its worst finding's; its score is the share of the checks that ran which passed (a check
that could not run counts neither way: it is listed as not-run, never as a pass). Like Lynis, the
run leaves a report file (JSON, 0600) with every finding and its evidence under the data dir.
The checks themselves live in audit_ssh, audit_host, audit_db and audit_lynis.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from opsplan.checks.model import FAIL, NOT_RUN, PASS, SEVERITY, WARN, Line, ToolRun, worst

# The ids and what each looks at (docs/checks-quarterly.md has the table): stable, never reused.
CHECKS: dict[str, str] = {
    "OPS-SSH-001": "SSH root login (PermitRootLogin)",
    "OPS-SSH-002": "SSH password authentication (PasswordAuthentication)",
    "OPS-NET-001": "listening ports against checks.allowed_ports",
    "OPS-DB-001": "no anonymous MariaDB accounts",
    "OPS-DB-002": "no MariaDB root account reachable from another host",
    "OPS-DB-003": "no MariaDB account with an empty password",
    "OPS-DB-004": "opsplan's MariaDB user holds no more than the documented privileges",
    "OPS-FILE-001": "modes of secrets (0600), the state DB, the data and backup dirs (no group/other write)",
    "OPS-TLS-001": "expiry of the web console's and the services' TLS certificates",
    "OPS-ACCT-001": "no account other than root with UID 0",
    "OPS-FW-001": "a firewall with rules (nft, iptables, ufw)",
    "OPS-UPD-001": "unattended-upgrades installed and enabled",
    "OPS-LYNIS-001": "a Lynis run and its hardening index, against the previous quarter",
}


@dataclass
class AuditFinding:
    check_id: str
    status: str
    line: Line
    evidence: list[str] = field(default_factory=list)  # raw facts for the report file (no secrets)
    tools: list[ToolRun] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.check_id not in CHECKS:
            raise ValueError(f"unknown audit check id {self.check_id!r}")


def skipped(check_id: str, line: Line, evidence: list[str] | None = None) -> AuditFinding:
    """A check that could not run, and why (`line`): counted neither as a pass nor as a failure."""
    return AuditFinding(check_id, NOT_RUN, line, evidence or [])


def by_check(findings: Iterable[AuditFinding]) -> dict[str, str]:
    """Each check's status: its worst finding's."""
    statuses: dict[str, list[str]] = {}
    for finding in findings:
        statuses.setdefault(finding.check_id, []).append(finding.status)
    return {check: worst(found) for check, found in statuses.items()}


def score(findings: Iterable[AuditFinding]) -> float | None:
    """The share of the checks that ran which passed (None when none ran)."""
    ran = [status for status in by_check(findings).values() if status in (PASS, WARN, FAIL)]
    return sum(status == PASS for status in ran) / len(ran) if ran else None


def counts(findings: Iterable[AuditFinding]) -> dict[str, int]:
    statuses = list(by_check(findings).values())
    return {"total": len(statuses), "passed": statuses.count(PASS), "warned": statuses.count(WARN),
            "failed": statuses.count(FAIL), "skipped": statuses.count(NOT_RUN)}


def worst_first(findings: Iterable[AuditFinding]) -> list[AuditFinding]:
    order = list(CHECKS)
    return sorted(findings, key=lambda f: (-SEVERITY[f.status], order.index(f.check_id)))


def write_report(directory: Path, stamp: str, findings: list[AuditFinding]) -> Path:
    """The run's report file (Lynis keeps one too): every finding with its evidence, mode 0600."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / f"security-audit-{stamp}.json"
    body = {"checks": by_check(findings), "score": score(findings),
            "findings": [{"check": f.check_id, "status": f.status, "key": f.line.key, "values": dict(f.line.values),
                          "evidence": f.evidence} for f in worst_first(findings)]}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(body, out, ensure_ascii=False, indent=1, default=str)
    return path
