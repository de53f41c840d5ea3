"""The message catalogue (src/opsplan/i18n.py) against the code that uses it.

Every key the code looks up must be in the catalogue, every entry in the catalogue must be used,
each entry needs a Korean and an English text with the same {placeholders}, and a call that
fills values must fill exactly the placeholders of its message. The code is read with `ast`
(and the Jinja templates with a regular expression): a key must be a literal string at the
call site, a conditional between literals, a local variable assigned such literals, or an entry
of a module-level dict of literal keys. A key built at run time (an f-string) fails the test:
write a table of literal keys instead, so this test can see every key.
"""

from __future__ import annotations

import ast
import re
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import opsplan
from opsplan.i18n import LANGUAGES, MESSAGES, Message, UnknownMessage, t

SRC = Path(opsplan.__file__).resolve().parent

# Callables whose argument is a catalogue key: name -> (position of the key, keyword of the key,
# how the message's values are passed: "kwargs" (as keywords), an int (a dict literal at that
# position or under the keyword "values"), None (never), or "unfilled" (left for a library)).
KEY_CALLS: dict[str, tuple[int, str, str | int | None]] = {
    "t": (0, "key", "kwargs"),  # opsplan.i18n.t
    "_duplicates": (2, "what", None),  # plan/semantic.py: what the repeated names are
    "template": (0, "key", "unfilled"),  # i18n.template: placeholders left for a library to fill
    "help_text": (0, "key", None),  # cli/language.py: a --help text in the command line's language
    "said": (1, "key", "kwargs"),  # errors.said, plan Problem.said: worded from the catalogue
    "_t": (0, "key", "kwargs"),  # RestoreDb._t (runbooks/restore/database.py): t in the plan's language
    "catalogue_text": (0, "key", None),  # runbooks/model.py: a title as the plan's Text
    "Removal": (1, "key", 2),  # backup/database/retention.py: a backup to prune and why
    "Line": (0, "key", 1),  # checks/model.py: a catalogue line of a check result, rendered later
}
TEMPLATE_CALL = re.compile(r"(?<![\w.])t\(\s*(?:(['\"])(?P<key>[^'\"]*)\1)?")


@dataclass
class Scan:
    used: dict[str, list[str]] = field(default_factory=dict)  # key -> where ("path:line")
    problems: list[str] = field(default_factory=list)  # what a reader of the test output must fix

    def use(self, key: str, where: str) -> None:
        self.used.setdefault(key, []).append(where)


class _Unresolved(Exception):
    pass


class _Forwarded(Exception):
    """The key is a parameter of a function that is itself in KEY_CALLS: checked at its callers."""


def _placeholders(text: str) -> set[str]:
    names = set()
    for _, name, _, _ in string.Formatter().parse(text):
        if name is not None:
            names.add(re.split(r"[.\[]", name, maxsplit=1)[0])
    return names


def _module_tables(tree: ast.Module) -> dict[str, ast.Dict]:
    tables: dict[str, ast.Dict] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            target, value = node.targets[0].id, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            target, value = node.target.id, node.value
        else:
            continue
        if isinstance(value, ast.Dict):
            tables[target] = value
    return tables


def _scopes(tree: ast.AST) -> Iterator[tuple[ast.AST, list[ast.AST]]]:
    """Every node with the functions and classes around it, innermost last."""
    stack: list[tuple[ast.AST, list[ast.AST]]] = [(tree, [])]
    while stack:
        node, around = stack.pop()
        yield node, around
        inner = [*around, node] if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) else around
        stack.extend((child, inner) for child in ast.iter_child_nodes(node))


def _resolve(expr: ast.expr, around: list[ast.AST], tables: Mapping[str, ast.Dict], depth: int = 0) -> set[str]:
    if depth > 5:
        raise _Unresolved("too many indirections")
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return {expr.value}
    if isinstance(expr, ast.IfExp):
        return _resolve(expr.body, around, tables, depth + 1) | _resolve(expr.orelse, around, tables, depth + 1)
    if isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Name) and expr.value.id in tables:
        keys: set[str] = set()
        for value in tables[expr.value.id].values:
            keys |= _resolve(value, [], tables, depth + 1)
        return keys
    function = next((f for f in reversed(around) if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)), None)
    if isinstance(expr, ast.Name) and function is not None:
        params = {a.arg for a in [*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs]}
        if expr.id in params:
            if function.name in KEY_CALLS:
                raise _Forwarded
            raise _Unresolved(f"the key is the parameter {expr.id!r} of {function.name}(): add it to KEY_CALLS")
        assigned = [n.value for n in ast.walk(function) if isinstance(n, ast.Assign)
                    and any(isinstance(tg, ast.Name) and tg.id == expr.id for tg in n.targets)]
        if assigned:
            keys = set()
            for value in assigned:
                keys |= _resolve(value, around, tables, depth + 1)
            return keys
    if (isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id == "self"
            and any(isinstance(c, ast.ClassDef) and c.name in KEY_CALLS for c in around)):
        raise _Forwarded  # e.g. Removal.reason(): t(self.key, ...), checked where Removal(...) is built
    if isinstance(expr, ast.JoinedStr):
        raise _Unresolved("a key built with an f-string: use a table of literal keys")
    raise _Unresolved(f"cannot follow the key {ast.unparse(expr)!r}")


