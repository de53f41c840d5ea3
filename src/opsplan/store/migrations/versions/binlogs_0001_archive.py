"""Archived binary logs for point-in-time recovery, and the archiver's last pass.

Revision ID: binlogs_0001
Revises: 0001_base
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "binlogs_0001"
down_revision = "0001_base"
branch_labels = ("binlogs",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backup_binlog",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False, index=True),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("server_id", sa.BigInteger, nullable=True),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("pid", sa.Integer, nullable=True),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float, nullable=True),
        sa.Column("stored_name", sa.String(300), nullable=True),
        sa.Column("raw_size", sa.BigInteger, nullable=True),
        sa.Column("size", sa.BigInteger, nullable=True),
        sa.Column("hash_algorithm", sa.String(30), nullable=True),
        sa.Column("hash", sa.String(128), nullable=True),
        sa.Column("first_event_at", sa.Float, nullable=True),
        sa.Column("last_event_at", sa.Float, nullable=True),
        sa.Column("first_position", sa.BigInteger, nullable=True),
        sa.Column("last_position", sa.BigInteger, nullable=True),
        sa.Column("end_position", sa.BigInteger, nullable=True),
        sa.Column("pruned_at", sa.Float, nullable=True),
        sa.Column("prune_reason", sa.Text, nullable=True),
    )
    op.create_table(
        "backup_binlog_status",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("last_success_at", sa.Float, nullable=True),
        sa.Column("last_failure_at", sa.Float, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("log_bin_off_at", sa.Float, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("backup_binlog_status")
    op.drop_table("backup_binlog")
