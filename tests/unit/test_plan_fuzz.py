"""Property: whatever the text, the loader returns a Plan or raises PlanError whose every problem is
one `file:line: ...` line — no other exception, no hang (issue 9 items 4 and 7).

Hypothesis draws YAML-ish texts and mutations of the default plan (`opsplan init`, ko and en).
Derandomized and without an example database, so CI runs the same examples every time in well
under a minute; `bench/fuzz_plan.py` is the long, random run (docs/security.md).
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsplan.errors import PlanError
from opsplan.plan.loader import MAX_PROBLEMS, all_errors
from opsplan.plan.models import Plan
from opsplan.plan.template import LANGUAGES, template_text
from opsplan.stages.all import parse_plan

DEFAULTS = {language: template_text(language) for language in LANGUAGES}
ONE_LINE = re.compile(r"^opsplan\.yaml:\d+: [^\n]+$")

HOSTILE = [
    "9" * 400, "9" * 300 + "GB", "9" * 5000, "1000000000w", "1e400", ".inf", ".nan", "0b" + "1" * 70,
    "~", "true", "[]", "{}", "-1", "!!binary aGk=", "!custom x", "2024-01-01", "\x00", "\x07",
    "&a [1, 2]", "*a", "*undefined", "&a [*a]", "[" * 70 + "]" * 70, "'open", '"open', "a: b: c",
    "{a: 1, a: 2}", "? [k]", "<<: *a", "5m", "128GB", "'0 25 * * *'", "http://127.0.0.1:1/",
]
KEYS = ["true", "~", "1", "[a]", "<<", "? x", "password", "for", "interval", "server", "2024-01-01"]
TOKENS = [": ", "- ", "\n", "\n  ", "\n    ", "[", "]", "{", "}", ",", "&a ", "*a", "<<: ", "!!str ",
          "? ", "|", ">", "#", "'", '"', "\t", "---\n", "server", "monitoring", "interval", "alerts",
          *HOSTILE, *KEYS]

FUZZ = settings(max_examples=60, deadline=timedelta(seconds=20), derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def assert_plan_or_one_line_problems(text: str) -> None:
    started = time.monotonic()
    try:
        plan = parse_plan(text, "opsplan.yaml", environ={})
    except PlanError as exc:
        lines = [str(problem) for problem in all_errors(exc)]
        assert lines, "a PlanError without a problem"
        assert len(lines) <= MAX_PROBLEMS + 1, len(lines)
        for line in lines:
            assert ONE_LINE.match(line), f"not one `file:line:` line: {line!r}"
    else:
        assert isinstance(plan, Plan)
    assert time.monotonic() - started < 20, "the loader took longer than any plan should"


value = st.sampled_from(HOSTILE) | st.text(max_size=12)
edit = st.tuples(st.integers(min_value=0, max_value=400),
                 st.sampled_from(["delete", "repeat", "indent", "value", "key", "insert", "cut"]),
                 value, st.integers(min_value=0, max_value=8))


def apply_edits(text: str, edits: list[tuple[int, str, str, int]]) -> str:
    lines = text.split("\n")
    for position, op, new, amount in edits:
        index = position % len(lines)
        line = lines[index]
        key, colon, _ = line.partition(":")
        indent = line[:len(line) - len(line.lstrip())]
        if op == "delete":
            del lines[index]
        elif op == "repeat":
            lines.insert(index, line)
        elif op == "indent":
            lines[index] = " " * amount + line.lstrip()
        elif op == "value" and colon:
            lines[index] = f"{key}: {new}"
        elif op == "key" and colon:
            lines[index] = indent + KEYS[amount % len(KEYS)] + line[len(key):]
        elif op == "insert":
            cut = min(amount * 3, len(line))
            lines[index] = line[:cut] + new + line[cut:]
        elif op == "cut":
            lines = lines[:index + 1]
        if not lines:
            lines = [""]
    return "\n".join(lines)


@FUZZ
@given(language=st.sampled_from(LANGUAGES), edits=st.lists(edit, min_size=1, max_size=4))
def test_mutated_default_plans(language, edits):
    assert_plan_or_one_line_problems(apply_edits(DEFAULTS[language], edits))


@settings(FUZZ, max_examples=300)
@given(st.lists(st.sampled_from(TOKENS) | st.text(max_size=4), max_size=30).map("".join))
def test_yaml_ish_texts(text):
    assert_plan_or_one_line_problems(text)


def test_the_default_plans_are_valid():
    for text in DEFAULTS.values():
        assert isinstance(parse_plan(text, "opsplan.yaml", environ={}), Plan)
