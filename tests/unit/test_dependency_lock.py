"""A fresh machine gets what CI tested (issue 10 item 17): requirements.lock pins every dependency
pyproject.toml names, scripts/setup.sh installs with it as constraints and reinstalls when either
file changes, and starlette's test client runs on the HTTP client it wants (no deprecation)."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins() -> dict[str, str]:
    found = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version and re.fullmatch(r"[0-9][0-9A-Za-z.+!-]*", version), f"not an exact pin: {line!r}"
            found[canonical(name)] = version
    return found


def declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = project["dependencies"] + [d for group in project["optional-dependencies"].values() for d in group]
    return {canonical(re.match(r"[A-Za-z0-9_.-]+", spec).group(0)) for spec in wanted}


def test_the_lock_pins_every_declared_dependency_exactly_and_not_opsplan():
    locked = pins()
    assert declared() - set(locked) == set()
    assert "opsplan" not in locked and "pip" not in locked


def test_setup_installs_with_the_lock_and_reinstalls_when_it_changes():
    setup = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    install = [line for line in setup.splitlines() if "pip install" in line and "-e" in line]
    assert install and all("-c requirements.lock" in line for line in install), install
    assert re.search(r"want=.*pyproject\.toml.*requirements\.lock.*sha256sum", setup)


def test_starlettes_test_client_imports_without_a_deprecation_warning():
    # With only httpx, starlette warns on import that httpx is deprecated for its test client
    # (StarletteDeprecationWarning, a UserWarning); every warning is an error here.
    done = subprocess.run([sys.executable, "-W", "error", "-c", "import fastapi.testclient, starlette.testclient"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