def _values_given(call: ast.Call, how: str | int | None) -> set[str] | None:
    """The value names a call fills in, or None when they cannot be known here (**values)."""
    if how is None:
        return set()
    if how == "unfilled":
        return None  # the text is handed on with its placeholders: whoever fills them is not here
    if how == "kwargs":
        if any(k.arg is None for k in call.keywords):
            return None
        return {k.arg for k in call.keywords if k.arg is not None and k.arg != "key"}
    assert isinstance(how, int)
    given = call.args[how] if len(call.args) > how else next(
        (k.value for k in call.keywords if k.arg == "values"), None)
    if given is None:
        return set()
    if isinstance(given, ast.Dict) and all(isinstance(k, ast.Constant) for k in given.keys):
        return {k.value for k in given.keys if isinstance(k, ast.Constant)}
    return None


def scan_source(root: Path, catalogue: Mapping[str, Message]) -> Scan:
    scan = Scan()
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent)
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        tables = _module_tables(tree)
        for node, around in _scopes(tree):
            where = f"{rel}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.ImportFrom) and node.module and node.module.endswith("i18n"):
                for alias in node.names:
                    if alias.name == "MESSAGES" and path.name != "i18n.py":
                        scan.problems.append(f"{where}: imports MESSAGES: look messages up with t()")
                    if alias.asname and alias.name in KEY_CALLS:
                        scan.problems.append(f"{where}: imports {alias.name} as {alias.asname}: keep its name")
            if isinstance(node, ast.Attribute) and node.attr == "MESSAGES" and path.name != "i18n.py":
                scan.problems.append(f"{where}: uses MESSAGES: look messages up with t()")
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else (
                node.func.attr if isinstance(node.func, ast.Attribute) else None)
            if name not in KEY_CALLS:
                continue
            position, keyword, how = KEY_CALLS[name]
            arg = node.args[position] if len(node.args) > position else next(
                (k.value for k in node.keywords if k.arg == keyword), None)
            if arg is None:
                continue  # not a lookup (e.g. a call with other arguments altogether)
            try:
                keys = _resolve(arg, around, tables)
            except _Forwarded:
                continue
            except _Unresolved as why:
                scan.problems.append(f"{where}: {name}(): {why}")
                continue
            given = _values_given(node, how)
            for key in sorted(keys):
                scan.use(key, where)
                if key not in catalogue or given is None:
                    continue
                wanted = _placeholders(catalogue[key].en) | _placeholders(catalogue[key].ko)
                # One call for several keys (a table, a conditional) may give values only some use.
                if given != wanted if len(keys) == 1 else not wanted <= given:
                    scan.problems.append(f"{where}: {key!r} takes {sorted(wanted)}, the call gives {sorted(given)}")
    for path in sorted(root.rglob("templates/*")):
        rel = path.relative_to(root.parent)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in TEMPLATE_CALL.finditer(line):
                if match.group("key") is None:
                    scan.problems.append(f"{rel}:{number}: t() with a key that is not a literal string")
                else:
                    scan.use(match.group("key"), f"{rel}:{number}")
    return scan


def catalogue_problems(catalogue: Mapping[str, Message]) -> list[str]:
    problems = []
    for key, entry in catalogue.items():
        if not isinstance(entry, Message):
            problems.append(f"{key!r}: not a Message")
            continue
        for language in LANGUAGES:
            text = getattr(entry, language)
            if not isinstance(text, str) or not text.strip():
                problems.append(f"{key!r}: no {language} text")
        if isinstance(entry.ko, str) and isinstance(entry.en, str):
            ko, en = _placeholders(entry.ko), _placeholders(entry.en)
            if ko != en:
                problems.append(f"{key!r}: placeholders differ: ko {sorted(ko)}, en {sorted(en)}")
    return problems


def usage_problems(scan: Scan, catalogue: Mapping[str, Message]) -> list[str]:
    missing = [f"{key!r} used at {', '.join(where)} is not in the catalogue"
               for key, where in sorted(scan.used.items()) if key not in catalogue]
    unused = [f"{key!r} is in the catalogue but no code uses it" for key in catalogue if key not in scan.used]
    return [*scan.problems, *missing, *unused]


