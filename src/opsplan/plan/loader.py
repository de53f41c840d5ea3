"""Find, read and validate `opsplan.yaml`; every problem becomes `file:line: key: message`.

The YAML is parsed with ruamel's round-trip loader only for its line numbers: the tree is
turned into plain Python values before pydantic sees it, and pydantic's error locations are
walked back through the tree to find the line an operator has to edit.
"""

from __future__ import annotations

import difflib
import math
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarbool import ScalarBoolean

from opsplan.errors import PlanError
from opsplan.i18n import Message, t
from opsplan.metrics import MetricSpec
from opsplan.plan.models import Plan
from opsplan.plan.semantic import Loc, PlanCheck, check_plan
from opsplan.plan.source import MAX_INT, OUT_OF_RANGE, dotted, parse_yaml, read_plan_text
from opsplan.plan.types import show_value

DEFAULT_LOCATIONS: tuple[Path, ...] = (Path("opsplan.yaml"), Path("/etc/opsplan/opsplan.yaml"))

# Problems reported at once: a file of thousands of unknown keys gets the first ones and a count.
MAX_PROBLEMS = 50

# Values under these keys are never repeated back, even when they are the wrong type.
_SECRET_WORDS = ("password", "secret", "token")


class PlanErrors(PlanError):
    """Several problems in one plan; behaves as the first one, `errors` holds them all."""

    def __init__(self, errors: Sequence[PlanError]):
        self.errors = list(errors)
        first = self.errors[0]
        super().__init__(first.reason, path=first.path, line=first.line, key=first.key, ko=first.reason_ko)


def all_errors(error: PlanError) -> list[PlanError]:
    """Each problem of `error` on its own, for printing one per line."""
    return list(error.errors) if isinstance(error, PlanErrors) else [error]


def find_plan_path(explicit: Path | None, *, candidates: Sequence[Path] = DEFAULT_LOCATIONS) -> Path:
    """The plan to use: the explicit path, else ./opsplan.yaml, else /etc/opsplan/opsplan.yaml."""
    if explicit is not None:
        if not explicit.exists():
            raise PlanError(t("plan.error.no_file", "en"), path=str(explicit), ko=t("plan.error.no_file", "ko"))
        return explicit
    for candidate in candidates:
        if candidate.exists():
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    name = candidates[0].name if candidates else "opsplan.yaml"
    raise PlanError(t("plan.error.not_found", "en", looked=looked), path=name,
                    ko=t("plan.error.not_found", "ko", looked=looked))


def load_plan(path: Path, *, strict: bool = False, checks: Sequence[PlanCheck] = (),
              families: Mapping[str, MetricSpec] | None = None) -> Plan:
    """Read and validate the plan at `path`; raises PlanError (PlanErrors when there are several)."""
    return parse_plan(read_plan_text(path), str(path), strict=strict, checks=checks, families=families)


def parse_plan(text: str, name: str = "opsplan.yaml", *, strict: bool = False,
               environ: Mapping[str, str] | None = None, checks: Sequence[PlanCheck] = (),
               families: Mapping[str, MetricSpec] | None = None) -> Plan:
    """Validate plan text; `name` is how the file is named in error messages. `strict` (for
    `opsplan plan check`) also fails on what is only known at run time: a channel URL's variable
    or file that cannot be read now. `checks` are the stages' own checks of the fields they read."""
    tree = parse_yaml(text, name)
    if tree is None:
        raise PlanError(t("plan.error.empty", "en"), path=name, line=1, ko=t("plan.error.empty", "ko"))
    if not isinstance(tree, CommentedMap):
        line = tree.lc.line + 1 if isinstance(tree, CommentedSeq) else 1
        shown = show_value(bool(tree) if isinstance(tree, ScalarBoolean) else tree)
        raise PlanError(t("plan.error.not_mapping", "en", value=shown), path=name, line=line,
                        ko=t("plan.error.not_mapping", "ko", value=shown))
    try:
        data = _plain(tree)
    except _OutOfRange as exc:
        raise _collect(name, tree, [(exc.loc, partial(_same, exc.reason))]) from None
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        raise _collect(name, tree, [(_loc(err), partial(_message, err)) for err in exc.errors()]) from None
    problems = check_plan(plan, checks, environ=environ, strict=strict, families=families)
    if problems:
        raise _collect(name, tree, [(p.loc, p.text) for p in problems])
    return plan


class _OutOfRange(Exception):
    def __init__(self, loc: Loc, reason: str | Message):
        super().__init__(reason)
        self.loc = loc
        self.reason = reason


