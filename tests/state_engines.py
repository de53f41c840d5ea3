"""The state DB on every engine opsplan supports: SQLite, PostgreSQL and MariaDB.

`engine_state_url` (parametrised sqlite | postgresql | mariadb) is the URL of a fresh state
database migrated to every head, reached as an operator reaches it: the URL is put in the
environment variable the plan names (`state_db_url_env`, here STATE_URL_ENV) and read back with
`state_url()`. On the servers each test gets its own throwaway database `opsplan_test_<hex>`,
created here and dropped after the test; no other database is touched.

Migrating a database takes 2-3 s on the servers, so each server is migrated once per session
into a template database (also `opsplan_test_<hex>`, dropped at the end) and each test gets a
copy: PostgreSQL copies it natively (CREATE DATABASE ... TEMPLATE), MariaDB table by table from
SHOW CREATE TABLE (foreign keys included) with the rows the migrations wrote (alembic_version,
opsplan_meta, audit_head). Tests of the migrations themselves use `throwaway_database`, which
gives an empty database.

The servers are this machine's: postgres@127.0.0.1:5432 and root@127.0.0.1:3306, unless
OPSPLAN_TEST_PG_URL / OPSPLAN_TEST_MARIADB_URL name another (an SQLAlchemy URL without a
database). A server that cannot be reached is a skip that says which and why.
"""

from __future__ import annotations

import os
import queue
import secrets
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Connection, Engine, make_url

from opsplan.store.state import StateDB, state_url

ENGINES = ("sqlite", "postgresql", "mariadb")
SERVERS = {
    "postgresql": ("OPSPLAN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
    "mariadb": ("OPSPLAN_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/"),
}
STATE_URL_ENV = "OPSPLAN_TEST_STATE_DB_URL"  # what a plan's state_db_url_env would name
PREFIX = "opsplan_test_"


def server_url(kind: str) -> URL:
    env, default = SERVERS[kind]
    return make_url(os.environ.get(env) or default)


_unreachable: dict[str, str] = {}  # why a server could not be reached: tried once a session


def _admin(kind: str) -> Engine:
    """An AUTOCOMMIT engine on the server (CREATE/DROP DATABASE run outside a transaction), or a skip."""
    if kind in _unreachable:
        pytest.skip(_unreachable[kind])
    server = server_url(kind)
    admin = create_engine(server, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - no server here is a skip, not a failure
        admin.dispose()
        _unreachable[kind] = (f"{kind} server at {server.render_as_string(hide_password=True)} not reachable: "
                              f"{str(exc).splitlines()[0]}")
        pytest.skip(_unreachable[kind])
    return admin


def _database_url(kind: str, name: str) -> str:
    return server_url(kind).set(database=name).render_as_string(hide_password=False)


def _new_name() -> str:
    return f"{PREFIX}{secrets.token_hex(6)}"


def _drop(admin: Engine, kind: str, name: str) -> None:
    assert name.startswith(PREFIX)  # never anything this module did not create
    with admin.connect() as conn:
        if kind == "postgresql":  # a connection a test left open must not keep it alive
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        else:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))


