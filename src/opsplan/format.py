"""Values as people read them: local times, ISO stamps, sizes, durations, percentages and JSON.

One place for the CLI, the web page, notifications and reports, so the same value reads the same
everywhere. Timestamps are UTC unix seconds (as stored); they are shown in the plan's timezone.

Bottom layer: the standard library only. Sizes and % use the international units in both
languages; durations take a `language`: English '5m', '4h', Korean '5분', '4시간' (KOREAN.md rule 8),
Korean numbers without a '.0' on whole ones (rule 9). The words around them come from
`opsplan.i18n`. None (a value not known) becomes `missing` ("-" unless told otherwise).

Not here: the plan's own notation ("5m", "128GB"), which `opsplan.plan.types` parses and writes
back exactly (`format_duration`/`format_size`); this module rounds for reading and never round-trips.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any, Literal, overload
from zoneinfo import ZoneInfo

MISSING = "-"

Zone = str | tzinfo
SizeStyle = Literal["decimal", "binary", "compact"]

_SIZE_STYLES: dict[str, tuple[float, tuple[str, ...], str]] = {
    # factor, units, separator
    "decimal": (1000.0, ("B", "KB", "MB", "GB", "TB"), " "),  # 2.0 MB: progress lines
    "binary": (1024.0, ("B", "KiB", "MiB", "GiB", "TiB"), " "),  # 1.5 KiB: backup messages
    "compact": (1000.0, ("B", "kB", "MB", "GB", "TB"), ""),  # 1.5GB: alert values in a sentence
}
_UNIT_FACTORS = {"B": 1.0, "KB": 1e3, "kB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
                 "KiB": 2.0**10, "MiB": 2.0**20, "GiB": 2.0**30, "TiB": 2.0**40}
_DURATION_PARTS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_WHOLE = re.compile(r"(?<![\d.])(\d+)\.0(?![\d.])")  # '99.0%' -> '99%', not '2.05' or '10.0.0.1'
# Duration units by language; Korean writes a space between parts and none before the unit.
_DURATION_UNITS = {"en": {"d": "d", "h": "h", "m": "m", "s": "s"},
                   "ko": {"d": "일", "h": "시간", "m": "분", "s": "초"}}


def _unit(unit: str, language: str) -> str:
    return _DURATION_UNITS.get(language, _DURATION_UNITS["en"])[unit]


def _decimal(value: float, precision: int, language: str) -> str:
    """`value` with `precision` decimals; in Korean a whole number drops its '.0' (rule 9)."""
    text = f"{value:.{precision}f}"
    if language == "ko" and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


# --- time -----------------------------------------------------------------------------------------

def zone(tz: Zone) -> tzinfo:
    """'Asia/Seoul' -> its ZoneInfo; a tzinfo is returned as it is."""
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def timestamp(when: datetime | float) -> float:
    """Unix seconds of `when`; a naive datetime is UTC, as the state database stores them."""
    if isinstance(when, datetime):
        return (when if when.tzinfo is not None else when.replace(tzinfo=UTC)).timestamp()
    return float(when)


@overload
def local_time(ts: float, tz: Zone, *, zone_name: bool = ..., seconds: bool = ...,
               missing: str | None = ...) -> str: ...
@overload
def local_time(ts: float | None, tz: Zone, *, zone_name: bool = ..., seconds: bool = ...,
               missing: str = ...) -> str: ...
@overload
def local_time(ts: float | None, tz: Zone, *, zone_name: bool = ..., seconds: bool = ...,
               missing: None) -> str | None: ...
def local_time(ts: float | None, tz: Zone, *, zone_name: bool = False, seconds: bool = True,
               missing: str | None = MISSING) -> str | None:
    """'2026-11-27 14:00:00' in `tz`; with zone_name '2026-11-27 14:00:00 KST'; without seconds
    '2026-11-27 14:00'. None -> `missing` (pass missing=None for JSON fields)."""
    if ts is None:
        return missing
    pattern = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return datetime.fromtimestamp(ts, zone(tz)).strftime(pattern + " %Z" if zone_name else pattern)


@overload
def iso_local(ts: float, tz: Zone, *, timespec: str = ..., sep: str = ...) -> str: ...
@overload
def iso_local(ts: float | None, tz: Zone, *, timespec: str = ..., sep: str = ...) -> str | None: ...
def iso_local(ts: float | None, tz: Zone, *, timespec: str = "seconds", sep: str = "T") -> str | None:
    """ISO 8601 in `tz` with its offset: '2026-11-27T14:00:00+09:00' (for --json and logs);
    timespec='minutes' gives '2026-11-27T14:00+09:00'. None stays None."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, zone(tz)).isoformat(sep=sep, timespec=timespec)


