"""The Alembic step the long-document migrations share: columns moved between TEXT (64 KB on
MariaDB) and MEDIUMTEXT (16 MB), on MariaDB/MySQL only. SQLite and PostgreSQL keep any length in
TEXT already, so nothing changes there (`state.LONG_TEXT` is the models' side of the same type)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql


class LongColumn(NamedTuple):
    table: str
    column: str
    nullable: bool
    server_default: str | None = None


def on_mariadb() -> bool:
    return op.get_bind().dialect.name in ("mysql", "mariadb")


def widen(columns: Sequence[LongColumn]) -> None:
    """TEXT -> MEDIUMTEXT (an upgrade)."""
    _alter(columns, sa.Text(), mysql.MEDIUMTEXT())


def narrow(columns: Sequence[LongColumn]) -> None:
    """MEDIUMTEXT -> TEXT (its downgrade)."""
    _alter(columns, mysql.MEDIUMTEXT(), sa.Text())


def _alter(columns: Sequence[LongColumn], old: sa.types.TypeEngine, new: sa.types.TypeEngine) -> None:
    if not on_mariadb():
        return
    for c in columns:
        op.alter_column(c.table, c.column, existing_type=old, type_=new, existing_nullable=c.nullable,
                        existing_server_default=c.server_default)
