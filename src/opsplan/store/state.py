"""The state database: alerts, silences, the outbox, the backup catalog, runbook journals.

SQLite in the data directory by default (one box needs nothing else); any SQLAlchemy URL
(MariaDB, PostgreSQL) when the plan names one. The schema is versioned with Alembic: each
domain keeps its own branch of revisions under store/migrations/versions, so `migrate()`
upgrades every branch to its head.
"""

from __future__ import annotations

import ast
import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Column, DateTime, Float, String, Table, Text, create_engine, event, inspect
from sqlalchemy import text as sql
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from opsplan.errors import StoreError
from opsplan.masking import MASK, mask_text
from opsplan.store.health import Persistence

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
# The largest row id every engine's INTEGER column holds (PostgreSQL's and MariaDB's INT): a larger
# number typed by a person names no row, and must not reach a query (SQLite raises OverflowError).
MAX_ROW_ID = 2**31 - 1
REOPEN_EVERY = 15.0  # seconds between tries to open a state database that could not be opened at start


class StateUnavailable(StoreError):
    """The state database could not be opened (it is tried again every REOPEN_EVERY seconds).
    `tried` is False when this call did not even try (the last try is recent): no fresh failure."""

    def __init__(self, message: str, *, tried: bool):
        super().__init__(message)
        self.tried = tried


class Base(DeclarativeBase):
    """Every table of the state database derives from this (its metadata is the whole schema)."""


# Facts about the database itself (revision 0001_base). `key` is a reserved word on MariaDB:
# query it through this table, which quotes it, never with hand-written SQL.
META = Table(
    "opsplan_meta",
    Base.metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

# A document that may pass 64 KB (a day's charts of a host with many disks, a final postmortem
# frozen with its whole timeline): MariaDB/MySQL's TEXT holds 65,535 bytes and refuses more
# (strict mode), MEDIUMTEXT holds 16 MB. SQLite's TEXT and PostgreSQL's text have no such limit.
LONG_TEXT = Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


# On MySQL/MariaDB a plain FLOAT is 4 bytes, which rounds a unix time to about two minutes, and a
# plain DATETIME drops the microseconds. The state DB's Float columns are times and durations and
# its DateTime columns are instants, so there they become DOUBLE and DATETIME(6): what SQLite
# (REAL, text) and PostgreSQL (double precision, timestamp) already keep. Types that name their
# precision, and the mysql dialect's own FLOAT/DATETIME, are left alone.
@compiles(Float, "mysql", "mariadb")
def _mysql_float(type_: Float, compiler: Any, **kw: Any) -> str:
    return "DOUBLE" if type_.precision is None else str(compiler.visit_FLOAT(type_, **kw))


@compiles(DateTime, "mysql", "mariadb")
def _mysql_datetime(type_: DateTime, compiler: Any, **kw: Any) -> str:
    return "DATETIME(6)"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web API read while the loop writes; busy_timeout waits out the other writer.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _private_sqlite_file(path: Path) -> None:
    """Create the database file 0600 before SQLite does (it would use the umask, often 0644): alerts,
    silences and the outbox name hosts and people. SQLite gives its -wal and -shm files the same mode.

    Existing files are changed by path, never opened: closing any descriptor of a file drops every
    POSIX lock this process holds on it, so opening and closing state.db-shm while serve's own
    connections are live would let another process (a CLI command) take serve for gone, checkpoint
    and delete the WAL under it, and serve's later writes would be lost."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))  # new: no lock to lose
    for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError, PermissionError):  # another user's file: theirs to keep
            if each.stat().st_mode & 0o777 != 0o600:
                os.chmod(each, 0o600)


CONNECT_TIMEOUT = 10  # seconds; psycopg waits forever for a server that drops packets (a firewall)


def _connect_args(url: str) -> dict[str, Any]:
    """A bounded connect on a server unless the URL says otherwise: a command against an unreachable
    state DB is then one line after CONNECT_TIMEOUT seconds, and serve's retry does not hang."""
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - create_engine says what is wrong with it
        return {}
    if parsed.get_backend_name() in ("postgresql", "mysql", "mariadb") and "connect_timeout" not in parsed.query:
        return {"connect_timeout": CONNECT_TIMEOUT}
    return {}


def default_url(data_dir: Path) -> str:
    return f"sqlite:///{Path(data_dir) / 'state.db'}"


class StateDB:
    def __init__(self, url: str, *, health: Persistence | None = None):
        self.url = url
        # Writers report here whether their writes land (serve's /healthz reads it).
        self.health = health or Persistence()
        self.unavailable: str | None = None  # why the database could not be opened; None once it is
        self._next_try = 0.0
        self._open_lock = threading.Lock()
        try:
            if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
                # A file that cannot be made private now (a full disk, a path that is a directory)
                # is left to the first connection, whose error open_or_defer reports and retries.
                with contextlib.suppress(OSError):
                    _private_sqlite_file(Path(url.removeprefix("sqlite:///")))
            self.engine: Engine = create_engine(url, future=True, pool_pre_ping=True, connect_args=_connect_args(url))
        except Exception as exc:  # noqa: BLE001 - a bad URL is the operator's one-line error
            raise StoreError(f"cannot open the state database: {safe_error(exc, url_password(url))}") from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, future=True)

    @classmethod
    def open(cls, url: str, *, migrate: bool = True, health: Persistence | None = None) -> StateDB:
        db = cls(url, health=health)
        if migrate:
            db.migrate()
        return db

    def migrate(self) -> None:
        """Bring every branch of the schema to its newest revision. A database already there (every
        command after the first) is told by one query, without loading alembic (~0.15 s a command)."""
        if self._at_heads():
            return
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["engine"] = self.engine
        try:
            command.upgrade(config, "heads")
        except Exception as exc:  # noqa: BLE001
            raise StoreError(f"cannot migrate the state database: {safe_error(exc, url_password(self.url))}") from None

    def _at_heads(self) -> bool:
        """Whether the database records exactly the newest revision of every branch. A failure to
        connect is the migration's failure (the same one-line error); a missing table means no."""
        heads = script_heads()
        if heads is None:
            return False
        try:
            with self.engine.connect() as connection:
                if not inspect(connection).has_table("alembic_version"):
                    return False
                current = connection.execute(sql("SELECT version_num FROM alembic_version")).scalars().all()
        except Exception as exc:  # noqa: BLE001 - a server that is down, a full disk: as alembic would fail
            raise StoreError(f"cannot migrate the state database: {safe_error(exc, url_password(self.url))}") from None
        return frozenset(current) == heads

    @classmethod
    def open_or_defer(cls, url: str, *, health: Persistence | None = None) -> StateDB:
        """Like `open`, but a database that cannot be migrated now (a full disk, a server that is
        down) is tried again every REOPEN_EVERY seconds by `session()`, which raises StoreError
        until then. A URL that cannot be used at all still raises here."""
        db = cls(url, health=health)
        try:
            db.migrate()
        except StoreError as exc:
            db.unavailable = str(exc)
            db._next_try = time.monotonic() + REOPEN_EVERY
        return db

    def _ensure_open(self) -> None:
        if self.unavailable is None:
            return
        with self._open_lock:
            if self.unavailable is None:
                return
            if time.monotonic() < self._next_try:
                raise StateUnavailable(self.unavailable, tried=False)
            try:
                self.migrate()
            except StoreError as exc:
                self.unavailable = str(exc)
                self._next_try = time.monotonic() + REOPEN_EVERY
                raise StateUnavailable(self.unavailable, tried=True) from None
            self.unavailable = None
            if self.health.mode:
                self.health.mode = ("monitoring only since start: the state database is open again; "
                                    "restart opsplan serve to resume backups and drills")
        log.warning("the state database is open now; what was kept in memory is written")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        self._ensure_open()
        session = self._sessions()
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise
        finally:
            session.close()

    def close(self) -> None:
        self.engine.dispose()


