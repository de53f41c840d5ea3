"""How long the software under the box is supported: a small dated table, and the status of a
version against it. The dates change only when a vendor announces them: update the table and
AS_OF together (the report says "as of" this date, so a stale table shows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from opsplan.checks.model import FAIL, NOT_RUN, PASS, WARN, Line

AS_OF = "2026-11-30"  # when the dates below were last checked against their sources
# Regular support ending within this many days is a warning: a major upgrade needs planning.
ENDING_SOON_DAYS = 180


@dataclass(frozen=True)
class Support:
    regular_end: date  # security updates from the vendor's own team
    lts_end: date | None  # then Long Term Support (Debian LTS), if any
    source: str


_DEBIAN = "https://wiki.debian.org/DebianReleases, https://wiki.debian.org/LTS"
_MARIADB = "https://mariadb.org/about/#maintenance-policy"
_PYTHON = "https://devguide.python.org/versions/"
_NVIDIA = "https://docs.nvidia.com/datacenter/tesla/drivers/ (Supported Drivers and CUDA Toolkit Versions)"
OS_RELEASES: dict[tuple[str, str], Support] = {
    ("debian", "11"): Support(date(2024, 8, 14), date(2026, 8, 31), _DEBIAN),
    ("debian", "12"): Support(date(2026, 6, 10), date(2028, 6, 30), _DEBIAN),
    ("debian", "13"): Support(date(2028, 8, 9), date(2030, 6, 30), _DEBIAN),
}
MARIADB_SERIES: dict[str, Support] = {  # long-term series only: a short-term one is a warning by itself
    "10.6": Support(date(2026, 7, 6), None, _MARIADB),
    "10.11": Support(date(2028, 2, 16), None, _MARIADB),
    "11.4": Support(date(2029, 5, 29), None, _MARIADB),
    "11.8": Support(date(2028, 6, 4), None, _MARIADB),
    # mariadb.com names 12.3 the current long-term series; three years from its GA, as the policy says.
    "12.3": Support(date(2029, 6, 30), None, _MARIADB),
}
PYTHON_SERIES: dict[str, Support] = {
    "3.10": Support(date(2026, 10, 31), None, _PYTHON),
    "3.11": Support(date(2027, 10, 31), None, _PYTHON),
    "3.12": Support(date(2028, 10, 31), None, _PYTHON),
    "3.13": Support(date(2029, 10, 31), None, _PYTHON),
    "3.14": Support(date(2030, 10, 31), None, _PYTHON),
    "3.15": Support(date(2031, 10, 31), None, _PYTHON),  # first released 2026-10
}
# NVIDIA's Linux driver branches (the first number of the version) with a published end of life: Long
# Term Support and Production branches only (a New Feature branch is short-lived: not judged). The
# month NVIDIA gives is read as its last day.
DRIVER_BRANCHES: dict[str, Support] = {
    "535": Support(date(2026, 6, 30), None, _NVIDIA),  # LTSB
    "580": Support(date(2028, 6, 30), None, _NVIDIA),  # LTSB
    "595": Support(date(2027, 3, 31), None, _NVIDIA),  # Production Branch
    "620": Support(date(2029, 9, 30), None, _NVIDIA),  # LTSB
}


def today(now: float) -> date:
    return datetime.fromtimestamp(now, UTC).date()


def judge(name: str, support: Support | None, on: date) -> tuple[str, Line, float | None]:
    """(status, line, days of support left: regular, else LTS) of `name` on the day `on`."""
    if support is None:
        return NOT_RUN, Line("checks.updates.unknown", {"name": name, "as_of": AS_OF}), None
    last = support.lts_end or support.regular_end
    if on > last:
        return FAIL, Line("checks.updates.ended", {"name": name, "ended": last.isoformat(), "as_of": AS_OF}), \
            float((last - on).days)
    if on > support.regular_end and support.lts_end is not None:
        return WARN, Line("checks.updates.lts_only", {"name": name, "ended": support.regular_end.isoformat(),
                                                     "until": support.lts_end.isoformat(), "as_of": AS_OF}), \
            float((support.lts_end - on).days)
    left = (support.regular_end - on).days
    if left < ENDING_SOON_DAYS:
        return WARN, Line("checks.updates.ending", {"name": name, "until": support.regular_end.isoformat(),
                                                    "days": left, "as_of": AS_OF}), float(left)
    return PASS, Line("checks.updates.supported", {"name": name, "until": support.regular_end.isoformat(),
                                                   "as_of": AS_OF}), float(left)


def read_os_release(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and not key.startswith("#"):
            values[key.strip()] = value.strip().strip('"').strip("'")
    return values


def os_name(release: dict[str, str]) -> str:
    return release.get("PRETTY_NAME") or f"{release.get('NAME', '?')} {release.get('VERSION_ID', '')}".strip()


def os_support(release: dict[str, str]) -> Support | None:
    return OS_RELEASES.get((release.get("ID", "").lower(), release.get("VERSION_ID", "").split(".")[0]))


def driver_branch(version: str) -> str:
    """'580.95.05' -> '580'."""
    return version.strip().split(".")[0]


def series(version: str, parts: int = 2) -> str:
    """'10.11.19-MariaDB-0+deb12u1-log' -> '10.11'."""
    numbers = version.split("-")[0].split(".")
    return ".".join(numbers[:parts])
