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

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "incidents_0004"
down_revision = "incidents_0003"
branch_labels = None
depends_on = None


def _on_mariadb() -> bool:
    return op.get_bind().dialect.name in ("mysql", "mariadb")


def upgrade() -> None:
    if _on_mariadb():
        op.alter_column("incidents", "description", existing_type=sa.Text(), existing_nullable=False,
                        type_=mysql.MEDIUMTEXT())


def downgrade() -> None:
    if _on_mariadb():
        op.alter_column("incidents", "description", existing_type=mysql.MEDIUMTEXT(), existing_nullable=False,
                        type_=sa.Text())
