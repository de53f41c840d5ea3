"""Incidents: the incident, its append-only timeline, and the alerts linked to it.

Revision ID: incidents_0001
Revises: 0001_base
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "incidents_0001"
down_revision = "0001_base"
branch_labels = ("incidents",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("stage", sa.Integer, nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("dedup_key", sa.String(500), nullable=True),
        # Times are UTC unix seconds.
        sa.Column("opened_at", sa.Float, nullable=False),
        sa.Column("opened_by", sa.String(200), nullable=False),
        sa.Column("clock_from", sa.Float, nullable=False),
        sa.Column("ack_due", sa.Float, nullable=False),
        sa.Column("respond_due", sa.Float, nullable=False),
        sa.Column("ack_at", sa.Float, nullable=True),
        sa.Column("ack_by", sa.String(200), nullable=True),
        sa.Column("responded_at", sa.Float, nullable=True),
        sa.Column("ack_breached_at", sa.Float, nullable=True),
        sa.Column("respond_breached_at", sa.Float, nullable=True),
        sa.Column("resolved_at", sa.Float, nullable=True),
        sa.Column("resolved_by", sa.String(200), nullable=True),
        sa.Column("closed_at", sa.Float, nullable=True),
        sa.Column("closed_by", sa.String(200), nullable=True),
        sa.Column("merged_into", sa.Integer, nullable=True),
        sa.Column("reopened", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("ix_incidents_status", "incidents", ["status"])
    op.create_index("ix_incidents_dedup_key", "incidents", ["dedup_key"])
    op.create_table(
        "incident_timeline",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.Integer, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_index("ix_incident_timeline_incident_id", "incident_timeline", ["incident_id"])
    op.create_index("ix_incident_timeline_kind", "incident_timeline", ["kind"])
    op.create_table(
        "incident_alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.Integer, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("alert", sa.String(200), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("labels", sa.Text, nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("resolved_at", sa.Float, nullable=True),
    )
    op.create_index("ix_incident_alerts_incident_id", "incident_alerts", ["incident_id"])
    op.create_index("ix_incident_alerts_fingerprint", "incident_alerts", ["fingerprint"])


def downgrade() -> None:
    op.drop_table("incident_alerts")
    op.drop_table("incident_timeline")
    op.drop_index("ix_incidents_dedup_key", table_name="incidents")
    op.drop_index("ix_incidents_status", table_name="incidents")
    op.drop_table("incidents")
