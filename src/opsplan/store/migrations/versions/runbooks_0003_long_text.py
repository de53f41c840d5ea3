"""The runbook journal and the audit log on MariaDB/MySQL: the columns without a bound MEDIUMTEXT.

A failed step's whole output becomes the run's reason and the audit entry's detail (a restore
that fails on 3,000 tables: about 120 KB of error lines), and a step's data and the run's state
are JSON of any size (the tables of a large schema). TEXT holds 65,535 bytes: MariaDB refused the
row and the run stayed `running` with no outcome. SQLite and PostgreSQL keep any length already:
nothing changes there. Stored values are not touched (the audit chain hashes them).

Revision ID: runbooks_0003_long_text
Revises: runbooks_0002_audit_chain
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "runbooks_0003_long_text"
down_revision = "runbooks_0002_audit_chain"
branch_labels = None
depends_on = None

# (table, column, nullable, server default)
COLUMNS = [
    ("runbook_run", "reason", True, None),
    ("runbook_run", "state", False, "{}"),
    ("runbook_run", "data", False, "{}"),
    ("runbook_step", "output", True, None),
    ("runbook_step", "data", False, "{}"),
    ("audit", "detail", True, None),
]


def _on_mariadb() -> bool:
    return op.get_bind().dialect.name in ("mysql", "mariadb")


def _alter(old: sa.types.TypeEngine, new: sa.types.TypeEngine) -> None:
    for table, column, nullable, default in COLUMNS:
        op.alter_column(table, column, existing_type=old, type_=new, existing_nullable=nullable,
                        existing_server_default=default)


def upgrade() -> None:
    if _on_mariadb():
        _alter(sa.Text(), mysql.MEDIUMTEXT())


def downgrade() -> None:
    if _on_mariadb():
        _alter(mysql.MEDIUMTEXT(), sa.Text())
