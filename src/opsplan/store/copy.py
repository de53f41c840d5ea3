"""Copy a state database into another, table by table: how an operator moves the SQLite file a
single box started with onto PostgreSQL or MariaDB without losing its history (alerts, outbox,
backup catalog, incidents, audit chain, users).

Both sides are first brought to the newest revision of every branch, so their tables match. The
target must hold no data yet: the rows its own migrations wrote (`opsplan_meta`, `audit_head`) are
replaced by the source's, every other table must be empty, else nothing is copied. The whole copy
is one transaction on the target (all or nothing) and reads the source in one transaction (a
consistent snapshot). A value SQLite kept longer than its VARCHAR (which a server refuses) is
clipped with an ellipsis, as opsplan writes such values now. Row ids are kept (the audit chain and
the links between tables use them); on PostgreSQL each id sequence is then moved past the largest
id, so the next insert does not collide.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import MetaData, Table, func, select, text
from sqlalchemy.engine import Connection

from opsplan.errors import StoreError, said
from opsplan.store.state import StateDB, clipped, max_length

# Alembic's own bookkeeping: each side keeps its own.
SKIPPED = ("alembic_version",)
# Rows the migrations write into a fresh database: the source's replace them.
REPLACED = ("opsplan_meta", "audit_head")
BATCH = 1000


class CopyRefused(StoreError):
    """The target already holds data (or is the source): one line, nothing copied."""


@dataclass(frozen=True)
class Copied:
    table: str
    rows: int


def copy_state(source: StateDB, target: StateDB, progress: Callable[[Copied], None] = lambda _c: None) -> list[Copied]:
    if source.engine.url == target.engine.url:
        raise said(CopyRefused, "db.copy.same_database")
    source.migrate()
    target.migrate()
    copied: list[Copied] = []
    with source.engine.connect() as reading, target.engine.begin() as writing:
        tables = _tables(reading)
        targets = _tables(writing)
        missing = sorted(set(tables) - set(targets))
        if missing:
            raise said(CopyRefused, "db.copy.missing_tables", tables=_names(missing))
        full = [name for name in tables if name not in REPLACED and _count(writing, targets[name])]
        if full:
            raise said(CopyRefused, "db.copy.target_has_data", tables=_names(full))
        for name, table in tables.items():
            into = targets[name]
            if name in REPLACED:
                writing.execute(into.delete())
            columns = [c.name for c in table.columns if c.name in into.columns]
            fit = _fitter(writing, into, columns)
            n = 0
            for rows in _batches(reading, table, columns):
                writing.execute(into.insert(), [fit(row) for row in rows])
                n += len(rows)
            _advance_sequence(writing, into)
            copied.append(Copied(name, n))
            progress(copied[-1])
    return copied


def _names(tables: list[str]) -> str:
    return ", ".join(f"`{name}`" for name in tables)  # identifiers, shown as such in either language


def _tables(conn: Connection) -> dict[str, Table]:
    """Every table but Alembic's, parents before children (foreign keys)."""
    meta = MetaData()
    meta.reflect(bind=conn)
    return {t.name: t for t in meta.sorted_tables if t.name not in SKIPPED}


def _fitter(conn: Connection, table: Table, columns: list[str]) -> Callable[[dict[str, object]], dict[str, object]]:
    """What makes a row fit the target: SQLite keeps any length in a VARCHAR, and an older opsplan
    wrote some values from outside (an external alert's name) whole there; the servers refuse the
    whole row, so the whole copy. Such a value is clipped with an ellipsis, as opsplan now writes it."""
    limited = [table.c[c] for c in columns if max_length(table.c[c]) is not None]
    if conn.dialect.name == "sqlite" or not limited:
        return lambda row: row

    def fit(row: dict[str, object]) -> dict[str, object]:
        for column in limited:
            value = row[column.name]
            if isinstance(value, str):
                row[column.name] = clipped(value, column)
        return row

    return fit


def _count(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _batches(conn: Connection, table: Table, columns: list[str]) -> Iterator[list[dict[str, object]]]:
    key = list(table.primary_key.columns) or [table.columns[columns[0]]]
    result = conn.execution_options(stream_results=True).execute(select(*[table.c[c] for c in columns]).order_by(*key))
    while rows := result.fetchmany(BATCH):
        yield [dict(row._mapping) for row in rows]


def _advance_sequence(conn: Connection, table: Table) -> None:
    # MariaDB and SQLite move their auto-increment past an explicit id by themselves; PostgreSQL's
    # serial sequence does not, and its next insert would reuse id 1.
    if conn.dialect.name != "postgresql":
        return
    quote = conn.dialect.identifier_preparer.quote
    for column in table.primary_key.columns:
        sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                {"t": table.name, "c": column.name}).scalar()
        if sequence:
            largest = f"SELECT MAX({quote(column.name)}) FROM {quote(table.name)}"  # names from the schema itself
            conn.execute(text(f"SELECT setval(:s, COALESCE(({largest}), 0) + 1, false)"), {"s": sequence})
