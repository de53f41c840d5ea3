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

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "alerts_0002_long_text"
down_revision = "alerts_0001"
branch_labels = None
depends_on = None

COLUMNS = ("labels", "texts", "annotations")  # all NOT NULL, no server default


def _on_mariadb() -> bool:
    return op.get_bind().dialect.name in ("mysql", "mariadb")


def _alter(old: sa.types.TypeEngine, new: sa.types.TypeEngine) -> None:
    for column in COLUMNS:
        op.alter_column("alerts", column, existing_type=old, type_=new, existing_nullable=False)


def upgrade() -> None:
    if _on_mariadb():
        _alter(sa.Text(), mysql.MEDIUMTEXT())


def downgrade() -> None:
    if _on_mariadb():
        _alter(mysql.MEDIUMTEXT(), sa.Text())
