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

from opsplan.store.long_text import LongColumn, narrow, widen

revision = "backup_files_0002"
down_revision = "backup_files_0001"
branch_labels = None
depends_on = None


COLUMNS = [LongColumn("file_backup_runs", "excluded", nullable=True)]


def upgrade() -> None:
    widen(COLUMNS)


def downgrade() -> None:
    narrow(COLUMNS)
