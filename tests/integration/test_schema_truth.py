"""Schema truth: the tables the models declare are the tables the Alembic migrations create.

For SQLite, PostgreSQL and MariaDB: migrate a fresh, throwaway database to every head, then let
Alembic's autogenerate compare it with the declared metadata (tables, columns, types,
nullability, indexes, unique and foreign keys, server defaults). Any difference means a model
changed without a migration (or the reverse) and is listed by table and column.

Every stage's tables are found without a list to keep up to date: `declared_metadata()` imports
every module under `opsplan`, then gathers Base.metadata and any other MetaData a module holds.

PostgreSQL and MariaDB are the servers of this machine, reached as postgres@127.0.0.1:5432 and
root@127.0.0.1:3306 unless OPSPLAN_TEST_PG_URL / OPSPLAN_TEST_MARIADB_URL name another
(SQLAlchemy URL without a database). Each run creates `opsplan_schema_<hex>` there and drops it
afterwards; a server that cannot be reached is a skip with the reason.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import secrets
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Boolean, DateTime, Float, MetaData, create_engine, inspect, text
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase

import opsplan
from opsplan.store.state import Base, StateDB

SERVERS = {
    "postgresql": ("OPSPLAN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
    "mariadb": ("OPSPLAN_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/"),
}


def declared_metadata() -> MetaData:
    """Every table any opsplan module declares, in one MetaData."""
    for module in pkgutil.walk_packages(opsplan.__path__, "opsplan."):
        if not module.name.endswith("__main__"):  # running it would start the CLI
            importlib.import_module(module.name)
    found: list[MetaData] = [Base.metadata]
    for name, module in list(sys.modules.items()):
        if not name.startswith("opsplan."):
            continue
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, DeclarativeBase) and value is not DeclarativeBase:
                value = value.metadata
            if isinstance(value, MetaData) and all(value is not m for m in found):
                found.append(value)
    if len(found) == 1:
        return Base.metadata
    merged = MetaData()
    for metadata in found:
        for table in metadata.tables.values():
            table.to_metadata(merged)
    return merged


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "mariadb"])
def migrated_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a fresh database of that kind, migrated to every head; dropped afterwards."""
    kind = request.param
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('schema') / 'state.db'}"
        StateDB.open(url).close()
        yield url
        return
    env, default = SERVERS[kind]
    server = make_url(os.environ.get(env) or default)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"opsplan_schema_{secrets.token_hex(6)}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
    except Exception as exc:  # noqa: BLE001 - no server here is a skip, not a failure
        admin.dispose()
        pytest.skip(f"{kind} server at {server.render_as_string(hide_password=True)} not usable: "
                    f"{str(exc).splitlines()[0]}")
    try:
        url = server.set(database=name).render_as_string(hide_password=False)
        StateDB.open(url).close()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


def _server_default_noise(context: Any, inspected: Any, declared: Any, inspected_default: str | None,
                          declared_default: Any, rendered_declared: str | None) -> bool | None:
    """False for two known false positives of Alembic's comparison, None (compare as usual) else.

    - server_default="" renders as nothing on our side while SQLite reflects "('')" and MariaDB
      "''" (Alembic strips the quotes only from a non-empty string).
    - MariaDB stores Boolean as TINYINT(1): server_default=false() comes back as 0 (true() as 1).
    """
    if rendered_declared == "" and (inspected_default or "").strip("()") == "''":
        return False
    if isinstance(declared.type, Boolean) and context.dialect.name in ("mysql", "mariadb"):
        wanted = {"false": "0", "true": "1"}.get((rendered_declared or "").lower())
        if wanted is not None:
            return (inspected_default or "").strip("'") != wanted
    return None


def _describe(diff: Any) -> str:
    """One line per difference; "declared" is the models, "migrated" what the migrations made."""
    if isinstance(diff, list):  # column modifications come as a list of one or more tuples
        return "\n".join(_describe(d) for d in diff)
    op = diff[0]
    if op in ("add_table", "remove_table"):
        side = "declared by a model but not created by the migrations" if op == "add_table" else \
            "created by the migrations but declared by no model"
        return f"table {diff[1].name}: {side}"
    if op in ("add_column", "remove_column"):
        side = "declared but not migrated" if op == "add_column" else "migrated but not declared"
        return f"column {diff[2]}.{diff[3].name} ({diff[3].type}): {side}"
    if op in ("add_index", "remove_index", "add_constraint", "remove_constraint", "add_fk", "remove_fk"):
        thing = diff[1]
        side = "declared but not migrated" if op.startswith("add") else "migrated but not declared"
        columns = ", ".join(c.name for c in getattr(thing, "columns", [])) or \
            ", ".join(e.parent.name for e in getattr(thing, "elements", []))
        return f"{op.split('_', 1)[1]} {thing.name} on {thing.table.name}({columns}): {side}"
    if op.startswith("modify_"):
        _, _, table, column, _existing, migrated, declared = diff
        return (f"column {table}.{column} {op.removeprefix('modify_')}: "
                f"migrated {_show(migrated)}, declared {_show(declared)}")
    return repr(diff)


def _show(value: Any) -> str:
    """A type, a nullability or a server default (its SQL text) as it reads in a migration."""
    arg = getattr(value, "arg", None)  # DefaultClause
    if arg is not None:
        return repr(getattr(arg, "text", arg))
    return repr(value)


def test_models_match_migrations(migrated_url: str) -> None:
    declared = declared_metadata()
    engine = create_engine(migrated_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={
                "compare_type": True,
                "compare_server_default": _server_default_noise,
            })
            diffs = compare_metadata(context, declared)
            # alembic_version is Alembic's own bookkeeping, not a table of ours
            diffs = [d for d in diffs if not (isinstance(d, tuple) and d[0] == "remove_table"
                                              and d[1].name == "alembic_version")]
            assert not diffs, (f"{engine.dialect.name}: the models and the migrations differ "
                               "(add a migration, or fix the model):\n"
                               + "\n".join(_describe(d) for d in diffs))
            assert set(declared.tables) <= set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_times_keep_their_precision(migrated_url: str) -> None:
    """Float columns hold unix times: 8 bytes everywhere (MariaDB's plain FLOAT is 4 and would
    round them to minutes); DateTime keeps microseconds (MariaDB's plain DATETIME drops them)."""
    declared = declared_metadata()
    engine = create_engine(migrated_url)
    try:
        with engine.connect() as conn:
            inspector = inspect(conn)
            coarse = []
            existing = set(inspector.get_table_names())  # a missing one is the other test's failure
            for table in (t for t in declared.tables.values() if t.name in existing):
                reflected = {c["name"]: c["type"] for c in inspector.get_columns(table.name)}
                for column in table.columns:
                    got = reflected[column.name]
                    if isinstance(column.type, Float) and isinstance(got, mysql.FLOAT | postgresql.REAL):
                        coarse.append(f"{table.name}.{column.name} is {got} (4 bytes)")
                    if isinstance(column.type, DateTime) and isinstance(got, mysql.DATETIME) and got.fsp != 6:
                        coarse.append(f"{table.name}.{column.name} is {got} without microseconds")
            assert not coarse, f"{engine.dialect.name}:\n" + "\n".join(coarse)
    finally:
        engine.dispose()
