"""Fixtures shared by every test suite.

`mariadb_server`: one throwaway MariaDB per session (see tests/mariadb_server.py); tests must not
stop it or change its global state for good. `mariadb_server_factory`: fresh servers a test may
stop, kill or break; they are cleaned up at the end of that test.

Without mariadbd these are skipped with the reason, except under CI (CI=true), where the
README's test command installs mariadb-server and a missing server is a failure.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

_HERE = str(Path(__file__).parent)
if _HERE not in sys.path:  # rootdir-relative imports break if tests/ ever gets an __init__.py
    sys.path.insert(0, _HERE)

from mariadb_server import MariaDBServer, binaries_available  # noqa: E402


def _under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _require_mariadb() -> None:
    ok, why = binaries_available()
    if ok:
        return
    if _under_ci():
        pytest.fail(f"MariaDB is required under CI: {why}", pytrace=False)
    pytest.skip(why)


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[MariaDBServer]:
    _require_mariadb()
    server = MariaDBServer()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def mariadb_server_factory() -> Iterator[Callable[..., MariaDBServer]]:
    """Call it (with MariaDBServer's keyword arguments) to get a started private server."""
    _require_mariadb()
    servers: list[MariaDBServer] = []

    def make(**kwargs: object) -> MariaDBServer:
        server = MariaDBServer(**kwargs)  # type: ignore[arg-type]
        servers.append(server)
        return server.start()

    try:
        yield make
    finally:
        for server in servers:
            server.cleanup()


# The state DB on SQLite, PostgreSQL and MariaDB, for any test that asks (tests/state_engines.py).
from state_engines import _state_templates, empty_engine_url, engine_state_url  # noqa: E402, F401
