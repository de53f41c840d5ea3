"""`opsplan restore model NAME` as an operator runs it: a real process, a model store with two
versions, and a model server on 127.0.0.1 that loads the model through the serving symlink."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from model_server import ModelServer
from opsplan.backup.models.store import ModelStore
from opsplan.runbooks.rollback.perf import baselines, profile_of, record_baseline, run_perf
from opsplan.stages.all import load_plan
from opsplan.store.state import StateDB, default_url
from yaml_writer import write_plan

WEIGHTS = {"v1": b"\x01" * 200_000, "v2": b"\x02" * 150_000, "v3": b"\x03" * 100_000}


def write_version(directory: Path, version: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "model.json").write_text(json.dumps({"name": version}))
    (directory / "weights.bin").write_bytes(WEIGHTS[version])
    (directory / "tokenizer").mkdir(exist_ok=True)
    (directory / "tokenizer" / "vocab.txt").write_text(f"vocabulary of {version}\n")


class Setup:
    """Versions v1 and v2 stored; v2 serving from the model's own folder through `current`."""

    def __init__(self, tmp: Path, server_link: Path, extra: dict[str, Any] | None = None):
        self.tmp = tmp
        self.source = tmp / "models" / "llm"
        self.link = server_link
        self.db = StateDB.open(default_url(tmp / "data"))
        self.store = ModelStore(tmp / "backups", self.db)
        write_version(self.source, "v1")
        self.store.backup("llm", self.source, keep=5, version="v1")
        for stale in (self.source / "weights.bin", self.source / "model.json"):
            stale.unlink()
        write_version(self.source, "v2")
        self.store.backup("llm", self.source, keep=5, version="v2")
        self.link.symlink_to(self.source)
        self.extra = extra or {}

    def plan(self, server: ModelServer, **model: Any) -> Path:
        entry = {"name": "llm", "path": str(self.source), "serving_link": str(self.link), "endpoint": server.url,
                 "health_wait": "10s", "reload_command": server.reload_command(),
                 "perf": {"count": 8, "concurrency": 2, "timeout": "30s",
                          "requests": [{"method": "GET", "path": "/v1/models"},
                                       {"method": "POST", "path": "/v1/completions",
                                        "body": {"model": "llm", "prompt": "hello", "max_tokens": 4}}]},
                 **model}
        return write_plan(self.tmp, {"language": "en", "backup": {
            "directory": str(self.tmp / "backups"), "config": {"paths": [str(self.tmp / "etc")]},
            "models": {"models": [entry]}}})


def opsplan(plan: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "opsplan", "--plan", str(plan), *args],
                          capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL)


