"""Docs that fail when something an operator relies on is undocumented."""

from __future__ import annotations

import re
from pathlib import Path

from opsplan.cli.main import app
from opsplan.plan.models import Plan
from opsplan.stages.all import metric_registry

ROOT = Path(__file__).resolve().parents[2]


def test_every_metric_is_documented_with_its_type():
    # docs/metrics.md, and a docs/metrics-<stage>.md per later stage (alerts, backup ...).
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("metrics*.md")))
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\|\s*`([a-z0-9_:]+)`\s*\|\s*(\w+)\s*\|", text, re.M)}
    catalogue = metric_registry()
    undocumented = sorted(set(catalogue) - set(rows))
    assert not undocumented, f"metrics missing from docs/metrics.md: {undocumented}"
    wrong_type = sorted(n for n, spec in catalogue.items() if rows[n] != spec.type)
    assert not wrong_type, f"docs/metrics.md gives the wrong type for: {wrong_type}"
    stale = sorted(set(rows) - set(catalogue))
    assert not stale, f"docs/metrics.md documents metrics nothing emits: {stale}"


def test_every_command_is_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    names = [c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands]
    names += [g.name or "" for g in app.registered_groups]
    missing = [n for n in names if f"opsplan {n}" not in readme]
    assert not missing, f"commands missing from README.md: {missing}"


def test_every_plan_section_is_documented():
    text = (ROOT / "docs" / "plan.md").read_text(encoding="utf-8")
    missing = [name for name in Plan.model_fields if f"`{name}`" not in text]
    assert not missing, f"plan sections missing from docs/plan.md: {missing}"


LOCAL_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
LOCAL_PATH = re.compile(r"`((?:\.\./|docs/|scripts/|src/|tests/|bench/)[\w./-]+)`")


def test_every_local_file_the_readme_and_docs_refer_to_exists():
    # A clone has only the repository: a path into ../shared or a renamed page points nowhere.
    missing = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        for target in LOCAL_LINK.findall(text):
            if "://" not in target and not target.startswith("mailto:") and not (page.parent / target).exists():
                missing.append(f"{page.relative_to(ROOT)}: ({target})")
        for target in LOCAL_PATH.findall(text):
            if "*" not in target and not (ROOT / target).exists():
                missing.append(f"{page.relative_to(ROOT)}: `{target}`")
    assert not missing, f"references to files that are not in the repository: {missing}"


def test_the_seed_the_docs_cite_is_in_the_repository():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("operations-plan.ko.md", "operations-plan.en.md"):
        assert f"docs/seed/{name}" in readme
        assert "운영" in (ROOT / "docs" / "seed" / "operations-plan.ko.md").read_text(encoding="utf-8")
    assert "../shared" not in readme
