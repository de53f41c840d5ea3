"""Restore drill results: one row per drill (database or model), its measured RTO/RPO and phases.

Revision ID: drills_0001
Revises: 0001_base
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "drills_0001"
down_revision = "0001_base"
branch_labels = ("drills",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drill_result",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("target", sa.String(200), nullable=False, index=True),
        sa.Column("run_id", sa.Integer, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float, nullable=True),
        sa.Column("backup_ids", sa.Text, nullable=False, server_default="[]"),
        sa.Column("restorable_point", sa.Float, nullable=True),
        sa.Column("rpo_seconds", sa.Float, nullable=True),
        sa.Column("rto_seconds", sa.Float, nullable=True),
        sa.Column("time_to_service", sa.Float, nullable=True),
        sa.Column("time_to_verified", sa.Float, nullable=True),
        sa.Column("rto_target", sa.Float, nullable=True),
        sa.Column("rpo_target", sa.Float, nullable=True),
        sa.Column("phases", sa.Text, nullable=False, server_default="{}"),
        sa.Column("tables_checked", sa.Integer, nullable=True),
        sa.Column("tables_failed", sa.Integer, nullable=True),
        sa.Column("failed_step", sa.String(100), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("report_path", sa.String(1000), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("drill_result")
