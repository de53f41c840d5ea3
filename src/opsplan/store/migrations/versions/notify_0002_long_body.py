"""The notification outbox on MariaDB/MySQL: a message's body MEDIUMTEXT.

An alert's message carries its description, and an external alert's description has no bound
(Prometheus templates it: the pods of a whole node pass TEXT's 65,535 bytes). MariaDB refused the
row: the message was only held in memory, lost on a restart. SQLite and PostgreSQL keep any length
already: nothing changes there.

Revision ID: notify_0002_long_body
Revises: notify_0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from opsplan.store.long_text import LongColumn, narrow, widen

revision = "notify_0002_long_body"
down_revision = "notify_0001"
branch_labels = None
depends_on = None


COLUMNS = [LongColumn("notify_outbox", "body", nullable=False)]


def upgrade() -> None:
    widen(COLUMNS)


def downgrade() -> None:
    narrow(COLUMNS)