def _plain(node: Any, loc: Loc = (), seen: dict[int, Any] | None = None) -> Any:
    """ruamel's round-trip types -> plain Python, so pydantic and error messages see ordinary values."""
    # YAML aliases share one node; converting each once keeps "billion laughs" from exploding here.
    seen = {} if seen is None else seen
    if isinstance(node, dict | list) and id(node) in seen:
        return seen[id(node)]
    if isinstance(node, dict):
        mapping: dict[Any, Any] = seen.setdefault(id(node), {})
        mapping.update((_plain(k, loc, seen), _plain(v, (*loc, str(k)), seen)) for k, v in node.items())
        return mapping
    if isinstance(node, list):
        items: list[Any] = seen.setdefault(id(node), [])
        items.extend(_plain(v, (*loc, i), seen) for i, v in enumerate(node))
        return items
    if isinstance(node, bool | ScalarBoolean):
        return bool(node)
    if isinstance(node, int):
        # Nothing in the plan is wider than 64 bits; a wider number would overflow later, elsewhere.
        if not -MAX_INT <= node <= MAX_INT:
            raise _OutOfRange(loc, OUT_OF_RANGE)
        return int(node)
    if isinstance(node, float):
        if not math.isfinite(node):
            shown = show_value(float(node))
            raise _OutOfRange(loc, _per_language(lambda language: t("plan.error.finite", language, value=shown)))
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def _same(reason: str | Message) -> str | Message:
    return reason


def _per_language(build: Callable[[str], str]) -> Message:
    """A reason worded in each language (the plan check prints the one of the plan's language)."""
    return Message(ko=build("ko"), en=build("en"))


def _collect(name: str, tree: CommentedMap,
             located: Sequence[tuple[Loc, Callable[[], str | Message]]]) -> PlanError:
    """One PlanError per problem in file order, at most MAX_PROBLEMS of them (and a line saying how
    many more): finding lines is cheap, wording a message (difflib for unknown keys) is not."""
    placed = sorted(((*_locate(tree, loc), message) for loc, message in located),
                    key=lambda p: p[0] if p[0] is not None else 1 << 30)
    errors = []
    for line, key, message in placed[:MAX_PROBLEMS]:
        said = message()
        # A check's own reason without a Korean wording yet stays English in both.
        reason, reason_ko = (said.en, said.ko) if isinstance(said, Message) else (said, None)
        if line is None:  # a default the file does not mention: say so, and point at the top
            section = key.split(".", 1)[0].split("[", 1)[0]
            if section:
                reason_ko = (reason if reason_ko is None else reason_ko) + t("plan.error.default_note", "ko",
                                                                           section=section)
                reason += t("plan.error.default_note", "en", section=section)
        errors.append(PlanError(reason, path=name, line=line or 1, key=key or None, ko=reason_ko))
    if len(placed) > MAX_PROBLEMS:
        next_line = placed[MAX_PROBLEMS][0] or 1
        more = {"n": len(placed) - MAX_PROBLEMS, "shown": MAX_PROBLEMS}
        errors.append(PlanError(t("plan.error.more", "en", **more), path=name, line=next_line,
                                ko=t("plan.error.more", "ko", **more)))
    return PlanErrors(errors) if len(errors) > 1 else errors[0]


def _locate(tree: CommentedMap, loc: Loc) -> tuple[int | None, str]:
    """The line of the deepest part of `loc` present in the file, and `loc` as a dotted key."""
    line: int | None = None
    node: Any = tree
    parts: list[str | int] = []
    found = True
    for part in loc:
        if part == "[key]":  # a bad key of a dict: the key's own line is already the right one
            break
        parts.append(part)
        if found:
            node, line, found = _step(node, part, line)
    return line, dotted(tuple(parts))


def _step(node: Any, part: str | int, line: int | None) -> tuple[Any, int | None, bool]:
    try:
        if isinstance(node, CommentedMap) and part in node:
            # A key merged in with `<<: *x` has no line of its own here: keep the mapping's.
            return node[part], node.lc.key(part)[0] + 1 if part in node.lc.data else line, True
        if isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            return node[part], node.lc.item(part)[0] + 1, True
    except (KeyError, IndexError, TypeError):
        pass
    return node, line, False


# --- pydantic errors in an operator's words ------------------------------------------------------

# pydantic's error types, by the catalogue key of what was expected (literal keys: the catalogue test sees them)
_EXPECTED = {
    "int_parsing": "plan.type.integer", "int_type": "plan.type.integer", "int_from_float": "plan.type.integer",
    "float_parsing": "plan.type.number", "float_type": "plan.type.number",
    "bool_parsing": "plan.type.bool", "bool_type": "plan.type.bool",
    "string_type": "plan.type.string", "list_type": "plan.type.list", "dict_type": "plan.type.mapping",
    "model_type": "plan.type.mapping", "model_attributes_type": "plan.type.mapping",
    "path_type": "plan.type.path", "none_required": "plan.type.null",
}

