"""Reading `opsplan.yaml` within bounds: the file, its characters, its YAML tree.

Everything here runs before the plan's model sees a value, so a hostile or broken file ends in
one `file:line` line instead of a hang, a memory blow-up or a traceback: only regular files, at
most MAX_PLAN_BYTES, no control characters, at most MAX_DEPTH levels of nesting and MAX_NODES
nodes once YAML aliases are expanded (aliases are allowed — `<<: *defaults` is a common idiom —
but each use counts as a copy, which is what `plan show` and the model would build), keys that
are strings as written, and only YAML's plain types. docs/plan.md "Limits" explains each number.
"""

from __future__ import annotations

import os
import re
import stat
import warnings
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer, MaxDepthExceededError, ReusedAnchorWarning
from ruamel.yaml.constructor import DuplicateKeyError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

from opsplan.errors import PlanError

# The full plan (`opsplan init`) is about 15 KB and 800 nodes. ruamel's round-trip parser (kept
# for its line numbers) needs 0.05-0.2 ms a node, so these two keep the worst file answered
# within seconds, and stop parsing once the node limit is passed.
MAX_PLAN_BYTES = 128 * 1024
MAX_NODES = 20_000
# The plan's own nesting is 6 levels; the rest is room for free-form fields (a perf request body).
MAX_DEPTH = 64
# No integer the plan takes is wider than 64 bits. A literal longer than any 64-bit one (binary
# included) is refused before Python converts it: int() of more than 4,300 digits raises.
MAX_INT = 2**63 - 1
OUT_OF_RANGE = f"number out of range (at most {MAX_INT:,} either side of 0)"
_MAX_INT_LITERAL = 100

Loc = tuple[str | int, ...]

_NON_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_STANDARD = "tag:yaml.org,2002:"
_STR_TAG = _STANDARD + "str"
_MERGE_TAG = _STANDARD + "merge"
_INT_TAG = _STANDARD + "int"
# YAML's own types a plan may hold, by node kind, and how a message names a scalar one; the others
# (!!binary, !!set, !!omap, !!pairs, ...) have no use in a plan and some crash ruamel on bad input.
_STANDARD_TAGS: dict[type[Node], set[str]] = {
    ScalarNode: {"str", "int", "float", "bool", "null", "timestamp"},
    SequenceNode: {"seq"},
    MappingNode: {"map"},
}
_SCALAR_KINDS = {"int": "an integer", "float": "a number", "bool": "true or false", "null": "null",
                 "timestamp": "a date"}
# What ruamel's scalar constructors raise on a value its tag does not fit (`!!int ""`, 2024-13-45).
_CONSTRUCTION_ERRORS = (ValueError, IndexError, KeyError, TypeError, OverflowError, AttributeError)

_FILE_KINDS = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def dotted(loc: Loc) -> str:
    """`("allocation", 1, "gpus")` -> `allocation[1].gpus`, as every message names a key."""
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key


def read_plan_text(path: Path) -> str:
    """The plan's text: a regular file of at most MAX_PLAN_BYTES, UTF-8, never blocking."""
    name = str(path)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it changes nothing for a file.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise PlanError("no such file", path=name) from None
    except PermissionError:
        raise PlanError("cannot read the plan: permission denied", path=name) from None
    except OSError as exc:
        raise PlanError(f"cannot read the plan: {exc.strerror or exc}".lower(), path=name) from None
    try:
        data = _read_regular(fd, name)
    finally:
        os.close(fd)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise PlanError(f"not UTF-8 text (byte 0x{data[exc.start]:02x})", path=name, line=line) from None


