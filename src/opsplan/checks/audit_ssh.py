"""OPS-SSH-001 (root login) and OPS-SSH-002 (password authentication).

The effective settings come from `sshd -T` when it runs (it applies defaults, Includes and the
order rules itself); without it (not installed, or not root: it needs the host keys), from
/etc/ssh/sshd_config and its Includes, read as sshd reads them: the first value of a keyword
wins and a `Match` block does not change the global settings.
"""

from __future__ import annotations

import glob
import re
import shutil
from pathlib import Path

from opsplan.checks.audit import AuditFinding, skipped
from opsplan.checks.model import FAIL, PASS, WARN, Line, ToolRun
from opsplan.checks.tools import ToolMissing, run_tool

SSHD_CONFIG = Path("/etc/ssh/sshd_config")
# OpenSSH's own defaults (since 7.0), used when nothing sets the keyword.
DEFAULTS = {"permitrootlogin": "prohibit-password", "passwordauthentication": "yes"}
_MAX_INCLUDE_DEPTH = 16
_KEYWORD = re.compile(r"^([A-Za-z]+)(?:\s*=\s*|\s+)(.*)$")  # "Keyword value" or "Keyword=value"
_ROOT_LINES = {PASS: "checks.audit.ssh.root_pass", WARN: "checks.audit.ssh.root_warn",
               FAIL: "checks.audit.ssh.root_fail"}
_PASSWORD_LINES = {PASS: "checks.audit.ssh.password_pass", WARN: "checks.audit.ssh.password_warn"}


def read_config(path: Path, settings: dict[str, str] | None = None, depth: int = 0,
                base: Path | None = None) -> dict[str, str]:
    """The global settings of an sshd_config (keywords lower-cased, first value wins). A relative
    Include is relative to the main file's directory (/etc/ssh), as sshd reads it."""
    settings = {} if settings is None else settings
    base = path.parent if base is None else base
    if depth > _MAX_INCLUDE_DEPTH:
        return settings
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _KEYWORD.match(line)
        if match is None:
            continue
        keyword, value = match.group(1).lower(), match.group(2).strip().strip('"')
        if keyword == "match":
            break  # what follows applies to some connections only
        if keyword == "include":
            for pattern in value.split():
                target = pattern if pattern.startswith("/") else str(base / pattern)
                for included in sorted(glob.glob(target)):
                    read_config(Path(included), settings, depth + 1, base)
            continue
        settings.setdefault(keyword, value.split()[0].lower() if value else "")
    return settings


def parse_sshd_t(output: str) -> dict[str, str]:
    settings: dict[str, str] = {}
    for line in output.splitlines():
        keyword, _, value = line.strip().partition(" ")
        if keyword:
            settings.setdefault(keyword.lower(), value.strip().lower())
    return settings


def effective_settings(config: Path = SSHD_CONFIG, *, use_sshd: bool = True) -> tuple[dict[str, str] | None, str,
                                                                                         list[ToolRun]]:
    """(settings, where they came from, tool runs); settings None when there is no SSH server here."""
    tools: list[ToolRun] = []
    sshd = shutil.which("sshd") or shutil.which("sshd", path="/usr/sbin:/usr/local/sbin:/sbin")
    if use_sshd and sshd is not None:
        try:
            run = run_tool([sshd, "-T", "-f", str(config)], timeout=20, version_argv=[sshd, "-V"])
            tools.append(run)
            if run.exit_code == 0 and "permitrootlogin" in run.output.lower():
                return parse_sshd_t(run.output), "sshd -T", tools
        except ToolMissing:
            pass
    if not config.is_file():
        return None, str(config), tools
    return read_config(config), str(config), tools


def check(config: Path = SSHD_CONFIG, *, use_sshd: bool = True) -> list[AuditFinding]:
    try:
        settings, source, tools = effective_settings(config, use_sshd=use_sshd)
    except OSError as exc:
        return [skipped(c, Line("checks.audit.unreadable", {"check": c, "path": str(config),
                                                            "detail": exc.strerror or str(exc)}))
                for c in ("OPS-SSH-001", "OPS-SSH-002")]
    if settings is None:
        return [skipped(c, Line("checks.audit.ssh.absent", {"check": c, "path": str(config)}))
                for c in ("OPS-SSH-001", "OPS-SSH-002")]
    root = settings.get("permitrootlogin", DEFAULTS["permitrootlogin"])
    password = settings.get("passwordauthentication", DEFAULTS["passwordauthentication"])
    root_status = PASS if root == "no" else FAIL if root == "yes" else WARN
    password_status = PASS if password == "no" else WARN
    return [
        AuditFinding("OPS-SSH-001", root_status, Line(_ROOT_LINES[root_status],
                                                      {"value": root, "path": source}),
                     [f"PermitRootLogin {root} ({source})"], tools),
        AuditFinding("OPS-SSH-002", password_status, Line(_PASSWORD_LINES[password_status],
                                                          {"value": password, "path": source}),
                     [f"PasswordAuthentication {password} ({source})"]),
    ]
