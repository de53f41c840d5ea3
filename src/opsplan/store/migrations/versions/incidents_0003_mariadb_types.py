"""Incidents on MariaDB/MySQL: the dedup key compared byte for byte, the timeline's data MEDIUMTEXT.

The default collation (utf8mb4_general_ci) ignores case and trailing spaces, so the alerts of two
subjects that differ only in case ("device GPU-A", "device gpu-a": two devices to Prometheus) were
joined into one incident there. A timeline entry's JSON may pass TEXT's 65,535 bytes (a final
postmortem freezes the whole timeline): the row was refused. SQLite and PostgreSQL compare bytes
and keep any length already: nothing changes there.

Revision ID: incidents_0003
Revises: incidents_0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from opsplan.store.long_text import LongColumn, narrow, on_mariadb, widen

revision = "incidents_0003"
down_revision = "incidents_0002"
branch_labels = None
depends_on = None

BINARY_KEY = mysql.VARCHAR(500, charset="utf8mb4", collation="utf8mb4_bin")


LONG = [LongColumn("incident_timeline", "data", nullable=False)]


def upgrade() -> None:
    widen(LONG)
    if on_mariadb():
        op.alter_column("incidents", "dedup_key", existing_type=sa.String(500), existing_nullable=True,
                        type_=BINARY_KEY)


def downgrade() -> None:
    narrow(LONG)
    if on_mariadb():
        op.alter_column("incidents", "dedup_key", existing_type=BINARY_KEY, existing_nullable=True,
                        type_=sa.String(500))
