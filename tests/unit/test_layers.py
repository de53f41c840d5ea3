"""The shape of the package (docs/architecture.md), as a test: which package may import which,
and no import cycle between modules. A new stage adds its own line to ALLOWED."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "opsplan"

# The vocabulary every stage shares: it imports no stage, no plan, no store.
VOCABULARY = {"errors", "i18n", "format", "net", "jobs", "metrics", "fsutil", "masking", "hashchain", "pdf", "__init__"}
# The plan, the stores, and how every stage logs in to the plan's MariaDB.
# The audit log (opsplan.audit) is foundation too: every stage and host may record to it.
FOUNDATION = VOCABULARY | {"plan", "store", "mariadb", "audit"}
DOMAIN = {"collectors", "rules", "alerts", "notify", "export", "backup", "runbooks", "incidents", "checks", "oncall"}

# Each package: the opsplan packages it may import besides itself.
ALLOWED: dict[str, set[str]] = {
    **{name: VOCABULARY for name in VOCABULARY},
    "plan": VOCABULARY,
    "store": VOCABULARY | {"plan"},
    "mariadb": VOCABULARY | {"plan"},
    "audit": VOCABULARY | {"plan", "store"},
    # The stages of the data flow, upstream before downstream; none of them knows its host.
    "collectors": FOUNDATION,
    "rules": FOUNDATION,
    "alerts": FOUNDATION | {"rules"},
    "notify": FOUNDATION | {"alerts"},
    "export": FOUNDATION | {"rules"},
    "backup": FOUNDATION,
    "runbooks": FOUNDATION | {"backup"},
    # pages and notices go through the outbox; restores and drills run during an incident are linked
    "incidents": FOUNDATION | {"alerts", "rules", "notify", "runbooks"},
    # On-call pages open incidents through the notification outbox.
    "oncall": FOUNDATION | {"incidents", "notify"},
    # The periodic checks read what every stage before them keeps (the store, catalogs, alert states),
    # a failed item may open an incident, and a run's summary goes through the notification outbox.
    "checks": FOUNDATION | {"collectors", "rules", "alerts", "backup", "runbooks", "incidents", "notify"},
    # The hosts: HTTP routes over the domain, the composition root, the process, the commands.
    "web": FOUNDATION | DOMAIN,
    "stages": FOUNDATION | DOMAIN | {"web"},
    "serve": FOUNDATION | DOMAIN | {"web", "stages"},
    "cli": FOUNDATION | DOMAIN | {"web", "stages", "serve"},
    "__main__": {"cli"},
}
# Sub-packages held to a narrower line than their package. web.identity (users, sessions, tokens)
# is what the console and the CLI build on: it knows the foundation and the audit writer
# (runbooks.audit), never another web module, the stages or a host.
SUBPACKAGES: dict[str, set[str]] = {
    "web.identity": FOUNDATION | {"runbooks"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported module, line, at module level outside TYPE_CHECKING) for every opsplan import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_name(path).split(".") if path.is_relative_to(SRC) else ["opsplan"]
    if path.name != "__init__.py":
        package = package[:-1]
    top_level: set[int] = set()
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            top_level.add(id(node))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [f"{target}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            if name == "opsplan" or name.startswith("opsplan."):
                found.append((name, node.lineno, id(node) in top_level))
    return found


def _package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in SRC.rglob("*.py")}


def _resolve(name: str, modules: dict[str, Path]) -> str:
    """`opsplan.x.y` is module x.y when there is one, else the name y in module x."""
    return name if name in modules else name.rsplit(".", 1)[0]


def test_each_package_imports_only_what_its_layer_allows():
    unknown = sorted({_package_of(m) for m in _modules()} - set(ALLOWED))
    assert not unknown, f"packages with no line in ALLOWED (add one, and to docs/architecture.md): {unknown}"
    wrong = []
    modules = _modules()
    for module, path in sorted(modules.items()):
        mine = _package_of(module)
        for target, line, _ in _imports(path):
            theirs = _package_of(_resolve(target, modules))
            if theirs != mine and theirs not in ALLOWED[mine]:
                wrong.append(f"{path.relative_to(SRC.parent)}:{line}: {mine} imports {target}")
    assert not wrong, "imports across the layering:\n" + "\n".join(sorted(set(wrong)))


def test_sub_packages_import_only_what_their_line_allows():
    modules = _modules()
    wrong = []
    for sub, allowed in SUBPACKAGES.items():
        prefix = f"opsplan.{sub}"
        mine = [m for m in modules if m == prefix or m.startswith(prefix + ".")]
        assert mine, f"{sub}: no such sub-package"
        for module in mine:
            for target, line, _ in _imports(modules[module]):
                resolved = _resolve(target, modules)
                if resolved == prefix or resolved.startswith(prefix + "."):
                    continue
                if _package_of(resolved) not in allowed:
                    wrong.append(f"{modules[module].relative_to(SRC.parent)}:{line}: {sub} imports {target}")
    assert not wrong, "imports across the sub-package lines:\n" + "\n".join(sorted(wrong))


def _cycles(graph: dict[str, set[str]]) -> list[str]:
    cycles: list[str] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def test_no_import_cycle_between_modules():
    modules = _modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in modules.items():
        for target, _, top in _imports(path):
            resolved = _resolve(target, modules)
            # Imports inside functions run late on purpose; only module-level ones can cycle.
            if top and resolved in modules and resolved != module:
                graph[module].add(resolved)
    cycles = _cycles(graph)
    assert not cycles, "module-level import cycles:\n" + "\n".join(cycles)


def test_the_checks_themselves_catch_a_wrong_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from opsplan.serve.server import serve\n\ndef f():\n    from opsplan.web import app\n")
    modules = _modules()
    assert [_resolve(t, modules) for t, _, _ in _imports(bad)] == ["opsplan.serve.server", "opsplan.web.app"]
    assert "serve" not in ALLOWED["backup"] and "web" not in ALLOWED["alerts"]
    assert all(host not in ALLOWED[stage] for stage in DOMAIN for host in ("serve", "web", "cli", "stages"))
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a -> b -> c -> a"]
    assert _cycles({"a": {"b"}, "b": {"c"}}) == []