@contextmanager
def throwaway_database(kind: str, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database of that kind (a new SQLite file; a new database on the server),
    dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
        return
    admin = _admin(kind)
    name = _new_name()
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        yield _database_url(kind, name)
    finally:
        _drop(admin, kind, name)
        admin.dispose()


class _Copies:
    """Copies of one server's migrated template, made ahead by a background thread, and dropped
    by it after use: a test waits for neither (most of the time goes to the server's disk)."""

    READY = 2  # copies kept made ahead

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.admin = _admin(kind)
        self.template = _new_name()
        with self.admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {self.template}"))
        try:
            StateDB.open(_database_url(kind, self.template)).close()  # closed: PostgreSQL copies no busy template
        except BaseException:
            _drop(self.admin, kind, self.template)
            raise
        self.ready: queue.Queue[str] = queue.Queue()
        self.used: queue.Queue[str] = queue.Queue()
        self.failure: BaseException | None = None
        self.stopping = threading.Event()
        self.wake = threading.Event()
        self.thread = threading.Thread(target=self._work, name=f"state-engines-{kind}", daemon=True)
        self.thread.start()

    def take(self) -> str:
        """The name of a fresh copy (made now if none is ready)."""
        if self.failure is not None:
            raise self.failure
        try:
            name = self.ready.get_nowait()
        except queue.Empty:
            name = self._copy()
        self.wake.set()
        return name

    def give_back(self, name: str) -> None:
        self.used.put(name)
        self.wake.set()

    def _work(self) -> None:
        while not self.stopping.is_set():
            try:
                self.wake.clear()
                while not self.used.empty():
                    _drop(self.admin, self.kind, self.used.get_nowait())
                if self.ready.qsize() < self.READY:
                    self.ready.put(self._copy())
                    continue
            except BaseException as exc:  # noqa: BLE001 - told to the next test that takes a copy
                self.failure = exc
                return
            self.wake.wait(0.5)

    def _copy(self) -> str:
        name = _new_name()
        with self.admin.connect() as conn:
            if self.kind == "postgresql":
                conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {self.template}"))
            else:
                _copy_mariadb(conn, self.template, name)
        return name

    def close(self) -> None:
        self.stopping.set()
        self.wake.set()
        self.thread.join(timeout=60)
        leftovers = [self.template]
        for each in (self.ready, self.used):
            while not each.empty():
                leftovers.append(each.get_nowait())
        for name in leftovers:
            _drop(self.admin, self.kind, name)
        self.admin.dispose()


def _copy_mariadb(conn: Connection, template: str, name: str) -> None:
    conn.execute(text(f"CREATE DATABASE {name}"))
    tables = conn.execute(text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
                          {"s": template}).scalars().all()
    conn.execute(text(f"USE {name}"))
    conn.execute(text("SET foreign_key_checks = 0"))  # tables come in any order
    try:
        for table in tables:
            ddl = conn.execute(text(f"SHOW CREATE TABLE {template}.`{table}`")).one()[1]
            conn.execute(text(ddl))  # unqualified: created in `name`, its foreign keys pointing there too
            conn.execute(text(f"INSERT INTO {name}.`{table}` SELECT * FROM {template}.`{table}`"))
    finally:
        conn.execute(text("SET foreign_key_checks = 1"))


class _Templates:
    """Per server, the copies of a database migrated once this session; the SQLite template a file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.copies: dict[str, _Copies] = {}
        self.sqlite: Path | None = None

    def server_copy(self, kind: str) -> tuple[str, _Copies]:
        if kind in _unreachable:
            pytest.skip(_unreachable[kind])
        if kind not in self.copies:
            self.copies[kind] = _Copies(kind)
        copies = self.copies[kind]
        return copies.take(), copies

    def sqlite_copy(self, path: Path) -> None:
        if self.sqlite is None:
            template = self.directory / "template.db"
            StateDB.open(f"sqlite:///{template}").close()  # the last connection folds the WAL in
            self.sqlite = template
        shutil.copyfile(self.sqlite, path)

    def close(self) -> None:
        for copies in self.copies.values():
            copies.close()


@pytest.fixture(scope="session")
def _state_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Templates]:
    templates = _Templates(tmp_path_factory.mktemp("state-template"))
    try:
        yield templates
    finally:
        templates.close()


@pytest.fixture(params=ENGINES)
def engine_state_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                     _state_templates: _Templates) -> Iterator[str]:
    """A fresh state database on each engine, migrated, its URL set in STATE_URL_ENV and read from there."""
    kind = request.param
    if kind == "sqlite":
        _state_templates.sqlite_copy(tmp_path / "state.db")
        monkeypatch.setenv(STATE_URL_ENV, f"sqlite:///{tmp_path / 'state.db'}")
        yield state_url(tmp_path, STATE_URL_ENV, os.environ)
        return
    name, copies = _state_templates.server_copy(kind)
    try:
        monkeypatch.setenv(STATE_URL_ENV, _database_url(kind, name))
        yield state_url(tmp_path, STATE_URL_ENV, os.environ)
    finally:
        copies.give_back(name)


@pytest.fixture(params=ENGINES)
def empty_engine_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each engine (nothing migrated yet), dropped afterwards: for the migrations' own tests."""
    with throwaway_database(request.param, tmp_path) as url:
        yield url


def engine_of(url: str) -> str:
    """sqlite | postgresql | mariadb, as the parameters name them."""
    backend = make_url(url).get_backend_name()
    return "mariadb" if backend in ("mysql", "mariadb") else backend


# For a test in a parametrised module whose SQL the others already run on every engine (pure logic,
# text, files): SQLite alone, to keep the servers' share of the suite's time small.
sqlite_only = pytest.mark.parametrize("engine_state_url", ["sqlite"], indirect=True)
