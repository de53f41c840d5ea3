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

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "notify_0002_long_body"
down_revision = "notify_0001"
branch_labels = None
depends_on = None


def _on_mariadb() -> bool:
    return op.get_bind().dialect.name in ("mysql", "mariadb")


def upgrade() -> None:
    if _on_mariadb():
        op.alter_column("notify_outbox", "body", existing_type=sa.Text(), existing_nullable=False,
                        type_=mysql.MEDIUMTEXT())


def downgrade() -> None:
    if _on_mariadb():
        op.alter_column("notify_outbox", "body", existing_type=mysql.MEDIUMTEXT(), existing_nullable=False,
                        type_=sa.Text())