def iso_utc(ts: float) -> str:
    """ISO 8601 in UTC with a Z: '2026-11-27T05:00:00Z' (fractions kept when there are any)."""
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def file_stamp(ts: float, tz: Zone) -> str:
    """Local time for a file name: '20261127-140000'."""
    return datetime.fromtimestamp(ts, zone(tz)).strftime("%Y%m%d-%H%M%S")


# --- durations ------------------------------------------------------------------------------------

def seconds(value: float | None, *, precision: int = 1, missing: str = MISSING, language: str = "en") -> str:
    """2.46 -> '2.5s' (precision 0: '2s'); Korean '2.5초', 3.0 -> '3초'."""
    return missing if value is None else _decimal(value, precision, language) + _unit("s", language)


def duration(value: float | None, *, sep: str = " ", precision: int = 1, missing: str = MISSING,
             language: str = "en") -> str:
    """90061 -> '1d 1h 1m 1s' (sep='': '1d1h1m1s'), 3600 -> '1h'; under a minute, and negative
    values, in seconds with `precision` decimals: 2.5 -> '2.5s'. None -> `missing`.
    Korean: 90061 -> '1일 1시간 1분 1초', 3600 -> '1시간' (always a space between parts)."""
    if value is None:
        return missing
    if value < 60:
        return seconds(value, precision=precision, language=language)
    whole = int(round(value))
    parts = []
    for unit, size in _DURATION_PARTS:
        count, whole = divmod(whole, size)
        if count:
            parts.append(f"{count}{_unit(unit, language)}")
    return (" " if language == "ko" else sep).join(parts)


def took(value: float | None, *, missing: str = MISSING, language: str = "en") -> str:
    """How long a run or step took, one unit: 75 -> '75.0s', under two minutes in seconds, then
    minutes: 330 -> '5.5m' (Korean '75초', '5.5분')."""
    if value is None:
        return missing
    if value < 120:
        return seconds(value, language=language)
    return _decimal(value / 60, 1, language) + _unit("m", language)


def age(value: float | None, *, missing: str = MISSING, language: str = "en") -> str:
    """How old something is, one unit: 600 -> '10m', 5400 -> '1.5h', 172800 -> '2.0d'; never negative.
    Korean: '10분', '1.5시간', '2일'."""
    if value is None:
        return missing
    value = max(0.0, value)
    if value < 3600:
        return _decimal(value / 60, 0, language) + _unit("m", language)
    if value < 86400:
        return _decimal(value / 3600, 1, language) + _unit("h", language)
    return _decimal(value / 86400, 1, language) + _unit("d", language)


def phases(items: Mapping[str, float | None], *, missing: str = MISSING, language: str = "en") -> str:
    """{'restore': 12.34, 'check': 4.0, 'skipped': None} -> 'restore 12.3s, check 4.0s'."""
    text = ", ".join(f"{name} {seconds(value, language=language)}" for name, value in items.items()
                     if value is not None)
    return text or missing


# --- sizes and numbers ----------------------------------------------------------------------------

def size(value: float | None, *, style: SizeStyle = "decimal", unit: str | None = None,
         missing: str = MISSING, language: str = "en") -> str:
    """Bytes with the largest unit that keeps the number under 1000 (1024 for binary):
    'decimal' '1.5 MB', 'binary' '1.5 MiB', 'compact' '1.5MB' ('kB' below a megabyte); bytes
    without decimals ('512 B'). With `unit` always that unit: size(12e9, unit='GB') -> '12.0 GB'.
    Korean drops the '.0' of a whole number and writes decimal units, as the seed does: '12 GB',
    '672 KB' (KOREAN.md rule 9), whatever the style asks for English."""
    if value is None:
        return missing
    if language == "ko" and style == "binary":
        style = "decimal"
    factor, units, sep = _SIZE_STYLES[style]
    number = float(value)
    if unit is not None:
        return f"{_decimal(number / _UNIT_FACTORS[unit], 1, language)}{sep}{unit}"
    for name in units:
        if abs(number) < factor or name == units[-1]:
            return f"{number:.0f}{sep}{name}" if name == "B" else f"{_decimal(number, 1, language)}{sep}{name}"
        number /= factor
    raise AssertionError("unreachable")  # pragma: no cover - the last unit always returns


