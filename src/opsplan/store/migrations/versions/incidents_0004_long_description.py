"""Incidents on MariaDB/MySQL: the description MEDIUMTEXT.

An incident opened by an alert takes the alert's description, and an external alert's description
has no bound (Prometheus templates it: the pods of a whole node pass TEXT's 65,535 bytes). MariaDB
refused the row: no incident opened. SQLite and PostgreSQL keep any length already: nothing
changes there.

Revision ID: incidents_0004
Revises: incidents_0003
Create Date: 2026-11-30
"""

from __future__ import annotations

from opsplan.store.long_text import LongColumn, narrow, widen

revision = "incidents_0004"
down_revision = "incidents_0003"
branch_labels = None
depends_on = None


COLUMNS = [LongColumn("incidents", "description", nullable=False)]


def upgrade() -> None:
    widen(COLUMNS)


def downgrade() -> None:
    narrow(COLUMNS)
