"""Which `Host` headers `opsplan serve` answers: its own names and addresses, nothing else.

A page on any web site can make a browser on the operator's desk send requests to opsplan once it
re-points its own domain name at 127.0.0.1 (DNS rebinding); the browser then treats opsplan's
answers as that site's and lets its script read them. Such a request still carries the site's
name in `Host`, so answering only the names opsplan is reached by closes that door.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import psutil

from opsplan.net import is_loopback

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARD_BINDS = ("", "0.0.0.0", "::")


def _host_entry(host: str) -> str:
    """The form Starlette compares with: lower case, IPv6 literals in brackets, no zone."""
    host = host.strip().lower().split("%", 1)[0]
    if host.startswith("[") and host.endswith("]"):
        return host
    try:
        return f"[{host}]" if ipaddress.ip_address(host).version == 6 else host
    except ValueError:
        return host


def _machine_names() -> list[str]:
    return [n for n in (socket.gethostname(), socket.getfqdn()) if n]


def _interface_addresses() -> list[str]:
    return [a.address for addrs in psutil.net_if_addrs().values() for a in addrs
            if a.family in (socket.AF_INET, socket.AF_INET6)]


def allowed_hosts(bind: str, public_url: str | None) -> list[str]:
    """Host names and addresses a request may name for a server bound to `bind`.

    Loopback bind: the loopback names and the bind address. A specific address: that address and
    this machine's host names. A wildcard bind: every address of this machine's interfaces, the
    loopback names and the host names. Always `web.public_url`'s host (a reverse proxy's name).
    """
    hosts: list[str] = [] if bind in WILDCARD_BINDS else [bind]
    if is_loopback(bind):
        hosts += LOOPBACK_NAMES
    elif bind in WILDCARD_BINDS:
        hosts += [*LOOPBACK_NAMES, *_machine_names(), *_interface_addresses()]
    else:
        hosts += _machine_names()
    if public_url:
        name = urlsplit(public_url).hostname
        if name:
            hosts.append(name)
    out: list[str] = []
    for host in hosts:
        entry = _host_entry(host)
        if entry and "*" not in entry and entry not in out:
            out.append(entry)
    return out