def rollback(plan: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    done = opsplan(plan, "restore", "model", "llm", "--json", *args)
    assert done.stdout, done.stderr
    return done, json.loads(done.stdout)


def files_of(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture
def env(tmp_path: Path):
    link = tmp_path / "models" / "current"
    link.parent.mkdir(parents=True)
    setup = Setup(tmp_path, link)
    with ModelServer(link) as server:
        assert server.loaded == "v2"
        yield setup, server
    setup.db.close()


def reported_model(server: ModelServer) -> str:
    return httpx.get(f"{server.url}/v1/models", timeout=10).json()["data"][0]["id"]


def test_rollback_puts_the_previous_version_into_service(env) -> None:
    setup, server = env
    plan = setup.plan(server)
    v1_files = files_of(setup.store.version_dir("llm", "v1") / "files")

    done, result = rollback(plan, "--yes")

    assert done.returncode == 0, done.stderr
    assert (result["status"], result["version"], result["serving_version"]) == ("ok", "v1", "v2")
    serving = Path(os.path.realpath(setup.link))
    assert serving != setup.source and serving.parent == setup.source.parent  # a new directory beside it
    assert files_of(serving) == v1_files  # byte-identical to the stored version
    assert files_of(setup.source)["model.json"] == b'{"name": "v2"}'  # the old one is kept, untouched
    assert reported_model(server) == "v1" and server.loaded_dir == str(serving)
    assert [s["name"] for s in result["steps"]] == ["restore_version", "validate_model", "performance_test",
                                                    "put_into_service"]
    assert result["perf"]["errors"] == 0 and result["perf"]["requests"] == 8
    assert [(b.model, b.version) for b in baselines(setup.db)] == [("llm", "v1")]  # first test records it
    assert "8 files" not in done.stderr  # --json: the document on stdout, progress on stderr
    assert "Put into service" in done.stderr


def test_a_rollback_that_fails_its_performance_test_leaves_the_serving_version(env) -> None:
    setup, server = env
    plan = setup.plan(server)
    assert rollback(plan, "--yes")[0].returncode == 0  # v1's baseline, fast
    done, forward = rollback(plan, "--yes", "--version", "v2")  # v2's baseline; v2 serves from a restored dir
    assert done.returncode == 0, done.stderr
    serving_before = os.readlink(setup.link)
    assert reported_model(server) == "v2"

    server.delays["v1"] = 0.4  # v1 has become slow on this server
    done, result = rollback(plan, "--yes")  # default: the version before v2

    assert done.returncode == 1
    assert (result["status"], result["failed_step"], result["version"]) == ("rolled_back", "performance_test", "v1")
    assert "p50" in result["reason"] and "baseline" in result["reason"]
    assert os.readlink(setup.link) == serving_before  # the link is back where it was
    assert reported_model(server) == "v2"  # and the server reloaded the serving version
    assert not Path(result["candidate_dir"]).exists()  # the rejected copy is removed
    undone = [s["name"] for s in result["steps"] if s["phase"] == "undo" and s["status"] == "ok"]
    assert undone == ["performance_test", "restore_version"]


def test_a_new_version_slower_than_the_serving_one_fails_its_first_test(env) -> None:
    setup, server = env
    plan = setup.plan(server)
    perf = load_plan(plan).backup.models.models[0].perf
    server.delays.update(v2=0.1, v3=0.2)  # v3 answers twice as slowly as v2
    # The serving version's figures, measured on this server as a rollback's test records them.
    measured = run_perf(server.url, perf)
    record_baseline(setup.db, "llm", "v2", profile_of(perf), measured, now=time.time(), run_id=None)
    write_version(setup.tmp / "v3", "v3")
    setup.store.backup("llm", setup.tmp / "v3", keep=5, version="v3")
    serving_before = os.readlink(setup.link)

    done, result = rollback(plan, "--yes", "--version", "v3")

    assert done.returncode == 1, done.stderr
    assert (result["status"], result["failed_step"], result["version"]) == ("rolled_back", "performance_test", "v3")
    assert "v2 (serving)" in result["reason"] and "p50" in result["reason"]
    assert os.readlink(setup.link) == serving_before and reported_model(server) == "v2"
    assert [(b.model, b.version) for b in baselines(setup.db)] == [("llm", "v2")]  # nothing recorded for v3


def test_a_corrupted_stored_file_never_reaches_the_server(env) -> None:
    setup, server = env
    plan = setup.plan(server)
    stored = setup.store.version_dir("llm", "v1") / "files" / "weights.bin"
    os.chmod(stored, 0o600)
    with open(stored, "r+b") as f:  # one flipped byte in the object store
        f.seek(1000)
        f.write(b"\xff")
    reloads = server.reloads

    done, result = rollback(plan, "--yes")

    assert done.returncode == 1
    assert (result["status"], result["failed_step"]) == ("rolled_back", "restore_version")
    assert "weights.bin" in result["reason"] and "hash" in result["reason"]
    assert os.readlink(setup.link) == str(setup.source) and server.reloads == reloads
    assert sorted(p.name for p in setup.source.parent.iterdir()) == ["current", "llm"]  # nothing left behind


def test_a_validation_command_that_rejects_the_candidate_rolls_back(env) -> None:
    setup, server = env
    check = [sys.executable, "-c", "import json, os, sys; name = json.load(open(sys.argv[1] + '/model.json'))['name'];"
             " print('loaded', name, os.environ['OPSPLAN_MODEL_DIR'] == sys.argv[1]);"
             " sys.exit(0 if name == 'v2' else 3)", "{model_dir}"]
    plan = setup.plan(server, validate_command=check)

    done, result = rollback(plan, "--yes")

    assert done.returncode == 1
    assert (result["status"], result["failed_step"]) == ("rolled_back", "validate_model")
    assert "exit 3" in result["reason"] and "loaded v1 True" in result["reason"]  # its last line, in the journal
    assert os.readlink(setup.link) == str(setup.source) and reported_model(server) == "v2"
    assert not Path(result["candidate_dir"]).exists()


def test_dry_run_prints_the_real_paths_and_changes_nothing(env) -> None:
    setup, server = env
    plan = setup.plan(server)
    reloads, before = server.reloads, sorted(setup.source.parent.iterdir())

    done = opsplan(plan, "restore", "model", "llm", "--dry-run")

    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert f"switch {setup.link} -> {setup.source.parent}/llm-v1-run" in text
    assert "version v2" in text and str(setup.store.version_dir("llm", "v1")) in text
    assert "/admin/reload" in text and "/v1/completions" in text
    assert sorted(setup.source.parent.iterdir()) == before and os.readlink(setup.link) == str(setup.source)
    assert server.reloads == reloads and baselines(setup.db) == []


def test_bad_arguments_are_one_line(env) -> None:
    setup, server = env
    plan = setup.plan(server)
    unknown = opsplan(plan, "restore", "model", "nope", "--yes")
    assert unknown.returncode == 1 and "model 'nope' is not in backup.models.models (known: llm)" in unknown.stderr
    assert unknown.stderr.strip().count("\n") == 0
    missing = opsplan(plan, "restore", "model", "llm", "--version", "v9", "--yes")
    assert missing.returncode == 1 and "model llm has no version v9 (kept: v1, v2)" in missing.stderr
    same = opsplan(plan, "restore", "model", "llm", "--version", "v2", "--yes", "--json")
    assert same.returncode == 1 and "version v2 is already serving" in same.stdout
    assert os.readlink(setup.link) == str(setup.source)
