"""The hosts file of `opsplan fleet export --hosts FILE`: which plan each host runs, and where the
fleet's Prometheus reaches it (docs/fleet.md). Plans given on the command line need no such file
when each says where it is served (web.public_url, or web.bind:port)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from opsplan.errors import OpsplanError, said

HOST_KEYS = {"plan", "name", "url", "token_file"}
MEMBER_KEYS = {"url", "cluster"}
TOP_KEYS = {"hosts", "alertmanagers"}


@dataclass(frozen=True)
class HostEntry:
    plan: Path
    name: str | None = None  # default: the plan's server.name
    url: str | None = None  # default: web.public_url, else web.bind:port
    token_file: Path | None = None  # default: --token-file, else the plan's web.api_token_file


@dataclass(frozen=True)
class MemberEntry:
    url: str
    cluster: str | None = None  # default: the API's host, port 9094


@dataclass(frozen=True)
class HostsFile:
    hosts: list[HostEntry]
    alertmanagers: list[MemberEntry]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _entries(data: dict[str, Any], key: str, allowed: set[str], path: Path) -> list[dict[str, Any]]:
    items = data.get(key) or []
    if not isinstance(items, list):
        raise said(OpsplanError, "fleet.error.hosts_file", path=str(path), what=key)
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise said(OpsplanError, "fleet.error.hosts_file", path=str(path), what=f"{key}[{i}]")
        for name, value in item.items():
            if name not in allowed or not _text(value):
                raise said(OpsplanError, "fleet.error.hosts_file", path=str(path), what=f"{key}[{i}].{name}")
    return items


def read_hosts_file(path: Path) -> HostsFile:
    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise said(OpsplanError, "fleet.error.hosts_unreadable", path=str(path), reason=exc.strerror or "") from None
    except (YAMLError, UnicodeDecodeError):
        raise said(OpsplanError, "fleet.error.hosts_file", path=str(path), what="YAML") from None
    if not isinstance(data, dict) or set(data) - TOP_KEYS or not data.get("hosts"):
        raise said(OpsplanError, "fleet.error.hosts_file", path=str(path), what="hosts")
    hosts = []
    for i, item in enumerate(_entries(data, "hosts", HOST_KEYS, path)):
        if "plan" not in item:
            raise said(OpsplanError, "fleet.error.hosts_file", path=str(path), what=f"hosts[{i}].plan")
        token = item.get("token_file")
        hosts.append(HostEntry(plan=path.parent / item["plan"], name=item.get("name"), url=item.get("url"),
                               token_file=(path.parent / token).resolve() if token else None))
    members = []
    for i, item in enumerate(_entries(data, "alertmanagers", MEMBER_KEYS, path)):
        if "url" not in item:
            raise said(OpsplanError, "fleet.error.hosts_file", path=str(path), what=f"alertmanagers[{i}].url")
        members.append(MemberEntry(url=item["url"], cluster=item.get("cluster")))
    return HostsFile(hosts, members)
