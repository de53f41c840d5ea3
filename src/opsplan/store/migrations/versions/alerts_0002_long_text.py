"""Alerts on MariaDB/MySQL: labels, texts and annotations MEDIUMTEXT.

Prometheus puts no bound on an annotation, and an external alert's annotations are stored whole
(and its summary and description copied into `texts`): a description templated with the pods of
a whole node passes TEXT's 65,535 bytes, and MariaDB refused the row (the alert was only kept in
memory). Labels are stored whole too. SQLite and PostgreSQL keep any length already: nothing
changes there.

Revision ID: alerts_0002_long_text
Revises: alerts_0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from opsplan.store.long_text import LongColumn, narrow, widen

revision = "alerts_0002_long_text"
down_revision = "alerts_0001"
branch_labels = None
depends_on = None

COLUMNS = [LongColumn("alerts", name, nullable=False) for name in ("labels", "texts", "annotations")]


def upgrade() -> None:
    widen(COLUMNS)


def downgrade() -> None:
    narrow(COLUMNS)
