"""Alert instances (pending, firing, resolved history) and silences.

Revision ID: alerts_0001
Revises: 0001_base
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "alerts_0001"
down_revision = "0001_base"
branch_labels = ("alerts",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("rule_id", sa.String(200), nullable=False),
        sa.Column("alert", sa.String(200), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("labels", sa.Text, nullable=False),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("threshold", sa.Float, nullable=True),
        sa.Column("for_s", sa.Float, nullable=False),
        sa.Column("texts", sa.Text, nullable=False),
        sa.Column("annotations", sa.Text, nullable=False),
        sa.Column("active_since", sa.Float, nullable=False),
        sa.Column("started_at", sa.Float, nullable=True),
        sa.Column("resolved_at", sa.Float, nullable=True),
        sa.Column("resolved_reason", sa.String(32), nullable=True),
        sa.Column("notified", sa.Boolean, nullable=False),
        sa.Column("last_notice_at", sa.Float, nullable=True),
        sa.Column("inhibited", sa.Boolean, nullable=False),
        sa.Column("ack_by", sa.String(200), nullable=True),
        sa.Column("ack_at", sa.Float, nullable=True),
        sa.Column("ack_comment", sa.Text, nullable=True),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("ix_alerts_fingerprint", "alerts", ["fingerprint"])
    op.create_index("ix_alerts_resolved_at", "alerts", ["resolved_at"])
    op.create_table(
        "alert_silences",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("matchers", sa.Text, nullable=False),
        sa.Column("starts_at", sa.Float, nullable=False),
        sa.Column("ends_at", sa.Float, nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_alert_silences_ends_at", "alert_silences", ["ends_at"])


def downgrade() -> None:
    op.drop_table("alert_silences")
    op.drop_table("alerts")
