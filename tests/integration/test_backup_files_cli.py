"""`opsplan backup model|models|config` as an operator runs them: a real process, real files, real git."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from yaml_writer import write_plan


def opsplan(plan: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "opsplan", "--plan", str(plan), "backup", *args],
                          capture_output=True, text=True, timeout=120, check=False)


def test_models_and_config_from_the_command_line(tmp_path: Path) -> None:
    model = tmp_path / "models" / "llm"
    model.mkdir(parents=True)
    (model / "model.safetensors").write_bytes(b"\x01" * 300_000)
    etc = tmp_path / "etc" / "app"
    etc.mkdir(parents=True)
    (etc / "app.conf").write_text("workers = 4\n")
    (etc / "api.key").write_text("k3y-material")
    plan = write_plan(tmp_path, {"language": "en", "backup": {
        "directory": str(tmp_path / "backups"),
        "models": {"keep_versions": 2, "models": [{"name": "llm", "path": str(model)}]},
        "config": {"paths": [str(etc)]}}})

    first = opsplan(plan, "model", "llm", "--version", "v1")
    assert first.returncode == 0, first.stderr
    assert "model llm: version v1 stored (1 files" in first.stdout
    assert "unchanged (latest version v1)" in opsplan(plan, "model", "llm").stdout
    listed = json.loads(opsplan(plan, "models", "--json").stdout)
    assert [(v["model"], v["version"], v["size_bytes"]) for v in listed] == [("llm", "v1", 300_000)]

    missing = opsplan(plan, "model", "nope")
    assert missing.returncode == 1 and missing.stderr.strip().count("\n") == 0
    assert "the plan has no model nope" in missing.stderr

    done = opsplan(plan, "config", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "ok" and result["excluded"] == [{"path": str(etc / "api.key"),
                                                                 "reason": "name matches *.key"}]
    assert "k3y-material" not in done.stdout + done.stderr
    assert "nothing committed" in opsplan(plan, "config").stdout
    (etc / "app.conf").write_text("workers = 8\n")
    assert "1 changed" in opsplan(plan, "config").stdout
    log = json.loads(opsplan(plan, "config", "log", "--json").stdout)
    assert len(log) == 2 and log[0]["files"] == [f"M {str(etc / 'app.conf').lstrip('/')}"]
    diff = opsplan(plan, "config", "diff")
    assert "+workers = 8" in diff.stdout and "-workers = 4" in diff.stdout
    bad = opsplan(plan, "config", "diff", "0000000")
    assert bad.returncode == 1 and "no configuration commit 0000000" in bad.stderr
