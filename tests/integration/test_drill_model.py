"""`opsplan drill model NAME`: a stored version restored into a scratch directory, validated and
performance-tested on a test server, without the serving link or the serving server noticing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from test_rollback_model import Setup, opsplan

from model_server import ModelServer
from opsplan.runbooks.drill.results import history


@pytest.fixture
def env(tmp_path: Path):
    link = tmp_path / "models" / "current"
    link.parent.mkdir(parents=True)
    test_link = tmp_path / "test-slot" / "model"
    test_link.parent.mkdir()
    setup = Setup(tmp_path, link)
    with ModelServer(link) as serving, ModelServer(test_link) as tester:
        yield setup, serving, tester, test_link
    setup.db.close()


def drill(plan: Path, *args: str) -> tuple[int, dict]:
    done = opsplan(plan, "drill", "model", "llm", "--json", *args)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def test_drill_restores_validates_and_tests_without_touching_the_serving_model(env) -> None:
    setup, serving, tester, test_link = env
    plan = setup.plan(serving, test_slot={"link": str(test_link), "endpoint": tester.url,
                                          "reload_command": tester.reload_command()})
    seen = len(serving.requests)

    code, result = drill(plan)

    assert code == 0, result
    assert (result["status"], result["passed"], result["model"], result["version"]) == ("ok", True, "llm", "v2")
    assert set(result["phases"]) == {"restore_version", "validate_model", "performance_test"}
    assert result["rto_seconds"] == pytest.approx(sum(result["phases"].values()))
    checks = result["checks"]
    assert checks["files_checked"] == 3 and checks["file_problems"] == 0
    assert checks["perf"]["requests"] == 8 and checks["perf"]["errors"] == 0 and checks["baseline_recorded"]
    assert tester.loaded == "v2" and "model-drill-llm-run" in (tester.loaded_dir or "")  # tested the scratch copy
    assert not Path(tester.loaded_dir or "/").exists()  # and removed it afterwards
    assert os.readlink(setup.link) == str(setup.source) and len(serving.requests) == seen  # serving untouched
    stored = history(setup.db, "model:llm")
    assert [(d["status"], d["run_id"]) for d in stored] == [("ok", result["run_id"])]

    older = drill(plan, "--version", "v1")
    assert older[0] == 0 and older[1]["version"] == "v1" and tester.loaded == "v1"


def test_drill_fails_on_a_corrupted_stored_file(env) -> None:
    setup, serving, _tester, _ = env
    plan = setup.plan(serving)  # no test slot: the performance test is skipped, never the serving endpoint
    assert drill(plan)[1]["checks"]["perf_skipped"] is True
    stored = setup.store.version_dir("llm", "v2") / "files" / "tokenizer" / "vocab.txt"
    os.chmod(stored, 0o600)
    stored.write_text("vocabulary of someone else\n")

    code, result = drill(plan)

    assert code == 1
    assert (result["passed"], result["failed_step"]) == (False, "restore_version")
    assert "tokenizer/vocab.txt" in result["reason"] and result["rto_seconds"] is None
    assert [d["status"] for d in history(setup.db, "model:llm")][:1] == ["failed"]
    scratch = setup.tmp / "backups" / ".scratch"
    assert not scratch.exists() or list(scratch.iterdir()) == []  # nothing left behind
    assert os.readlink(setup.link) == str(setup.source)
