"""Catalog of model versions and configuration snapshots (issue 4 items 5-7).

Revision ID: backup_files_0001
Revises: 0001_base
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "backup_files_0001"
down_revision = "0001_base"
branch_labels = ("backup_files",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "file_backup_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("target", sa.String(200), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=True),
        sa.Column("size_bytes", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("copied_bytes", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("changed_files", sa.Integer, nullable=False, server_default="0"),
        sa.Column("version", sa.String(200), nullable=True),
        sa.Column("excluded", sa.Text, nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
    )
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(200), nullable=False, index=True),
        sa.Column("version", sa.String(200), nullable=False),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("file_backup_runs.id"), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("files", sa.Integer, nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("content_hash", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("pruned_at", sa.DateTime, nullable=True),
    )
    op.create_table(
        "model_version_files",
        sa.Column("version_id", sa.Integer, sa.ForeignKey("model_versions.id", ondelete="CASCADE"),
                  primary_key=True),
        # MariaDB/MySQL: 767 characters fit its 3072-byte key, compared byte for byte (see
        # models_catalog.PATH_KEY). SQLite and PostgreSQL get the String(1000) they always had.
        sa.Column("path", sa.String(1000).with_variant(
            mysql.VARCHAR(767, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"), primary_key=True),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(128), nullable=False),
        sa.Column("mode", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("model_version_files")
    op.drop_table("model_versions")
    op.drop_table("file_backup_runs")
