"""Find, read and validate `opsplan.yaml`; every problem becomes `file:line: key: message`.

The YAML is parsed with ruamel's round-trip loader only for its line numbers: the tree is
turned into plain Python values before pydantic sees it, and pydantic's error locations are
walked back through the tree to find the line an operator has to edit.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarbool import ScalarBoolean

from opsplan.errors import PlanError
from opsplan.metrics import MetricSpec
from opsplan.plan.models import Plan
from opsplan.plan.semantic import Loc, PlanCheck, check_plan
from opsplan.plan.types import show_value

DEFAULT_LOCATIONS: tuple[Path, ...] = (Path("opsplan.yaml"), Path("/etc/opsplan/opsplan.yaml"))

# Values under these keys are never repeated back, even when they are the wrong type.
_SECRET_WORDS = ("password", "secret", "token")


class PlanErrors(PlanError):
    """Several problems in one plan; behaves as the first one, `errors` holds them all."""

    def __init__(self, errors: Sequence[PlanError]):
        self.errors = list(errors)
        first = self.errors[0]
        super().__init__(first.reason, path=first.path, line=first.line, key=first.key)


def all_errors(error: PlanError) -> list[PlanError]:
    """Each problem of `error` on its own, for printing one per line."""
    return list(error.errors) if isinstance(error, PlanErrors) else [error]


def find_plan_path(explicit: Path | None, *, candidates: Sequence[Path] = DEFAULT_LOCATIONS) -> Path:
    """The plan to use: the explicit path, else ./opsplan.yaml, else /etc/opsplan/opsplan.yaml."""
    if explicit is not None:
        if not explicit.exists():
            raise PlanError("no such file", path=str(explicit))
        return explicit
    for candidate in candidates:
        if candidate.exists():
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    name = candidates[0].name if candidates else "opsplan.yaml"
    raise PlanError(f"not found (looked for {looked}; `opsplan init` writes one)", path=name)


def load_plan(path: Path, *, strict: bool = False, checks: Sequence[PlanCheck] = (),
              families: Mapping[str, MetricSpec] | None = None) -> Plan:
    """Read and validate the plan at `path`; raises PlanError (PlanErrors when there are several)."""
    return parse_plan(read_plan_text(path), str(path), strict=strict, checks=checks, families=families)


def read_plan_text(path: Path) -> str:
    name = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PlanError("no such file", path=name) from None
    except IsADirectoryError:
        raise PlanError("cannot read the plan: it is a directory", path=name) from None
    except PermissionError:
        raise PlanError("cannot read the plan: permission denied", path=name) from None
    except OSError as exc:
        raise PlanError(f"cannot read the plan: {exc.strerror or exc}".lower(), path=name) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise PlanError(f"not UTF-8 text (byte 0x{data[exc.start]:02x})", path=name, line=line) from None


def parse_plan(text: str, name: str = "opsplan.yaml", *, strict: bool = False,
               environ: Mapping[str, str] | None = None, checks: Sequence[PlanCheck] = (),
               families: Mapping[str, MetricSpec] | None = None) -> Plan:
    """Validate plan text; `name` is how the file is named in error messages. `strict` (for
    `opsplan plan check`) also fails on what is only known at run time: a channel URL's variable
    or file that cannot be read now. `checks` are the stages' own checks of the fields they read."""
    tree = _parse_yaml(text, name)
    if tree is None:
        raise PlanError("the plan is empty (`opsplan init` writes the seed's plan)", path=name)
    if not isinstance(tree, CommentedMap):
        line = tree.lc.line + 1 if isinstance(tree, CommentedSeq) else 1
        raise PlanError(f"the plan must be a mapping of sections, got {show_value(_plain(tree))}",
                        path=name, line=line)
    try:
        plan = Plan.model_validate(_plain(tree))
    except ValidationError as exc:
        raise _collect(name, tree, [(_loc(err), _message(err)) for err in exc.errors()]) from None
    problems = check_plan(plan, checks, environ=environ, strict=strict, families=families)
    if problems:
        raise _collect(name, tree, [(p.loc, p.message) for p in problems])
    return plan


def _parse_yaml(text: str, name: str) -> Any:
    try:
        return YAML(typ="rt").load(text)
    except DuplicateKeyError as exc:
        line = exc.problem_mark.line if exc.problem_mark else 0
        # ruamel's own message repeats both values, which could be a secret: name the key only.
        key = text.splitlines()[line].split(":", 1)[0].strip() if line < len(text.splitlines()) else ""
        raise PlanError(f"invalid YAML: duplicate key '{key}'", path=name, line=line + 1) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise PlanError(f"invalid YAML: {exc.problem or exc.context or 'syntax error'}", path=name,
                        line=line) from None
    except YAMLError as exc:
        first = str(exc).strip().splitlines()
        raise PlanError(f"invalid YAML: {first[0] if first else 'syntax error'}", path=name) from None


