"""Numbers and catalogue lines of a check result, written in the report's language.

An evaluator puts a number in a line's values as {"value": x, "unit": u} (u from model.UNITS);
it is formatted here, by unit, with opsplan.format, so one stored result reads right in both
languages (Korean: '95%', '2.5초', '12 GB'; KOREAN.md rule 9).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from opsplan import format as fmt
from opsplan.checks.model import Line
from opsplan.i18n import t


def number(value: float | None, unit: str, lang: str) -> str:
    """`value` in `unit` as a person reads it; '-' when there is none."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return fmt.MISSING
    if unit == "ratio":
        return fmt.percent(value, language=lang)
    if unit == "bytes":
        return fmt.size_short(value)
    if unit == "bytes_per_second":
        return f"{fmt.size_short(value)}/s"
    if unit == "seconds":
        if abs(value) < 1:
            return f"{fmt.figure(round(value * 1000, 1))} ms"
        return fmt.duration(value, language=lang)
    if unit == "per_second":
        return f"{fmt.figure(round(value, 2))}/s"
    if unit == "celsius":
        return f"{fmt.figure(round(value, 1))}°C"
    if unit == "days":
        shown = fmt.figure(round(value, 1))
        return f"{shown}일" if lang == "ko" else f"{shown} days"
    if unit == "count":
        return fmt.figure(round(value, 2))
    return fmt.figure(value)


def _value(value: Any, lang: str) -> Any:
    if isinstance(value, Mapping) and "unit" in value:
        return number(value.get("value"), str(value["unit"]), lang)
    return value


def text(line: Line | None, lang: str) -> str:
    """A catalogue line in `lang` with its values formatted."""
    if line is None:
        return ""
    values = {name: _value(value, lang) for name, value in line.values.items()}
    # A line's key was checked where the Line was built (tests/unit/test_i18n_catalogue.py follows
    # every `Line(...)`); a stored one is only looked up here, by keyword, which that scan leaves alone.
    return t(**{"key": line.key, "language": lang}, **values)
