"""`opsplan user ...` and `opsplan user token ...` through typer's CliRunner on a plan file and its
state DB, and once as a real process whose password arrives on standard input."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from opsplan.stages.all import load_plan
from opsplan.store.state import StateDB, default_url
from opsplan.web.identity.login import BAD, OK, Login
from yaml_writer import write_plan

PASSWORD = "correct horse battery"
SRC = Path(__file__).resolve().parents[2] / "src"


def run(path, *args, stdin: str | None = None):
    from opsplan.cli.main import app

    return CliRunner().invoke(app, ["--plan", str(path), "user", *args], input=stdin)


def can_log_in(path, name: str, password: str) -> bool:
    plan = load_plan(path)
    db = StateDB.open(default_url(plan.data_dir))
    try:
        return Login(db, None, time.time).attempt(name, password).result == OK
    finally:
        db.close()


def test_the_first_admin_and_a_user_lifecycle(tmp_path):
    path = write_plan(tmp_path, {"language": "en"})
    empty = run(path, "list")
    assert empty.exit_code == 0 and "opsplan user add NAME --role admin" in empty.output
    first = run(path, "add", "kim", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert first.exit_code == 0, first.output
    assert "Added user kim (role: admin)" in first.output and "first admin" in first.output
    assert can_log_in(path, "kim", PASSWORD)
    added = run(path, "add", "lee", "--role", "operator", "--password-stdin", stdin=PASSWORD + "\n")
    assert added.exit_code == 0 and "first admin" not in added.output
    listed = json.loads(run(path, "list", "--json").output)
    assert [(u["name"], u["role"], u["disabled"]) for u in listed] == [("kim", "admin", False),
                                                                       ("lee", "operator", False)]
    changed = run(path, "passwd", "lee", "--password-stdin", stdin="a brand new password\n")
    assert changed.exit_code == 0, changed.output
    assert not can_log_in(path, "lee", PASSWORD) and can_log_in(path, "lee", "a brand new password")
    assert run(path, "role", "lee", "viewer").exit_code == 0
    assert run(path, "disable", "lee").exit_code == 0
    assert not can_log_in(path, "lee", "a brand new password")
    assert run(path, "enable", "lee").exit_code == 0
    assert json.loads(run(path, "list", "--json").output)[1]["role"] == "viewer"
    # The audit log names every change; no password is in it.
    audit = (tmp_path / "data" / "audit.log").read_text()
    actions = [json.loads(line)["action"] for line in audit.splitlines()]
    for action in ("user.add", "user.passwd", "user.role", "user.disable", "user.enable"):
        assert action in actions
    assert PASSWORD not in audit and "a brand new password" not in audit


def test_refusals_are_one_line(tmp_path):
    path = write_plan(tmp_path, {"language": "en"})
    run(path, "add", "kim", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    short = run(path, "add", "lee", "--password-stdin", stdin="short\n")
    assert short.exit_code == 1 and "The password is too short" in short.output
    last = run(path, "role", "kim", "viewer")
    assert last.exit_code == 1 and "kim is the last admin" in last.output
    assert "Traceback" not in last.output
    unknown = run(path, "passwd", "nobody", "--password-stdin", stdin=PASSWORD + "\n")
    assert unknown.exit_code == 1 and "No user nobody" in unknown.output
    # No terminal and no --password-stdin: refused, nothing added.
    no_tty = run(path, "add", "park")
    assert no_tty.exit_code == 1 and "--password-stdin" in no_tty.output
    assert [u["name"] for u in json.loads(run(path, "list", "--json").output)] == ["kim"]


def test_tokens_are_shown_once_listed_without_their_value_and_revoked(tmp_path):
    path = write_plan(tmp_path, {"language": "en"})
    run(path, "add", "kim", "--role", "operator", "--password-stdin", stdin=PASSWORD + "\n")
    made = run(path, "token", "create", "kim", "--name", "ci", "--scope", "write", "--expires", "90d", "--json")
    assert made.exit_code == 0, made.output
    token = json.loads(made.output)["token"]
    assert token.startswith("opsp_")
    listed = run(path, "token", "list")
    assert listed.exit_code == 0 and token not in listed.output and "ci" in listed.output
    [row] = json.loads(run(path, "token", "list", "--json").output)
    assert (row["user"], row["scope"], row["state"]) == ("kim", "write", "live") and row["expires"]
    assert run(path, "token", "create", "kim", "--scope", "admin").exit_code == 1
    assert run(path, "token", "create", "kim", "--expires", "soon").exit_code == 1
    assert run(path, "token", "revoke", str(row["id"])).exit_code == 0
    assert json.loads(run(path, "token", "list", "--json").output)[0]["state"] == "revoked"
    again = run(path, "token", "revoke", str(row["id"]))
    assert again.exit_code == 1 and "No live API token" in again.output
    audit = (tmp_path / "data" / "audit.log").read_text()
    assert "token.create" in audit and "token.revoke" in audit and token not in audit


def test_a_real_process_reads_the_password_from_stdin_never_its_command_line(tmp_path):
    path = write_plan(tmp_path, {"language": "en"})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    secret = "stdin only password 7"
    process = subprocess.Popen([sys.executable, "-m", "opsplan", "--plan", str(path), "user", "add", "ops",
                                "--role", "admin", "--password-stdin"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        proc = Path(f"/proc/{process.pid}/cmdline")
        seen: list[str] = []
        for _ in range(600):  # until the exec has happened (an empty or the parent's cmdline before)
            seen.append(proc.read_bytes().decode(errors="replace"))
            if "--password-stdin" in seen[-1]:
                break
            time.sleep(0.01)
        assert process.stdin is not None
        process.stdin.write(secret + "\n")
        process.stdin.flush()
        with contextlib.suppress(OSError):  # it may have exited already
            seen.append(proc.read_bytes().decode(errors="replace"))
        output, errors = process.communicate(timeout=120)
        cmdline = "\n".join(seen)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, errors
    assert "--password-stdin" in cmdline and secret not in cmdline
    assert "Added user ops" in output and secret not in output + errors
    assert can_log_in(path, "ops", secret)
    plan = load_plan(path)
    db = StateDB.open(default_url(plan.data_dir))
    try:
        assert Login(db, None, time.time).attempt("ops", "stdin only password").result == BAD
    finally:
        db.close()


def test_a_live_session_is_listed_and_ended_once(tmp_path):
    path = write_plan(tmp_path, {"language": "en"})
    run(path, "add", "kim", "--role", "viewer", "--password-stdin", stdin=PASSWORD + "\n")
    assert can_log_in(path, "kim", PASSWORD)  # a login opens a session
    [row] = json.loads(run(path, "sessions", "--json").output)
    assert row["user"] == "kim"
    assert run(path, "session-end", str(row["id"])).exit_code == 0
    assert json.loads(run(path, "sessions", "--json").output) == []
    again = run(path, "session-end", str(row["id"]))
    assert again.exit_code == 1 and "No live session" in again.output
    assert "session.end" in (tmp_path / "data" / "audit.log").read_text()
