"""The notification outbox: one row per (notice, channel), written before anything is sent.

Revision ID: notify_0001
Revises: 0001_base
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "notify_0001"
down_revision = "0001_base"
branch_labels = ("notify",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("notice_key", sa.String(300), nullable=False),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("fingerprint", sa.String(200), nullable=False),
        sa.Column("alert", sa.String(100), nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("notify_type", sa.String(20), nullable=False),
        # Times are UTC unix seconds.
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("first_due_at", sa.Float, nullable=False),
        sa.Column("next_try_at", sa.Float, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("status", sa.String(20), nullable=False, server_default="pending"),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("sent_at", sa.Float, nullable=True),
        sa.UniqueConstraint("notice_key", "channel", name="uq_notify_outbox_notice_channel"),
    )
    op.create_index("ix_notify_outbox_status_next", "notify_outbox", ["status", "next_try_at"])
    op.create_index("ix_notify_outbox_fingerprint", "notify_outbox", ["fingerprint"])


def downgrade() -> None:
    op.drop_index("ix_notify_outbox_fingerprint", table_name="notify_outbox")
    op.drop_index("ix_notify_outbox_status_next", table_name="notify_outbox")
    op.drop_table("notify_outbox")
