"""File backups on MariaDB/MySQL: the excluded paths MEDIUMTEXT.

A run lists every path it left out as a secret, one a line: an internal CA's directory of issued
certificates (1,500 `.pem` files under /etc/ssl/issued: about 78 KB) passed TEXT's 65,535 bytes
and MariaDB refused the run's row. SQLite and PostgreSQL keep any length already: nothing changes
there.

Revision ID: backup_files_0002
Revises: backup_files_0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "backup_files_0002"
down_revision = "backup_files_0001"
branch_labels = None
depends_on = None


def _on_mariadb() -> bool:
    return op.get_bind().dialect.name in ("mysql", "mariadb")


def upgrade() -> None:
    if _on_mariadb():
        op.alter_column("file_backup_runs", "excluded", existing_type=sa.Text(), existing_nullable=True,
                        type_=mysql.MEDIUMTEXT())


def downgrade() -> None:
    if _on_mariadb():
        op.alter_column("file_backup_runs", "excluded", existing_type=mysql.MEDIUMTEXT(), existing_nullable=True,
                        type_=sa.Text())
