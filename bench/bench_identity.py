"""Identity costs: a login with the default Argon2id parameters, and what every request with a
session or an API token pays (issue 12, item 1).

    .venv/bin/python bench/bench_identity.py [--runs 30] [--json identity.json]

Measured on a SQLite state DB in a temporary directory (the default `opsplan init` plan keeps its
state DB in data_dir), in rounds, every operation once per round in the same order, median over the
rounds. The hasher is argon2-cffi's default (what `opsplan user` and `serve` use: Argon2id, 64 MiB,
t=3, p=4). Anchor, in the same rounds: one `SELECT 1` in a state DB session (the floor of any
check that reads the database); ratios are to it.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from sqlalchemy import text  # noqa: E402

from opsplan.store.state import StateDB  # noqa: E402
from opsplan.web.identity import sessions, tokens  # noqa: E402
from opsplan.web.identity.login import OK, Login  # noqa: E402
from opsplan.web.identity.users import Users  # noqa: E402

PASSWORD = "correct horse battery"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = StateDB.open(f"sqlite:///{Path(tmp) / 'state.db'}")
        users = Users(db, Path(tmp), time.time)
        users.add("kim", "operator", PASSWORD, actor="bench")
        login = Login(db, Path(tmp), time.time)
        outcome = login.attempt("kim", PASSWORD)
        assert outcome.result == OK and outcome.session_token
        session_token = outcome.session_token
        with db.session() as session:
            _, api_token = tokens.create(session, users.get("kim").id, "bench", "write", time.time(), None)
        policy = sessions.Policy()

        def anchor() -> None:
            with db.session() as session:
                session.execute(text("SELECT 1"))

        def good_login() -> None:
            assert login.attempt("kim", PASSWORD).result == OK

        def session_lookup() -> None:
            with db.session() as session:
                assert sessions.lookup(session, session_token, time.time(), policy) is not None

        def token_check() -> None:
            with db.session() as session:
                assert tokens.authenticate(session, api_token, time.time()) is not None

        todo: dict[str, Callable[[], None]] = {"anchor: SELECT 1 in a state DB session": anchor,
                                               "login (Argon2id defaults, session row, audit entry)": good_login,
                                               "session lookup per request": session_lookup,
                                               "API token check per request": token_check}
        times: dict[str, list[float]] = {name: [] for name in todo}
        for _ in range(args.runs):
            for name, work in todo.items():
                started = time.perf_counter()
                work()
                times[name].append(time.perf_counter() - started)
        db.close()
    medians = {name: statistics.median(values) for name, values in times.items()}
    base = medians["anchor: SELECT 1 in a state DB session"]
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, runs={args.runs}")
    for name, value in medians.items():
        print(f"{name:55s} {value * 1000:9.2f} ms   x{value / base:8.1f}")
    if args.json:
        args.json.write_text(json.dumps({"runs": args.runs, "median_s": medians}, indent=2))


if __name__ == "__main__":
    main()
