"""Check runs on MariaDB/MySQL: an item's result MEDIUMTEXT.

A daily result with the usage charts of many disks passes TEXT's 65,535 bytes (eight disks: about
80 KB of JSON), and MariaDB refused the item's row, leaving the run unfinished. SQLite and
PostgreSQL keep any length already: nothing changes there.

Revision ID: checks_0002
Revises: checks_0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from opsplan.store.long_text import LongColumn, narrow, widen

revision = "checks_0002"
down_revision = "checks_0001"
branch_labels = None
depends_on = None


COLUMNS = [LongColumn("check_item", "result", nullable=True)]


def upgrade() -> None:
    widen(COLUMNS)


def downgrade() -> None:
    narrow(COLUMNS)