# --- the real catalogue and source tree ------------------------------------------------------------

def test_every_entry_has_korean_and_english_with_the_same_placeholders():
    assert not catalogue_problems(MESSAGES), "\n".join(catalogue_problems(MESSAGES))


def test_every_key_the_code_uses_is_in_the_catalogue_and_every_entry_is_used():
    scan = scan_source(SRC, MESSAGES)
    assert len(scan.used) > 150, "the scan found too few keys: is it still reading the code?"
    problems = usage_problems(scan, MESSAGES)
    assert not problems, "\n".join(problems)


def test_t_names_an_unknown_key_and_rejects_an_unknown_language():
    assert t("serve.started", "ko", url="http://x") == "opsplan 실행 중: http://x"
    assert t("serve.started", "en", url="http://x") == "opsplan serving on http://x"
    assert t("status.title") == "opsplan status"  # English when no language is given
    with pytest.raises(KeyError, match="no.such.key"):
        t("no.such.key", "ko")
    with pytest.raises(UnknownMessage) as caught:
        t("no.such.key", "en")
    assert caught.value.key == "no.such.key"
    with pytest.raises(ValueError, match="'fr'"):
        t("status.title", "fr")


# --- each check fails when it should ----------------------------------------------------------------

def _tree(tmp_path: Path, files: Mapping[str, str]) -> Path:
    root = tmp_path / "pkg"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


CATALOGUE = {"a.one": Message(ko="하나 {n}", en="one {n}"), "a.two": Message(ko="둘", en="two"),
             "a.state.on": Message(ko="켜짐", en="on"), "a.state.off": Message(ko="꺼짐", en="off")}
GOOD = '''
from opsplan.i18n import t
_STATE = {"on": "a.state.on", "off": "a.state.off"}

def show(n, state, lang):
    key = "a.one" if n else "a.one"
    return t(key, lang, n=n) + t("a.two", lang) + t(_STATE[state], lang)
'''


def test_the_scan_passes_a_clean_tree(tmp_path):
    assert usage_problems(scan_source(_tree(tmp_path, {"m.py": GOOD}), CATALOGUE), CATALOGUE) == []


@pytest.mark.parametrize(("source", "expected"), [
    (GOOD + 'X = t("a.three", "ko")\n', "'a.three' used at pkg/m.py:8 is not in the catalogue"),
    (GOOD.replace('t("a.two", lang)', '""'), "'a.two' is in the catalogue but no code uses it"),
    (GOOD + 'Y = t(f"a.state.{1}", "ko")\n', "an f-string"),
    (GOOD + 'def f(k):\n    return t(k, "ko")\n', "the parameter 'k' of f()"),
    (GOOD.replace("n=n", "count=n"), "'a.one' takes ['n'], the call gives ['count']"),
    (GOOD.replace("t(key, lang, n=n)", "t(key, lang)"), "'a.one' takes ['n'], the call gives []"),
    (GOOD + "from opsplan.i18n import MESSAGES\n", "imports MESSAGES"),
], ids=["missing-key", "dead-key", "f-string", "untraceable", "wrong-value", "no-value", "messages"])
def test_the_scan_fails_on(tmp_path, source, expected):
    problems = usage_problems(scan_source(_tree(tmp_path, {"m.py": source}), CATALOGUE), CATALOGUE)
    assert any(expected in p for p in problems), problems


def test_the_scan_reads_templates(tmp_path):
    root = _tree(tmp_path, {"m.py": GOOD, "templates/page.html": '{{ t("a.gone") }} {{ pct(v) }} {{ t(name) }}'})
    problems = usage_problems(scan_source(root, CATALOGUE), CATALOGUE)
    assert "'a.gone' used at pkg/templates/page.html:1 is not in the catalogue" in problems
    assert "pkg/templates/page.html:1: t() with a key that is not a literal string" in problems
    assert len(problems) == 2, problems


@pytest.mark.parametrize(("entry", "expected"), [
    (Message(ko="", en="one"), "'x': no ko text"),
    (Message(ko="하나", en="  "), "'x': no en text"),
    (Message(ko="{n}개", en="{count} of them"), "'x': placeholders differ: ko ['n'], en ['count']"),
    (Message(ko="{n}개", en="some"), "'x': placeholders differ: ko ['n'], en []"),
])
def test_the_catalogue_check_fails_on(entry, expected):
    assert catalogue_problems({"x": entry}) == [expected]


def test_a_message_needs_both_languages():
    with pytest.raises(TypeError):
        Message(ko="하나")  # type: ignore[call-arg]