def _plain(node: Any, seen: dict[int, Any] | None = None) -> Any:
    """ruamel's round-trip types -> plain Python, so pydantic and error messages see ordinary values."""
    # YAML aliases share one node; converting each once keeps "billion laughs" from exploding here.
    seen = {} if seen is None else seen
    if isinstance(node, dict | list) and id(node) in seen:
        return seen[id(node)]
    if isinstance(node, dict):
        mapping: dict[Any, Any] = seen.setdefault(id(node), {})
        mapping.update((_plain(k, seen), _plain(v, seen)) for k, v in node.items())
        return mapping
    if isinstance(node, list):
        items: list[Any] = seen.setdefault(id(node), [])
        items.extend(_plain(v, seen) for v in node)
        return items
    if isinstance(node, bool | ScalarBoolean):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def _collect(name: str, tree: CommentedMap, located: list[tuple[Loc, str]]) -> PlanError:
    errors = []
    for loc, message in located:
        line, key = _locate(tree, loc)
        errors.append(PlanError(message, path=name, line=line, key=key or None))
    # Report in file order; problems with no line (a default the file does not mention) last.
    errors.sort(key=lambda e: e.line if e.line is not None else 1 << 30)
    return PlanErrors(errors) if len(errors) > 1 else errors[0]


def _locate(tree: CommentedMap, loc: Loc) -> tuple[int | None, str]:
    """The line of the deepest part of `loc` present in the file, and `loc` as a dotted key."""
    line: int | None = None
    node: Any = tree
    found = True
    key = ""
    for part in loc:
        if part == "[key]":  # a bad key of a dict: the key's own line is already the right one
            break
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
        if not found:
            continue
        if isinstance(node, CommentedMap) and part in node:
            line = node.lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            line = node.lc.item(part)[0] + 1
            node = node[part]
        else:
            found = False
    return line, key


# --- pydantic errors in an operator's words ------------------------------------------------------

_EXPECTED = {
    "int_parsing": "an integer", "int_type": "an integer", "int_from_float": "an integer",
    "float_parsing": "a number", "float_type": "a number",
    "bool_parsing": "true or false", "bool_type": "true or false",
    "string_type": "a string", "list_type": "a list", "dict_type": "a mapping",
    "model_type": "a mapping", "model_attributes_type": "a mapping",
    "path_type": "a path", "none_required": "null",
}

_BOUNDS = {
    "greater_than": ("greater than", "gt"), "greater_than_equal": ("at least", "ge"),
    "less_than": ("less than", "lt"), "less_than_equal": ("at most", "le"),
}


def _loc(err: ErrorDetails) -> Loc:
    loc = tuple(err["loc"])
    # The model rejects the whole `database` mapping; the line to fix is the password's own.
    return (*loc, "password") if err["type"] == "secret_in_plan" else loc


def _message(err: ErrorDetails) -> str:
    kind = err["type"]
    loc = tuple(err["loc"])
    ctx = err.get("ctx") or {}
    secret = any(isinstance(p, str) and any(w in p.lower() for w in _SECRET_WORDS) for p in loc)
    got = "" if secret else f", got {show_value(err.get('input'))}"
    if kind == "extra_forbidden":
        return _unknown_key(loc)
    if kind == "missing":
        return "required key is missing"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}{got}"
    if kind == "literal_error":
        return f"expected {ctx.get('expected', '')}{got}"
    if kind in _BOUNDS:
        words, bound = _BOUNDS[kind]
        return f"must be {words} {ctx.get(bound)}{got}"
    if kind == "string_pattern_mismatch":
        return f"must match {ctx.get('pattern')}{got}"
    msg = err["msg"]
    if kind == "value_error":
        msg = msg.removeprefix("Value error, ")
    elif msg.startswith("Input should be "):
        msg = "should be " + msg.removeprefix("Input should be ") + got
    return msg[:1].lower() + msg[1:]


def _unknown_key(loc: Loc) -> str:
    known = _keys_at(loc[:-1])
    word = str(loc[-1])
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    if close:
        return f"unknown key (did you mean '{close[0]}'?)"
    if known:
        return f"unknown key (expected one of: {', '.join(known)})"
    return "unknown key"


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
