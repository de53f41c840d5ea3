"""A second StateDB opened in serve's own process (a start-up check, a page asking whether users
exist) must not cost serve its SQLite locks: otherwise the next command-line process to close its
connection takes itself for the last one, checkpoints and deletes the WAL under serve, and what
serve writes afterwards never reaches the file (found as sessions the CLI could not see)."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import text

from opsplan.store.state import StateDB

OTHER_PROCESS = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
                 "print(c.execute(sys.argv[2]).fetchone()[0]); c.close()")


def in_another_process(path: str, sql: str) -> str:
    done = subprocess.run([sys.executable, "-c", OTHER_PROCESS, path, sql], capture_output=True, text=True,
                          timeout=60, check=True)
    return done.stdout.strip()


def open_files() -> list[str]:
    names = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            names.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:  # closed while listing
            continue
    return names


def test_a_second_state_db_in_the_same_process_leaves_the_first_ones_writes_visible(tmp_path):
    path = tmp_path / "state.db"
    serve = StateDB.open(f"sqlite:///{path}")
    with serve.session() as session:  # serve's connection: open, in WAL mode, pooled
        session.execute(text("CREATE TABLE probe (n INTEGER)"))
        session.execute(text("INSERT INTO probe VALUES (1)"))
    StateDB.open(f"sqlite:///{path}").close()  # what `opsplan serve` did to ask whether users exist
    assert in_another_process(str(path), "SELECT count(*) FROM probe") == "1"  # a CLI command comes and goes
    with serve.session() as session:
        session.execute(text("INSERT INTO probe VALUES (2)"))
    # Serve's second write is in the file's WAL, where the next command reads it.
    assert in_another_process(str(path), "SELECT count(*) FROM probe") == "2"
    assert not [name for name in open_files() if name.startswith(str(path)) and "(deleted)" in name]
    serve.close()


def test_the_files_are_private_and_a_loose_mode_is_tightened(tmp_path):
    path = tmp_path / "state.db"
    db = StateDB.open(f"sqlite:///{path}")
    assert path.stat().st_mode & 0o777 == 0o600
    db.close()
    path.chmod(0o644)
    StateDB.open(f"sqlite:///{path}").close()
    assert path.stat().st_mode & 0o777 == 0o600
