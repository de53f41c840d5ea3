"""`opsplan --help` answers without loading the web server, the databases' toolkits or the plan's
models (issue 10 item 7): what a command imports, checked in a fresh interpreter. Start-up time
itself is measured by bench/bench_cli.py, not here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

# What only a command that does the work needs; `--help` must not pay for any of it. (pydantic
# itself is not listed: typer checks option values with it, `opsplan backup --help` included.)
HEAVY = ("fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "apprise", "numpy",
         "httpx", "pymysql", "zstandard", "prometheus_client", "psutil", "ruamel",
         "opsplan.plan.models", "opsplan.store", "opsplan.stages", "opsplan.web", "opsplan.serve")

# Runs the command in-process, then reports every module loaded (exit code included).
PROBE = """
import json, sys
from opsplan.cli.main import main
sys.argv = ["opsplan", *json.loads(sys.argv[1])]
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code or 0
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def loaded_by(*args: str) -> tuple[int, str, set[str]]:
    env = {**os.environ, "PYTHONPATH": str(SRC), "COLUMNS": "100"}
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], capture_output=True, text=True,
                          env=env, timeout=60, check=False)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["code"], done.stdout, set(report["modules"])


def heavy_in(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


@pytest.mark.parametrize("args", [("--help",), ("backup", "--help"), ("alerts", "--help"),
                                  ("runbook", "--help"), ("backup", "list", "--help"), ("restore", "db", "--help"),
                                  ("serve", "--help"), ("backup",), ("incident", "--help")])
def test_help_loads_none_of_the_heavy_packages(args):
    code, output, modules = loaded_by(*args)
    assert code in (0, 2), output  # a group without a command shows its help and exits 2 (click)
    assert "Usage" in output, output
    assert heavy_in(modules) == []


def test_the_probe_would_see_a_heavy_import(tmp_path):
    # The same probe on a command that loads the plan does report the plan's models: the check above can fail.
    plan = tmp_path / "opsplan.yaml"
    code, output, _ = loaded_by("init", "--lang", "en", str(plan))
    assert code == 0 and plan.exists(), output
    _, _, modules = loaded_by("--plan", str(plan), "plan", "check")
    assert "opsplan.plan.models" in heavy_in(modules)


@pytest.mark.parametrize("command", [("backup", "list"), ("alerts", "list"), ("runbook", "list"),
                                     ("incident", "list")])
def test_listing_commands_load_no_web_server_notifier_or_metrics_store(tmp_path, command):
    # They read the plan and the state database; the web framework, apprise and numpy are serve's.
    from yaml_writer import write_plan

    plan = write_plan(tmp_path, {"language": "en"})
    first, output, _ = loaded_by("--plan", str(plan), *command)  # creates (migrates) the state database
    assert first == 0, output
    code, output, modules = loaded_by("--plan", str(plan), *command)  # every later run: alembic not needed
    assert code == 0, output
    assert "opsplan.plan.models" in modules and "sqlalchemy" in modules  # it did the work
    web = ("fastapi", "starlette", "uvicorn", "apprise", "numpy", "alembic", "opsplan.web", "opsplan.serve")
    assert [m for m in modules if m.split(".")[0] in web or m.startswith(web)] == []
