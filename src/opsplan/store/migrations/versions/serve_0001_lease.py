"""The plan's lease: which `serve` does the active work (notifications, paging, backups, drills).

Revision ID: serve_0001
Revises: 0001_base
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "serve_0001"
down_revision = "0001_base"
branch_labels = ("serve",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "serve_lease",
        sa.Column("plan", sa.String(200), primary_key=True),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("token", sa.Integer, nullable=False),
        sa.Column("acquired_at", sa.Float, nullable=False),
        sa.Column("heartbeat_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("serve_lease")
