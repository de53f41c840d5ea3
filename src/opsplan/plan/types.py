"""Value types the plan uses: durations, sizes, percentages, cron expressions.

Each parses the human form an operator writes ("5m", "2TB", "0 2 * * *") and
fails with a short message that the loader turns into `file:line: key: message`.
"""

from __future__ import annotations

import math
import re
from functools import partial
from typing import Annotated, Any

from croniter import croniter
from pydantic import BeforeValidator, PlainSerializer
from pydantic_core import PydanticCustomError


def show_value(value: Any) -> str:
    """How a bad value appears in a message: pydantic templates only substitute `{name}`, not `{name!r}`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and value.bit_length() > 64:
        return f"a number of {value.bit_length()} bits"  # str() of >4300 digits raises
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

# The longest duration any field takes: retention and targets are months, not decades, and a
# bound keeps every timer and date computation far from overflow (1000000000w once killed the
# collection thread). Fields that repeat (the collection interval) have a shorter one.
MAX_DURATION = 3650 * 86400.0  # 10 years
MAX_INTERVAL = 86400.0         # 1 day


def parse_duration(value: Any, limit: float = MAX_DURATION) -> float:
    """'90s', '5m', '1h30m', '14d' or a number of seconds -> seconds, at most `limit`."""
    seconds = _duration_seconds(value)
    if not math.isfinite(seconds) or seconds > limit:
        raise PydanticCustomError("duration", "duration {value} is too long (at most {limit})",
                                  {"value": show_value(value), "limit": format_duration(limit), "why": "too_long"})
    return seconds


def _duration_seconds(value: Any) -> float:
    if isinstance(value, bool):
        raise PydanticCustomError("duration", "invalid duration {value} (use e.g. 30s, 5m, 2h, 14d)",
                                  {"value": show_value(value), "why": "invalid"})
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise PydanticCustomError("duration", "invalid duration {value} (use e.g. 30s, 5m, 2h, 14d)",
                                      {"value": show_value(value), "why": "invalid"})
        if value < 0:
            raise PydanticCustomError("duration", "duration must not be negative, got {value}",
                                      {"value": show_value(value), "why": "negative"})
        return float(value)
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        pos, total = 0, 0.0
        for match in _DURATION_PART.finditer(text):
            if match.start() != pos:
                break
            total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
            pos = match.end()
        if text and pos == len(text):
            return total
    raise PydanticCustomError("duration", "invalid duration {value} (use e.g. 30s, 5m, 2h, 14d)",
                              {"value": show_value(value), "why": "invalid"})


def format_duration(seconds: float) -> str:
    """Seconds -> the shortest exact form ('5m', '14d', '1h30m')."""
    if seconds != int(seconds):
        return f"{seconds:g}s"
    rest = int(seconds)
    if rest == 0:
        return "0s"
    parts = []
    for unit in ("d", "h", "m", "s"):
        size = int(_DURATION_UNITS[unit])
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts)


_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([KMGTP]?i?B)?$", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "pb": 10**15,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40, "pib": 2**50,
}


# 1 EB: a thousand times the largest single filesystem a team of this size will mount.
MAX_SIZE = 10**18


def parse_size(value: Any) -> int:
    """'128GB', '2TB', '512GiB' or a number of bytes -> bytes (GB/TB are decimal, as vendors sell them)."""
    size: float | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise PydanticCustomError("size", "size must not be negative, got {value}",
                                      {"value": show_value(value), "why": "negative"})
        size = value
    elif isinstance(value, str):
        match = _SIZE.match(value.strip())
        if match:
            unit = (match.group(2) or "B").lower()
            size = float(match.group(1)) * _SIZE_UNITS[unit]
    if size is not None:
        if not size <= MAX_SIZE:  # also catches inf from a 300-digit number
            raise PydanticCustomError("size", "size {value} is too large (at most {limit})",
                                      {"value": show_value(value), "limit": format_size(MAX_SIZE), "why": "too_large"})
        return int(size)
    raise PydanticCustomError("size", "invalid size {value} (use e.g. 128GB, 2TB, 512GiB)",
                             {"value": show_value(value), "why": "invalid"})


def format_size(size: int) -> str:
    for unit in ("PB", "TB", "GB", "MB", "KB"):
        factor = _SIZE_UNITS[unit.lower()]
        if size >= factor and size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{size}B"


def check_percent(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("percent", "must be a number from 0 to 100, got {value}",
                                  {"value": show_value(value), "why": "invalid"})
    if not 0 <= value <= 100:
        raise PydanticCustomError("percent", "must be between 0 and 100, got {value}",
                                  {"value": show_value(value), "why": "range"})
    return float(value)


def check_cron(value: Any) -> str:
    if not isinstance(value, str) or not croniter.is_valid(value) or len(value.split()) != 5:
        raise PydanticCustomError(
            "cron", "invalid cron expression {value} (five fields: minute hour day month weekday)",
            {"value": show_value(value), "why": "invalid"})
    return value


def check_time_of_day(value: Any) -> str:
    """'09:00' in 24-hour time; '24:00' is the end of a day (business hours that run to midnight)."""
    if isinstance(value, str) and (value == "24:00" or re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", value)):
        return value
    raise PydanticCustomError("time_of_day", "expected a time of day HH:MM from 00:00 to 24:00, got {value}",
                              {"value": show_value(value), "why": "invalid"})


Duration = Annotated[float, BeforeValidator(parse_duration),
                     PlainSerializer(format_duration, return_type=str)]
# A duration that repeats (the collection interval): at most MAX_INTERVAL.
Interval = Annotated[float, BeforeValidator(partial(parse_duration, limit=MAX_INTERVAL)),
                     PlainSerializer(format_duration, return_type=str)]
Size = Annotated[int, BeforeValidator(parse_size), PlainSerializer(format_size, return_type=str)]
Percent = Annotated[float, BeforeValidator(check_percent)]
Cron = Annotated[str, BeforeValidator(check_cron)]
TimeOfDay = Annotated[str, BeforeValidator(check_time_of_day)]
