"""The audit's host checks: listening ports (OPS-NET-001), file modes (OPS-FILE-001), TLS
certificate expiry (OPS-TLS-001), UID 0 accounts (OPS-ACCT-001), a firewall (OPS-FW-001) and
unattended-upgrades (OPS-UPD-001). Every path is an argument, so each is tested on a fixture tree."""

from __future__ import annotations

import ipaddress
import re
import ssl
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psutil

from opsplan.checks.audit import AuditFinding, skipped
from opsplan.checks.model import FAIL, PASS, WARN, Line, ToolRun
from opsplan.checks.tools import ToolMissing, run_tool
from opsplan.collectors.services import cert_not_after, fetch_cert_not_after
from opsplan.plan.models import Plan

DAY = 86400.0


# --- OPS-NET-001 listening ports ---------------------------------------------------------------

@dataclass(frozen=True)
class Listener:
    protocol: str  # tcp or udp
    address: str
    port: int
    process: str | None = None

    def shown(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}/{self.protocol}" + (f" ({self.process})" if self.process else "")


def _loopback(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool(ip.is_loopback or (mapped is not None and mapped.is_loopback))


def _ephemeral_start(path: Path = Path("/proc/sys/net/ipv4/ip_local_port_range")) -> int:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def listeners() -> list[Listener]:
    """TCP sockets in LISTEN and UDP sockets bound with no peer below the ephemeral range (a UDP
    client's socket is bound too, to a port the kernel picked from that range)."""
    ephemeral = _ephemeral_start()
    found: set[Listener] = set()
    for conn in psutil.net_connections(kind="inet"):
        if not conn.laddr:
            continue
        is_tcp = conn.type == 1  # socket.SOCK_STREAM
        if is_tcp and conn.status != psutil.CONN_LISTEN:
            continue
        if not is_tcp and (conn.raddr or conn.laddr.port >= ephemeral):
            continue
        name = None
        if conn.pid:
            try:
                name = psutil.Process(conn.pid).name()
            except (psutil.Error, OSError):
                name = None
        found.add(Listener("tcp" if is_tcp else "udp", conn.laddr.ip, conn.laddr.port, name))
    return sorted(found, key=lambda listener: (listener.port, listener.protocol, listener.address))


def check_ports(plan: Plan, found: Iterable[Listener]) -> list[AuditFinding]:
    """Each listener against checks.allowed_ports (+ the web console's port on web.bind). One not
    allowed on a non-loopback address fails; one only on loopback is a warning."""
    allowed = plan.checks.allowed_ports
    web = plan.web
    exposed: list[Listener] = []
    local: list[Listener] = []
    every = list(found)
    for listener in every:
        if listener.protocol == "tcp" and listener.port == web.port and (
                _loopback(listener.address) or not _loopback(web.bind)):
            continue
        ok = any(entry.port == listener.port and entry.protocol == listener.protocol
                 and (entry.scope == "any" or _loopback(listener.address)) for entry in allowed)
        if not ok:
            (local if _loopback(listener.address) else exposed).append(listener)
    evidence = [listener.shown() for listener in every]
    findings = []
    if exposed:
        findings.append(AuditFinding("OPS-NET-001", FAIL, Line("checks.audit.net.exposed", {
            "count": len(exposed), "ports": ", ".join(each.shown() for each in exposed)}), evidence))
    if local:
        findings.append(AuditFinding("OPS-NET-001", WARN, Line("checks.audit.net.local", {
            "count": len(local), "ports": ", ".join(each.shown() for each in local)}), evidence))
    return findings or [AuditFinding("OPS-NET-001", PASS, Line("checks.audit.net.ok", {"count": len(every)}),
                                     evidence)]


# --- OPS-FILE-001 modes ------------------------------------------------------------------------

@dataclass(frozen=True)
class Guarded:
    path: Path
    secret: bool  # True: owner only (0600/0700); False: no group/other write


def guarded_paths(plan: Plan) -> list[Guarded]:
    """The plan's secret files (passwords, tokens, keys, channel URLs), the state DB, and the
    data and backup directories."""
    secrets = [plan.database.password_file, plan.web.api_token_file, plan.web.tls_key_file,
               *(channel.url_file for channel in plan.notifications.channels)]
    out = [Guarded(Path(s), True) for s in secrets if s is not None]
    out.append(Guarded(Path(plan.data_dir) / "state.db", True))
    out += [Guarded(Path(plan.data_dir), False), Guarded(Path(plan.backup.directory), False)]
    return out


def check_modes(paths: Sequence[Guarded]) -> list[AuditFinding]:
    loose: list[str] = []
    looked: list[str] = []
    for each in paths:
        try:
            mode = stat.S_IMODE(each.path.stat().st_mode)
        except FileNotFoundError:
            continue  # nothing there yet (no backup ran, no state yet): nothing exposed
        except OSError as exc:
            return [skipped("OPS-FILE-001", Line("checks.audit.unreadable", {
                "check": "OPS-FILE-001", "path": str(each.path), "detail": exc.strerror or str(exc)}))]
        looked.append(f"{each.path} {mode:04o}")
        too_open = mode & 0o077 if each.secret else mode & 0o022
        if too_open:
            loose.append(f"{each.path} ({mode:04o})")
    if not looked:
        return [skipped("OPS-FILE-001", Line("checks.audit.files.none", {"check": "OPS-FILE-001"}))]
    if loose:
        return [AuditFinding("OPS-FILE-001", FAIL, Line("checks.audit.files.loose", {
            "count": len(loose), "paths": ", ".join(loose)}), looked)]
    return [AuditFinding("OPS-FILE-001", PASS, Line("checks.audit.files.ok", {"count": len(looked)}), looked)]


# --- OPS-TLS-001 certificates ------------------------------------------------------------------

def pem_not_after(path: Path) -> float:
    """notAfter of the first certificate of a PEM file (the server's own, before its chain)."""
    text = path.read_text(encoding="ascii", errors="replace")
    match = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", text, re.S)
    if match is None:
        raise ValueError("no PEM certificate in the file")
    return cert_not_after(ssl.PEM_cert_to_DER_cert(match.group(0)))


def _expiry(name: str, not_after: float, now: float, warn_days: float) -> AuditFinding:
    days = (not_after - now) / DAY
    if days < 0:
        return AuditFinding("OPS-TLS-001", FAIL, Line("checks.audit.tls.expired", {"name": name, "days": int(-days)}),
                            [f"{name}: notAfter {not_after:.0f}"])
    status = WARN if days < warn_days else PASS
    key = "checks.audit.tls.soon" if status == WARN else "checks.audit.tls.ok"
    return AuditFinding("OPS-TLS-001", status, Line(key, {"name": name, "days": int(days)}),
                        [f"{name}: notAfter {not_after:.0f}"])


def check_certificates(plan: Plan, now: float, *,
                       fetch: Callable[[str, int, float], float] = fetch_cert_not_after) -> list[AuditFinding]:
    findings: list[AuditFinding] = []
    if plan.web.tls_cert_file is not None:
        try:
            findings.append(_expiry(str(plan.web.tls_cert_file), pem_not_after(Path(plan.web.tls_cert_file)), now, 30))
        except (OSError, ValueError) as exc:
            findings.append(AuditFinding("OPS-TLS-001", FAIL, Line("checks.audit.tls.unreadable", {
                "path": str(plan.web.tls_cert_file), "detail": getattr(exc, "strerror", None) or str(exc)})))
    for service in plan.services:
        url = urlsplit(service.url or "")
        if url.scheme != "https" or not url.hostname:
            continue
        try:
            not_after = fetch(url.hostname, url.port or 443, float(service.timeout))
        except (OSError, ValueError) as exc:
            findings.append(skipped("OPS-TLS-001", Line("checks.audit.tls.unreachable", {
                "check": "OPS-TLS-001", "name": service.name, "detail": str(exc)[:200]})))
            continue
        findings.append(_expiry(service.name, not_after, now, service.tls_warning_days))
    if not findings:
        findings.append(skipped("OPS-TLS-001", Line("checks.audit.tls.none", {"check": "OPS-TLS-001"})))
    return findings


# --- OPS-ACCT-001 UID 0 ------------------------------------------------------------------------

def uid0_accounts(passwd: Path = Path("/etc/passwd")) -> list[str]:
    names = []
    for line in passwd.read_text(encoding="utf-8", errors="replace").splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and not line.startswith(("#", "+", "-")) and fields[2].strip() == "0":
            names.append(fields[0])
    return names


def check_uid0(passwd: Path = Path("/etc/passwd")) -> list[AuditFinding]:
    try:
        names = uid0_accounts(passwd)
    except OSError as exc:
        return [skipped("OPS-ACCT-001", Line("checks.audit.unreadable", {
            "check": "OPS-ACCT-001", "path": str(passwd), "detail": exc.strerror or str(exc)}))]
    others = [name for name in names if name != "root"]
    evidence = [f"{passwd}: UID 0: {', '.join(names) or '-'}"]
    if others:
        return [AuditFinding("OPS-ACCT-001", FAIL, Line("checks.audit.uid0.others", {
            "count": len(others), "names": ", ".join(others)}), evidence)]
    return [AuditFinding("OPS-ACCT-001", PASS, Line("checks.audit.uid0.ok", {}), evidence)]


# --- OPS-FW-001 firewall -----------------------------------------------------------------------

_NO_PERMISSION = ("operation not permitted", "permission denied", "you need to be root", "must be root")
_FIREWALLS: list[tuple[list[str], Callable[[str], bool]]] = [
    (["nft", "list", "ruleset"], lambda out: bool(re.search(r"^\s*(ip|inet|ip6).*\b(drop|reject|accept)\b", out,
                                                              re.M | re.I) or re.search(r"policy drop", out))),
    (["iptables-save"], lambda out: bool(re.search(r"^-A ", out, re.M) or re.search(r":INPUT (DROP|REJECT)", out))),
    (["ufw", "status"], lambda out: "status: active" in out.lower()),
]


def check_firewall(tools: Sequence[tuple[list[str], Callable[[str], bool]]] = _FIREWALLS) -> list[AuditFinding]:
    """A firewall is present when any of nft, iptables-save or ufw shows rules. None installed or
    none allowed to read (not root) is not-run, never a pass."""
    runs: list[ToolRun] = []
    denied = False
    for argv, has_rules in tools:
        try:
            run = run_tool(argv, timeout=30)
        except ToolMissing:
            continue
        runs.append(run)
        if any(word in run.output.lower() for word in _NO_PERMISSION):
            denied = True
            continue
        if run.exit_code == 0 and has_rules(run.output):
            return [AuditFinding("OPS-FW-001", PASS, Line("checks.audit.fw.ok", {"command": argv[0]}),
                                 [" ".join(argv)], runs)]
    if denied and not any(r.exit_code == 0 for r in runs):
        finding = skipped("OPS-FW-001", Line("checks.audit.fw.denied", {"check": "OPS-FW-001"}))
    elif not runs:
        finding = skipped("OPS-FW-001", Line("checks.audit.fw.no_tool", {"check": "OPS-FW-001"}))
    else:
        finding = AuditFinding("OPS-FW-001", FAIL, Line("checks.audit.fw.none", {}))
    finding.tools = runs
    return [finding]


# --- OPS-UPD-001 unattended-upgrades -----------------------------------------------------------

_PERIODIC = re.compile(r'APT::Periodic::Unattended-Upgrade\s+"?(\w+)"?\s*;')


def check_unattended(apt_conf_dir: Path = Path("/etc/apt/apt.conf.d"),
                     program: Path = Path("/usr/bin/unattended-upgrade")) -> list[AuditFinding]:
    if not apt_conf_dir.is_dir():
        return [skipped("OPS-UPD-001", Line("checks.audit.upd.no_apt", {"check": "OPS-UPD-001"}))]
    if not program.exists():
        return [AuditFinding("OPS-UPD-001", WARN, Line("checks.audit.upd.missing", {}), [f"{program}: absent"])]
    value, where = None, None
    for path in sorted(apt_conf_dir.iterdir()):  # apt reads them in order: the last setting wins
        try:
            for match in _PERIODIC.finditer(path.read_text(encoding="utf-8", errors="replace")):
                value, where = match.group(1), path
        except OSError:
            continue
    evidence = [f"APT::Periodic::Unattended-Upgrade {value!r} ({where})"]
    if value in (None, "0", "false"):
        return [AuditFinding("OPS-UPD-001", WARN, Line("checks.audit.upd.disabled", {}), evidence)]
    return [AuditFinding("OPS-UPD-001", PASS, Line("checks.audit.upd.ok", {}), evidence)]


__all__ = ["Listener", "listeners", "check_ports", "Guarded", "guarded_paths", "check_modes", "pem_not_after",
           "check_certificates", "uid0_accounts", "check_uid0", "check_firewall", "check_unattended"]