_BOUND_KEY = {"greater_than": "plan.error.gt", "greater_than_equal": "plan.error.ge",
              "less_than": "plan.error.lt", "less_than_equal": "plan.error.le"}
_BOUND_CTX = {"greater_than": "gt", "greater_than_equal": "ge", "less_than": "lt", "less_than_equal": "le"}


# plan/types.py's own errors, by their type and the "why" in their context.
_CUSTOM = {("duration", "invalid"): "plan.error.duration_invalid", ("duration", "too_long"): "plan.error.duration_long",
           ("duration", "negative"): "plan.error.duration_negative", ("size", "negative"): "plan.error.size_negative",
           ("size", "invalid"): "plan.error.size_invalid", ("size", "too_large"): "plan.error.size_large",
           ("percent", "invalid"): "plan.error.percent", ("percent", "range"): "plan.error.percent_range",
           ("cron", "invalid"): "plan.error.cron", ("time_of_day", "invalid"): "plan.error.time_of_day"}


# The models' own checks (plan/models.py ValueErrors), by their English text.
_VALUE_ERROR_KEY = {
    "an http health probe needs url": "plan.problem.http_needs_url",
    "a tcp health probe needs port": "plan.problem.tcp_needs_port",
    "a systemd service control needs unit": "plan.problem.systemd_needs_unit",
    "a docker service control needs container": "plan.problem.docker_needs_container",
    "a commands service control needs both stop and start argument lists": "plan.problem.commands_need_lists",
}


def _loc(err: ErrorDetails) -> Loc:
    loc = tuple(err["loc"])
    # The model rejects the whole `database` mapping; the line to fix is the password's own.
    return (*loc, "password") if err["type"] == "secret_in_plan" else loc


def _message(err: ErrorDetails) -> str | Message:
    """The problem in an operator's words, in both languages where the kind of problem is known;
    a model's own check (a ValueError) keeps its English text."""
    kind = err["type"]
    loc = tuple(err["loc"])
    ctx = err.get("ctx") or {}
    secret = any(isinstance(p, str) and any(w in p.lower() for w in _SECRET_WORDS) for p in loc)
    shown = None if secret else show_value(err.get("input"))

    def got(language: str) -> str:
        return "" if shown is None else t("plan.error.got", language, value=shown)

    if kind == "extra_forbidden":
        return _unknown_key(loc)
    if kind == "missing":
        return _per_language(lambda language: t("plan.error.missing", language))
    if kind in _EXPECTED:
        return _per_language(lambda language: t("plan.error.expected", language,
                                                expected=t(_EXPECTED[kind], language), got=got(language)))
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        return _per_language(lambda language: t(
            "plan.error.one_of", language, got=got(language),
            expected=expected.replace(" or ", ", ") if language == "ko" else expected))
    if kind in _BOUND_KEY:
        key = _BOUND_KEY[kind]
        return _per_language(lambda language: t(key, language, bound=ctx.get(_BOUND_CTX[kind]), got=got(language)))
    if kind == "string_pattern_mismatch":
        return _per_language(lambda language: t("plan.error.pattern", language, pattern=ctx.get("pattern"),
                                                got=got(language)))
    if (kind, ctx.get("why")) in _CUSTOM:
        custom = _CUSTOM[kind, str(ctx.get("why"))]
        value, limit = "" if secret else ctx.get("value"), ctx.get("limit")
        return _per_language(lambda language: t(custom, language, value=value, limit=limit))
    msg = err["msg"]
    english_got = got("en")
    if kind == "value_error":
        msg = msg.removeprefix("Value error, ")
        if msg in _VALUE_ERROR_KEY:
            return _per_language(lambda language: t(_VALUE_ERROR_KEY[msg], language))
    elif msg.startswith("Input should be "):
        msg = "should be " + msg.removeprefix("Input should be ") + english_got
    return msg[:1].lower() + msg[1:]


def _unknown_key(loc: Loc) -> Message:
    known = _keys_at(loc[:-1])
    word = str(loc[-1])
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    if close:
        return _per_language(lambda language: t("plan.error.unknown_key_close", language, close=close[0]))
    if known:
        return _per_language(lambda language: t("plan.error.unknown_key_known", language, known=", ".join(known)))
    return _per_language(lambda language: t("plan.error.unknown_key", language))


def _keys_at(loc: Loc) -> list[str]:
    """The keys the model at `loc` accepts, found by walking the model classes' annotations."""
    tp: Any = Plan
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = next((f for n, f in tp.model_fields.items() if (f.alias or n) == part), None)
            if field is None:
                return []
            tp = field.annotation
        elif typing.get_origin(tp) is list:
            tp = typing.get_args(tp)[0]
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        else:
            return []
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [f.alias or n for n, f in tp.model_fields.items()]
    return []


def _unwrap(tp: Any) -> Any:
    """Strip Annotated[...] and `X | None` down to X."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp
