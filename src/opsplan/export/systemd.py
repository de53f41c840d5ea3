"""systemd/opsplan.service, opsplan.sysusers.conf and opsplan.tmpfiles.conf: `opsplan serve` as a
hardened service of its own user, derived from the plan (docs/install.md installs them).

The unit gives the service what the plan needs and nothing else: writable only where the plan
writes (`host.writable_paths`), the groups it reads through (`host.supplementary_groups`), no
capabilities, no new privileges. Devices stay visible: NVML opens /dev/nvidia*.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from opsplan.errors import OpsplanError
from opsplan.export import host
from opsplan.export.writer import HEADER
from opsplan.plan.models import Plan

SERVICE_USER = "opsplan"
# `opsplan serve` exits 0 within 5 s of SIGTERM (serve/server.py); its children (mariabackup, a
# drill's scratch mariadbd) get SIGTERM with it and the rest of this to shut down cleanly.
STOP_TIMEOUT_S = 30
RESTART_S = 10
STATE_ROOT = Path("/var/lib")
# Blanks, quotes and backslashes would need unit-file quoting that tmpfiles.d and sysusers.d do
# not share; such a path is refused rather than written in three different escapings.
UNSAFE = re.compile(r"[\s\"'\\;]|[\x00-\x1f\x7f]")
PRIVILEGED_PORTS = 1024
DEFAULT_PROGRAM = Path("/opt/opsplan/bin/opsplan")  # docs/install.md's virtual environment


@dataclass(frozen=True)
class Install:
    """Where opsplan is installed on the server: the program and the plan the service runs."""

    program: Path
    plan_path: Path
    user: str = SERVICE_USER
    program_found: bool = True  # False: no opsplan where the export ran, `program` is DEFAULT_PROGRAM


def _path(path: Path | str, what: str) -> str:
    text = str(path)
    if not text.startswith("/"):
        raise OpsplanError(f"{what}: {text[:200]!r} is relative; a service needs an absolute path")
    if UNSAFE.search(text):
        raise OpsplanError(f"{what}: {text[:200]!r} has a blank, quote, backslash or semicolon; "
                           "a systemd unit cannot name it safely")
    return text.replace("%", "%%")  # a systemd specifier otherwise


def _comments(lines: list[str] | tuple[str, ...], prefix: str = "") -> list[str]:
    return [f"# {prefix}{line}" for line in lines]


def unit_file(plan: Plan, install: Install, lookup: host.Lookup = host.host_lookup) -> str:
    writable = host.writable_paths(plan)
    groups = host.supplementary_groups(plan, lookup)
    secrets = host.secrets(plan)
    used = [Path(n.value) for n in writable] + host.read_paths(plan) + [install.plan_path]
    in_home = [p for p in used if host.under(p, host.HOME_ROOTS)]
    in_tmp = [p for p in used if host.under(p, host.TMP_ROOTS)]
    data_dir = host.absolute(plan.data_dir, "data_dir")
    program = _path(install.program, "the opsplan program").replace("$", "$$")
    plan_path = _path(install.plan_path, "the plan's path").replace("$", "$$")

    out = [
        "[Unit]",
        f"Description=opsplan: the operations plan of {plan.server.name} (monitoring, alerts, backups)",
        "Wants=network-online.target",
        "After=network-online.target",
    ]
    if _local_database(plan):
        out += ["# Ordered after MariaDB, never bound to it: opsplan keeps running to say MariaDB is down.",
                "After=mariadb.service"]
    if plan.expected_gpus():
        out += ["# After the driver's persistence daemon, never bound to it: NVML then answers from the first",
                "# cycle instead of racing the driver at boot (docs/gpu.md).",
                "After=nvidia-persistenced.service"]
    out += [
        "",
        "[Service]",
        "Type=exec",
        f"User={install.user}",
        f"Group={install.user}",
        "# Supplementary groups: only those the plan reads through.",
    ]
    for need in groups:
        out += _comments(need.reasons, f"{need.value}: ")
    out += ["# No systemd-journal group: the plan reads no journal; serve's own log lines reach it on stderr.",
            f"SupplementaryGroups={' '.join(n.value for n in groups)}"]
    if not install.program_found:
        out += ["# No opsplan program was found where this was exported: this is docs/install.md's place.",
                "# systemd-analyze verify says if it is missing; export again with --program PATH."]
    out += [f"ExecStart={program} --plan {plan_path} serve",
            "# serve stops on SIGTERM and exits 0 within 5 s; its children (mariabackup, a drill's",
            "# scratch mariadbd) get SIGTERM too (control-group) and the rest of the timeout to stop.",
            "KillSignal=SIGTERM",
            "KillMode=control-group",
            f"TimeoutStopSec={STOP_TIMEOUT_S}s",
            "Restart=on-failure",
            f"RestartSec={RESTART_S}s",
            "# Exit 2 is a plan that does not load: restarting cannot fix it, the journal says why.",
            "RestartPreventExitStatus=2",
            "# Secrets never go into Environment=: the plan points at files only the service user reads (0600)."]
    out += _comments(secrets.files, "read from ")
    if secrets.env_only:
        out += ["# Not set for the service (the write API or a channel stays off without them); to use one,",
                "# give the plan the matching *_file instead, mode 0600, owned by the service user:"]
        out += _comments(secrets.env_only, "  ")
    if secrets.state_db_env:
        out += [f"# {secrets.state_db_env} (state_db_url_env) holds a URL with a password: this file,",
                "# mode 0600 owned by root, is read by systemd before it drops privileges.",
                f"EnvironmentFile={_path(install.plan_path.parent / 'opsplan.env', 'the environment file')}"]
    out += ["UMask=0027", "",
            "# Hardening: no privileges to gain, everything read-only but what the plan writes."]
    port = plan.web.port
    if 0 < port < PRIVILEGED_PORTS:
        out += [f"# web.port {port} is below 1024: the one capability serve needs to listen there.",
                "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
                "AmbientCapabilities=CAP_NET_BIND_SERVICE"]
    else:
        out += ["CapabilityBoundingSet="]
    out += ["NoNewPrivileges=yes", "ProtectSystem=strict", "# Writable:"]
    for need in writable:
        out += _comments(need.reasons, f"{need.value}: ")
    out.append(f"ReadWritePaths={' '.join(_path(n.value, 'a writable path') for n in writable)}")
    if data_dir.is_relative_to(STATE_ROOT) and data_dir != STATE_ROOT:
        out += ["# data_dir is under /var/lib: systemd creates it for the service user, private.",
                f"StateDirectory={_path(data_dir, 'data_dir')[len(str(STATE_ROOT)) + 1:]}",
                "StateDirectoryMode=0700"]
    if in_home:
        out += [f"# {in_home[0]} is under a home directory: homes stay visible, read-only.",
                "ProtectHome=read-only"]
    else:
        out.append("ProtectHome=yes")
    if in_tmp:
        out += [f"# {in_tmp[0]} is under a temporary directory the operator's commands share: no private /tmp.",
                "PrivateTmp=no"]
    else:
        out.append("PrivateTmp=yes")
    out += ["ProtectKernelTunables=yes",
            "# cgroups stay readable (read-only) for the memory and CPU figures.",
            "ProtectControlGroups=yes",
            "# No PrivateDevices, no DevicePolicy: NVML opens /dev/nvidia* (and ProtectClock would close them).",
            "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
            "# The NVIDIA driver is loaded at boot (nvidia-persistenced), never by the service.",
            "ProtectKernelModules=yes",
            "ProtectKernelLogs=yes",
            "ProtectHostname=yes",
            "PrivateMounts=yes",
            "RestrictNamespaces=yes",
            "RestrictSUIDSGID=yes",
            "RestrictRealtime=yes",
            "LockPersonality=yes",
            "SystemCallArchitectures=native",
            "RemoveIPC=yes",
            "# Not set, on purpose: SystemCallFilter, MemoryDenyWriteExecute and ProtectProc could break",
            "# mariabackup, a drill's mariadbd or Python extensions; PrivateUsers would drop the groups above.",
            "",
            "[Install]",
            "WantedBy=multi-user.target"]
    return _header("Install: docs/install.md. Check: systemd-analyze verify opsplan.service") + "\n".join(out) + "\n"


def _local_database(plan: Plan) -> bool:
    return plan.database.socket is not None or plan.database.host in ("127.0.0.1", "localhost", "::1")


def _header(how: str) -> str:
    return f"{HEADER}# {how}\n"


def sysusers_file(plan: Plan, install: Install) -> str:
    home = _path(host.absolute(plan.data_dir, "data_dir"), "data_dir")
    return (_header("Install as /etc/sysusers.d/opsplan.conf, then run systemd-sysusers.")
            + "# The service's own system user and group: no login shell, its home is the data directory.\n"
            + f'u {install.user} - "opsplan service" {home}\n')


def tmpfiles_file(plan: Plan, install: Install) -> str:
    lines = [_header("Install as /etc/tmpfiles.d/opsplan.conf, then run systemd-tmpfiles --create."),
             "# The directories the service writes, private to its user (ReadWritePaths needs them to exist).\n"]
    created = [host.absolute(plan.data_dir, "data_dir"), host.absolute(plan.backup.directory, "backup.directory")]
    if plan.recovery.scratch_dir is not None:
        created.append(host.absolute(plan.recovery.scratch_dir, "recovery.scratch_dir"))
    for path in dict.fromkeys(created):
        lines.append(f"d {_path(path, 'a writable path')} 0700 {install.user} {install.user} -\n")
    return "".join(lines)


def systemd_files(plan: Plan, install: Install, lookup: host.Lookup = host.host_lookup) -> dict[str, str]:
    return {
        "systemd/opsplan.service": unit_file(plan, install, lookup),
        "systemd/opsplan.sysusers.conf": sysusers_file(plan, install),
        "systemd/opsplan.tmpfiles.conf": tmpfiles_file(plan, install),
    }
