"""Label matchers: `label=value` and `label=~regex`, the regex always matched in linear time.

Python's `re` backtracks: a pattern such as `(a+)+$` takes exponential time on a value of a's
ending in another letter, and it holds the GIL while it does, so one request could stall every
thread of `opsplan serve`. Patterns here are compiled by RE2 (the engine Prometheus and
Alertmanager use, so their syntax carries over): time linear in the value, no backreferences or
lookaround. Patterns are bounded in length and RE2's memory, and the compiled ones are kept in a
small LRU cache, so distinct patterns cannot grow the process without bound.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import re2

MAX_PATTERN_CHARS = 256  # label regexes in dashboards and silences are a few dozen characters
CACHE_SIZE = 128
_MAX_MEM = 1 << 20  # RE2 program + DFA cache per pattern; beyond it RE2 refuses to compile (no slowdown)


class PatternError(ValueError):
    """A regex that is too long or not valid RE2 syntax; the message is one line."""


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # RE2 would print parse errors on stderr; the caller reports them
    options.max_mem = _MAX_MEM
    return options


_OPTIONS = _options()


@lru_cache(maxsize=CACHE_SIZE)
def compile_pattern(pattern: str) -> Any:
    """The compiled RE2 pattern; raises PatternError (not cached) for a bad or too long one."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise PatternError(f"regex is {len(pattern)} characters long; at most {MAX_PATTERN_CHARS} are accepted")
    try:
        return re2.compile(pattern, options=_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise PatternError(f"invalid regex {pattern[:60]!r}: {reason}") from None


def full_match(pattern: str, value: str) -> bool:
    """True when `pattern` matches the whole of `value` (Prometheus' and Alertmanager's rule)."""
    return compile_pattern(pattern).fullmatch(value) is not None


@dataclass(frozen=True)
class LabelMatchers:
    """Exact and regex matchers over a label set; a missing label is the empty string."""

    exact: tuple[tuple[str, str], ...] = ()
    regex: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def parse(cls, matchers: Mapping[str, str] | None) -> LabelMatchers:
        """From the store's form: `{"host": "h1"}` is exact, `{"host~": "h[13]"}` a regex."""
        exact: list[tuple[str, str]] = []
        regex: list[tuple[str, Any]] = []
        for key, want in (matchers or {}).items():
            if key.endswith("~"):
                regex.append((key[:-1], compile_pattern(want)))
            else:
                exact.append((key, want))
        return cls(tuple(exact), tuple(regex))

    def __bool__(self) -> bool:
        return bool(self.exact or self.regex)

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(k) == w for k, w in self.exact) and all(
            p.fullmatch(labels.get(k, "")) is not None for k, p in self.regex)
