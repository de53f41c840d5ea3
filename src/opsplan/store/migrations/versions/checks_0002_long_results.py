"""Check runs on MariaDB/MySQL: an item's result MEDIUMTEXT.

A daily result with the usage charts of many disks passes TEXT's 65,535 bytes (eight disks: about
80 KB of JSON), and MariaDB refused the item's row, leaving the run unfinished. SQLite and
PostgreSQL keep any length already: nothing changes there.

Revision ID: checks_0002
Revises: checks_0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "checks_0002"
down_revision = "checks_0001"
branch_labels = None
depends_on = None


def _on_mariadb() -> bool:
    return op.get_bind().dialect.name in ("mysql", "mariadb")


def upgrade() -> None:
    if _on_mariadb():
        op.alter_column("check_item", "result", existing_type=sa.Text(), existing_nullable=True,
                        type_=mysql.MEDIUMTEXT())


def downgrade() -> None:
    if _on_mariadb():
        op.alter_column("check_item", "result", existing_type=mysql.MEDIUMTEXT(), existing_nullable=True,
                        type_=sa.Text())