def percent(ratio: float | None, *, precision: int = 1, sep: str = "", missing: str = MISSING,
            language: str = "en") -> str:
    """A ratio as a percentage: 0.852 -> '85.2%' (sep=' ': '85.2 %', precision 0: '85%'); Korean
    writes % right after the number and drops a whole number's '.0': '85%' (rule 9)."""
    if ratio is None:
        return missing
    if language == "ko":
        return f"{_decimal(ratio * 100, precision, language)}%"
    return f"{ratio * 100:.{precision}f}{sep}%"


def number(value: float | None, unit: str = "", *, precision: int = 1, missing: str = MISSING) -> str:
    """A measured value with fixed decimals and its unit: number(12.34, 'req/s') -> '12.3 req/s'."""
    if value is None:
        return missing
    text = f"{value:.{precision}f}"
    return f"{text} {unit}" if unit else text


def in_language(text: str, language: str) -> str:
    """A value already written for English ('99.0%', '12.0 GB', '95°C') as Korean writes it: a whole
    number without its '.0' ('99%', '12 GB'; rule 9). Stored texts (an alert's value) are written once."""
    return _WHOLE.sub(r"\1", text) if language == "ko" else text


def quantity(value: float, unit: str = "") -> str:
    """A threshold or value as a rule states it, four significant digits: 90 with '%' -> '90%',
    0.5 with 's' -> '0.5 s', 12345678 -> '12345678'."""
    text = f"{value:.4g}" if abs(value) < 1e6 else f"{value:.0f}"
    if unit == "%":
        return f"{text}%"
    return f"{text} {unit}" if unit else text


def figure(value: float | None, *, missing: str = MISSING) -> str:
    """A plain number for people, never in e-notation: whole numbers with thousands separators
    (1796010000.0 -> '1,796,010,000'), others to four significant digits (0.00240317 -> '0.002403',
    1234.5678 -> '1,234.6'); no '.0' on whole numbers."""
    if value is None:
        return missing
    number = float(value)
    if not math.isfinite(number):
        return str(number)
    if number == int(number):
        return f"{int(number):,}"
    digits = 0 if abs(number) >= 1000 else min(12, 3 - math.floor(math.log10(abs(number))))
    text = f"{number:,.{max(digits, 1)}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def size_short(value: float | None, *, missing: str = MISSING) -> str:
    """Bytes in decimal units to three significant digits, no '.0' on whole numbers, as the seed
    writes sizes: 672000 -> '672 KB', 1.5e9 -> '1.5 GB', 2.70553e11 -> '271 GB', 512 -> '512 B'."""
    if value is None:
        return missing
    number = float(value)
    units = _SIZE_STYLES["decimal"][1]
    for name in units:
        if abs(number) < 999.5 or name == units[-1]:
            break
        number /= 1000.0
    digits = 0 if abs(number) >= 100 or name == "B" else 1 if abs(number) >= 10 else 2
    text = f"{number:,.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} {name}"


def span(value: float | None, *, missing: str = MISSING) -> str:
    """A measured duration for people: under a second in ms ('2.41 ms'), under a minute in
    seconds ('12.3 s'), then days, hours, minutes and seconds ('1h 5m')."""
    if value is None:
        return missing
    if abs(value) < 1:
        return f"{figure(round(value * 1000, 2))} ms"
    if abs(value) < 60:
        return f"{figure(round(value, 1))} s"
    return duration(value)


def metric_value(name: str, value: float, tz: Zone) -> str:
    """A sample's value as a person reads it, by its name's unit (Prometheus naming): a unix time
    as a local time, bytes as a size, seconds as a duration, a ratio as a percentage, anything
    else as a plain figure. Counters (`_total`) keep their unit's form."""
    base = name.removesuffix("_total")
    if base.endswith(("_timestamp_seconds", "_time_seconds")) and value > 0:
        return local_time(value, tz, zone_name=True)
    if base.endswith("_bytes"):
        return size_short(value)
    if base.endswith("_seconds"):
        return span(value)
    if base.endswith("_ratio"):
        return f"{figure(round(value * 100, 1))}%"
    return figure(value)


# --- JSON -----------------------------------------------------------------------------------------

def to_json(value: Any) -> str:
    """The `--json` document: indented, UTF-8 text as it is (Korean stays readable), anything
    JSON does not know (a datetime, a Path) as its str()."""
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)