def _read_regular(fd: int, name: str) -> bytes:
    mode = os.fstat(fd).st_mode
    if stat.S_ISDIR(mode):
        raise PlanError("cannot read the plan: it is a directory", path=name)
    for test, kind in _FILE_KINDS:
        if test(mode):
            raise PlanError(f"cannot read the plan: it is {kind}, not a regular file", path=name)
    if not stat.S_ISREG(mode):
        raise PlanError("cannot read the plan: not a regular file", path=name)
    chunks, size = [], 0
    try:
        # Read one byte past the limit rather than trust st_size: the file may grow meanwhile.
        while size <= MAX_PLAN_BYTES:
            chunk = os.read(fd, MAX_PLAN_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise PlanError(f"cannot read the plan: {exc.strerror or exc}".lower(), path=name) from None
    if size > MAX_PLAN_BYTES:
        raise PlanError(f"the plan is larger than {MAX_PLAN_BYTES // 1024} KiB, the limit for a plan file",
                        path=name)
    return b"".join(chunks)


def parse_yaml(text: str, name: str) -> Any:
    """The round-trip YAML tree of `text` (None when empty), every bound above checked."""
    bad = _NON_PRINTABLE.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise PlanError(f"invalid YAML: character U+{ord(bad.group()):04X} is not allowed "
                        "(control characters other than tab and newline cannot appear in YAML)",
                        path=name, line=line)
    yaml = YAML(typ="rt")
    yaml.max_depth = MAX_DEPTH
    yaml.Composer = _BoundedComposer
    yaml.Constructor = _CheckedConstructor
    try:
        with warnings.catch_warnings():
            # A reused anchor name is legal YAML; ruamel's warning would print a stray stderr block.
            warnings.simplefilter("ignore", ReusedAnchorWarning)
            return yaml.load(text)
    except _Refused as exc:
        raise PlanError(exc.reason, path=name, line=exc.line, key=dotted(exc.loc) or None) from None
    except MaxDepthExceededError as exc:
        depth_line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise PlanError(f"nested more than {MAX_DEPTH} levels deep", path=name, line=depth_line) from None
    except DuplicateKeyError as exc:
        line = exc.problem_mark.line if exc.problem_mark else 0
        # ruamel's own message repeats both values, which could be a secret: name the key only.
        lines = text.splitlines()
        key = lines[line].split(":", 1)[0].strip().lstrip("{[-? ") if line < len(lines) else ""
        raise PlanError(f"invalid YAML: duplicate key '{key[:60]}'", path=name, line=line + 1) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise PlanError(f"invalid YAML: {exc.problem or exc.context or 'syntax error'}", path=name,
                        line=line) from None
    except ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1 if isinstance(exc.position, int) else 1
        raise PlanError(f"invalid YAML: {exc.reason}", path=name, line=line) from None
    except YAMLError as exc:
        first = str(exc).strip().splitlines()
        raise PlanError(f"invalid YAML: {first[0] if first else 'syntax error'}", path=name, line=1) from None
    except _CONSTRUCTION_ERRORS as exc:  # a last net: a parser bug on odd input is still the input's
        raise PlanError(f"invalid YAML: cannot be read ({type(exc).__name__})", path=name, line=1) from None


class _Refused(Exception):
    def __init__(self, reason: str, at: Node | Any, loc: Loc):
        """`at`: the node (or the parser event) the problem is found at."""
        super().__init__(reason)
        self.reason = reason
        mark = getattr(at, "start_mark", None)
        self.line = mark.line + 1 if mark is not None else 1
        self.loc = loc


_TOO_MANY = f"more than {MAX_NODES:,} YAML nodes (keys and values; each use of an alias counts as a copy)"


class _BoundedComposer(Composer):
    """ruamel's composer, stopping once MAX_NODES nodes are written; then one pass over the node
    graph, aliases expanded, before anything is constructed."""

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self.composed = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if not self.parser.check_event(AliasEvent):
            self.composed += 1
            if self.composed > MAX_NODES:
                raise _Refused(_TOO_MANY, self.parser.peek_event(), ())
        return super().compose_node(parent, index)

    def get_single_node(self) -> Any:
        node = super().get_single_node()
        if node is not None:
            _Measure().walk(node, (), 1)
        return node


class _CheckedConstructor(RoundTripConstructor):
    """ruamel's round-trip constructor; a scalar that does not fit its type is a one-line problem."""

    def construct_non_recursive_object(self, node: Any, tag: Any = None) -> Any:
        try:
            return super().construct_non_recursive_object(node, tag)
        except _CONSTRUCTION_ERRORS:
            if not isinstance(node, ScalarNode):
                raise
            kind = _SCALAR_KINDS.get(str(node.tag).removeprefix(_STANDARD), str(node.tag))
            raise _Refused(f"cannot read {node.value[:40]!r} as {kind}; quote it if it is text", node, ()) from None


class _Measure:
    """Counts nodes with aliases expanded, in time linear in the nodes actually written: each
    node's expanded size and height are computed once and reused wherever an alias points to it."""

    def __init__(self) -> None:
        self.done: dict[int, tuple[int, int]] = {}
        self.open: set[int] = set()

    def walk(self, node: Node, loc: Loc, level: int) -> tuple[int, int]:
        """(nodes, height) of `node`, found at nesting `level`."""
        if level > MAX_DEPTH:
            raise _Refused(f"nested more than {MAX_DEPTH} levels deep (YAML aliases expanded)", node, loc)
        tag = str(node.tag)
        if tag.startswith(_STANDARD) and tag.removeprefix(_STANDARD) not in _STANDARD_TAGS.get(type(node), set()):
            raise _Refused(f"the YAML tag !!{tag.removeprefix(_STANDARD)} is not supported here", node, loc)
        if isinstance(node, ScalarNode):
            if node.tag == _INT_TAG and len(node.value) > _MAX_INT_LITERAL:
                raise _Refused(OUT_OF_RANGE, node, loc)
            return 1, 1
        key = id(node)
        if key in self.done:
            values, height = self.done[key]
            if level + height - 1 > MAX_DEPTH:
                raise _Refused(f"nested more than {MAX_DEPTH} levels deep (YAML aliases expanded)", node, loc)
            return values, height
        if key in self.open:
            raise _Refused("a YAML alias refers to a mapping or list that contains it", node, loc)
        self.open.add(key)
        values, height = 1 + (len(node.value) if isinstance(node, MappingNode) else 0), 0  # keys count
        for child, child_loc in self._children(node, loc):
            child_values, child_height = self.walk(child, child_loc, level + 1)
            values += child_values
            height = max(height, child_height)
            if values > MAX_NODES:
                raise _Refused(_TOO_MANY, node, loc)
        self.open.discard(key)
        self.done[key] = (values, height + 1)
        return values, height + 1

    @staticmethod
    def _children(node: Node, loc: Loc) -> list[tuple[Node, Loc]]:
        if isinstance(node, SequenceNode):
            return [(child, (*loc, index)) for index, child in enumerate(node.value)]
        if not isinstance(node, MappingNode):
            return []
        children: list[tuple[Node, Loc]] = []
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise _Refused("a key must be a plain string, not a list or a mapping", key_node, loc)
            if key_node.tag != _STR_TAG and key_node.tag != _MERGE_TAG:
                written = key_node.value or "null"
                raise _Refused(f"keys must be strings; quote it ('{written[:40]}') if the text is meant",
                               key_node, (*loc, written[:40]))
            children.append((value_node, (*loc, key_node.value)))
        return children
