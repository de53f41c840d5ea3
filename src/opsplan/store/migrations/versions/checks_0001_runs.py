"""Periodic check runs (seed §2): one row per run, one row per item of it (its result as JSON).

Revision ID: checks_0001
Revises: 0001_base
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "checks_0001"
down_revision = "0001_base"
branch_labels = ("checks",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "check_run",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("period", sa.String(20), nullable=False),
        # The window checked and the run's own times: UTC unix seconds.
        sa.Column("window_start", sa.Float, nullable=False),
        sa.Column("window_end", sa.Float, nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("signed_by", sa.String(200), nullable=True),
        sa.Column("signed_at", sa.Float, nullable=True),
        sa.Column("sign_note", sa.Text, nullable=True),
    )
    op.create_index("ix_check_run_period_started", "check_run", ["period", "started_at"])
    op.create_table(
        "check_item",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("check_run.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("item_id", sa.String(64), nullable=True),
        sa.Column("title_ko", sa.Text, nullable=False),
        sa.Column("title_en", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("result", sa.Text, nullable=True),
        sa.Column("ticked_by", sa.String(200), nullable=True),
        sa.Column("ticked_at", sa.Float, nullable=True),
        sa.Column("note", sa.Text, nullable=True),
    )
    op.create_index("ix_check_item_run", "check_item", ["run_id"])
    op.create_index("ix_check_item_item", "check_item", ["item_id"])


def downgrade() -> None:
    op.drop_table("check_item")
    op.drop_table("check_run")
