"""Model rollback: each version's performance baseline and which version opsplan put into service.

Revision ID: model_rollback_0001
Revises: 0001_base
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "model_rollback_0001"
down_revision = "0001_base"
branch_labels = ("model_rollback",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_perf_baseline",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(200), nullable=False, index=True),
        sa.Column("version", sa.String(200), nullable=False),
        sa.Column("profile", sa.String(64), nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.Column("run_id", sa.Integer, nullable=True),
        sa.Column("requests", sa.Integer, nullable=False),
        sa.Column("p50_seconds", sa.Float, nullable=False),
        sa.Column("p95_seconds", sa.Float, nullable=False),
        sa.Column("throughput", sa.Float, nullable=False),
    )
    op.create_table(
        "model_serving",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(200), nullable=False, index=True),
        sa.Column("version", sa.String(200), nullable=False),
        sa.Column("directory", sa.String(4000), nullable=False),
        sa.Column("since", sa.DateTime, nullable=False),
        sa.Column("run_id", sa.Integer, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("model_serving")
    op.drop_table("model_perf_baseline")
