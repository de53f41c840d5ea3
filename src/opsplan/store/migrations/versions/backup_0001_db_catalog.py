"""The database backup catalog: one row per attempt, its stored files, its per-table checks.

Revision ID: backup_0001
Revises: 0001_base
Create Date: 2026-11-27
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

revision = "backup_0001"
down_revision = "0001_base"
branch_labels = ("backup",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backup_db",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("target", sa.String(50), nullable=False, index=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("backup_db.id"), nullable=True),
        sa.Column("full_id", sa.Integer, nullable=True),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("trigger", sa.String(20), nullable=False, server_default="manual"),
        sa.Column("pid", sa.Integer, nullable=True),
        sa.Column("pid_started_at", sa.Float, nullable=True),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float, nullable=True),
        sa.Column("directory", sa.String(500), nullable=True),
        sa.Column("from_lsn", sa.BigInteger, nullable=True),
        sa.Column("to_lsn", sa.BigInteger, nullable=True),
        sa.Column("last_lsn", sa.BigInteger, nullable=True),
        sa.Column("binlog_file", sa.String(255), nullable=True),
        sa.Column("binlog_position", sa.BigInteger, nullable=True),
        sa.Column("gtid", sa.Text, nullable=True),
        sa.Column("bytes_read", sa.BigInteger, nullable=True),
        sa.Column("bytes_stored", sa.BigInteger, nullable=True),
        sa.Column("compression", sa.String(20), nullable=True),
        sa.Column("compression_level", sa.Integer, nullable=True),
        sa.Column("tool_version", sa.String(200), nullable=True),
        sa.Column("server_version", sa.String(200), nullable=True),
        sa.Column("verified_at", sa.Float, nullable=True),
        sa.Column("verify_status", sa.String(20), nullable=True),
        sa.Column("verify_deep", sa.Boolean, nullable=True),
        sa.Column("verify_reason", sa.Text, nullable=True),
        sa.Column("pruned_at", sa.Float, nullable=True),
        sa.Column("prune_reason", sa.Text, nullable=True),
    )
    op.create_table(
        "backup_db_file",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("backup_id", sa.Integer, sa.ForeignKey("backup_db.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("role", sa.String(30), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("hash_algorithm", sa.String(30), nullable=False),
        sa.Column("hash", sa.String(128), nullable=False),
    )
    op.create_table(
        "backup_db_table",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("backup_id", sa.Integer, sa.ForeignKey("backup_db.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("schema_name", sa.String(64), nullable=False),
        sa.Column("table_name", sa.String(64), nullable=False),
        sa.Column("row_count", sa.BigInteger, nullable=True),
        sa.Column("checksum", sa.BigInteger, nullable=True),
    )
    # When the catalog began: with no success yet, the backup age counts from here (BackupTooOld).
    meta = sa.table("opsplan_meta", sa.column("key", sa.String), sa.column("value", sa.Text))
    op.bulk_insert(meta, [{"key": "backup_catalog_created_at", "value": repr(time.time())}])


def downgrade() -> None:
    op.drop_table("backup_db_table")
    op.drop_table("backup_db_file")
    op.drop_table("backup_db")
    meta = sa.table("opsplan_meta", sa.column("key", sa.String), sa.column("value", sa.Text))
    op.execute(meta.delete().where(meta.c.key == "backup_catalog_created_at"))  # `key` is reserved on MariaDB