def script_heads() -> frozenset[str] | None:
    """The newest revision of every branch, read from the version files' `revision` and
    `down_revision` without running them; None when a file does not state them as plain literals
    (then alembic decides). tests/unit/test_state_db.py compares this with alembic's own heads."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        values: dict[str, Any] = {}
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, value = node.targets[0], node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                target, value = node.target, node.value
            else:
                continue
            if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                try:
                    values[target.id] = ast.literal_eval(value)
                except ValueError:
                    return None
        revision, down = values.get("revision"), values.get("down_revision")
        if not isinstance(revision, str):
            return None
        revisions.add(revision)
        parents.update([down] if isinstance(down, str) else down or ())
    return frozenset(revisions - parents)


def clipped(text: str, column: Any) -> str:
    """`text` cut to fit `column`'s VARCHAR length, its last character an ellipsis when cut. SQLite
    keeps any length in a VARCHAR; PostgreSQL and MariaDB (strict mode) refuse the whole row. For
    columns that only show a value kept whole elsewhere (an external alert's labels)."""
    length = max_length(column)
    if length is None or len(text) <= length:
        return text
    return text[:length - 1] + "\u2026"


def max_length(column: Any) -> int | None:
    """`column`'s VARCHAR length (None: any length)."""
    length = getattr(column.type, "length", None)
    return int(length) if length is not None else None


def too_long(text: str, column: Any) -> bool:
    """Whether `text` would not fit `column` (refuse it with a one-line error: it is someone's input)."""
    length = max_length(column)
    return length is not None and len(text) > length


def safe_error(exc: BaseException, password: str | None = None) -> str:
    """First line of an error without the URL's password (SQLAlchemy or a driver may echo the URL,
    or the password alone)."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if password:
        text = text.replace(password, MASK)
    return mask_text(text)[:300]


def url_password(url: str) -> str | None:
    try:
        return make_url(url).password
    except Exception:  # noqa: BLE001 - a URL SQLAlchemy cannot read has no password to hide
        return None


def shown_url(url: str) -> str:
    """The URL as an operator may see it: its password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return mask_text(url)


def state_url(data_dir: Path, url_env: str | None, environ: Any) -> str:
    """The plan's state database: the URL in `url_env` when set there, else SQLite in data_dir."""
    if url_env:
        url = environ.get(url_env)
        if not url:
            raise StoreError(f"state_db_url_env names {url_env}, which is not set")
        return str(url)
    return default_url(data_dir)
