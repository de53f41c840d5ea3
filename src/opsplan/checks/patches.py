"""Pending security patches (seed §2.2 보안 패치 적용): what Debian would install, and what is left.

- `apt-get -s dist-upgrade` (a simulation: nothing is installed, no root needed): each `Inst` line
  is an update; it is a security update when an origin in its parentheses is a `*-security` suite.
- `needrestart -b` (batch mode): the kernel and services still running old code after an upgrade.
- `debsecan --suite <codename> --only-fixed`: vulnerabilities a package update would fix. It fetches
  its data from security-tracker.debian.org: without network it fails, and says so.
- `nvidia-smi`: the NVIDIA driver and CUDA versions (their updates do not come from apt's security suite).
Every program goes through tools.run_tool: its output is kept, masked and hashed, as evidence.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field

from opsplan.checks.model import ToolRun
from opsplan.checks.tools import ToolMissing, run_tool

# Inst <package> [<installed version>] (<new version> <origin>[, <origin>...] [<arch>]) [...]
_INST = re.compile(r"^Inst (?P<package>\S+)(?: \[(?P<installed>[^\]]*)\])? \((?P<version>\S+) (?P<origins>[^\[)]*)")


@dataclass(frozen=True)
class Update:
    package: str
    installed: str | None  # None: a new package the upgrade pulls in
    version: str
    security: bool


def parse_simulation(output: str) -> list[Update]:
    """The updates of an `apt-get -s dist-upgrade` output, in its order."""
    updates = []
    for line in output.splitlines():
        found = _INST.match(line)
        if found is None:
            continue
        origins = [o.strip() for o in found["origins"].split(",")]
        updates.append(Update(found["package"], found["installed"], found["version"],
                              any(o.rsplit("/", 1)[-1].endswith("-security") or "-security" in o for o in origins)))
    return updates


@dataclass
class Restarts:
    kernel_running: str | None = None
    kernel_expected: str | None = None
    kernel_pending: bool = False  # NEEDRESTART-KSTA 2 or 3: a newer kernel is installed than the running one
    services: list[str] = field(default_factory=list)


def parse_needrestart(output: str) -> Restarts:
    """`needrestart -b` lines: `NEEDRESTART-KCUR: x`, `NEEDRESTART-KEXP: y`, `NEEDRESTART-KSTA: n`,
    `NEEDRESTART-SVC: unit`."""
    found = Restarts()
    for line in output.splitlines():
        key, _, value = line.partition(":")
        value = value.strip()
        if key == "NEEDRESTART-KCUR":
            found.kernel_running = value
        elif key == "NEEDRESTART-KEXP":
            found.kernel_expected = value
        elif key == "NEEDRESTART-KSTA":
            found.kernel_pending = value in ("2", "3")
        elif key == "NEEDRESTART-SVC":
            found.services.append(value)
    return found


def parse_debsecan(output: str) -> dict[str, list[str]]:
    """`debsecan` lines `CVE-... package (fixed, ...)`: package -> its CVEs."""
    found: dict[str, list[str]] = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) >= 2 and (parts[0].startswith(("CVE-", "TEMP-", "DSA-", "DLA-"))):
            found.setdefault(parts[1], []).append(parts[0])
    return found


def parse_nvidia(output: str) -> tuple[str | None, str | None]:
    """(driver, CUDA) from `nvidia-smi`'s header: `Driver Version: 550.54.15   CUDA Version: 12.4`."""
    driver = re.search(r"Driver Version:\s*(\S+)", output)
    cuda = re.search(r"CUDA Version:\s*(\S+)", output)
    return (driver[1] if driver else None, cuda[1] if cuda else None)


def codename(os_release: str = "/etc/os-release") -> str | None:
    try:
        with open(os_release, encoding="utf-8") as handle:
            for line in handle:
                key, _, value = line.strip().partition("=")
                if key == "VERSION_CODENAME" and value:
                    return value.strip('"')
    except OSError:
        return None
    return None


class Tools:
    """Runs the programs found on `environ`'s PATH (a test gives a PATH without needrestart)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.path = (environ or {}).get("PATH") or os.environ.get("PATH", "")
        # The C locale: apt and needrestart translate their words, and the parsers read English ones.
        self.env = {**os.environ, "PATH": self.path, "LC_ALL": "C", "LANG": "C"}

    def run(self, argv: list[str], *, version: bool = True, timeout: float = 300.0) -> ToolRun:
        program = shutil.which(argv[0], path=self.path)
        if program is None:
            raise ToolMissing(argv[0])
        return run_tool([program, *argv[1:]], timeout=timeout, env=self.env,
                        version_argv=[program, "--version"] if version else None)
