"""On-call: each open incident's escalation state, rotation overrides, maintenance windows.

Revision ID: oncall_0001
Revises: 0001_base
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "oncall_0001"
down_revision = "0001_base"
branch_labels = ("oncall",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident_paging",
        sa.Column("incident_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("next_at", sa.Float, nullable=True),
        sa.Column("pages", sa.Integer, nullable=False, server_default="0"),
        sa.Column("snoozed_until", sa.Float, nullable=True),
    )
    op.create_index("ix_incident_paging_state", "incident_paging", ["state"])
    op.create_index("ix_incident_paging_next_at", "incident_paging", ["next_at"])
    op.create_table(
        "oncall_overrides",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("person", sa.String(200), nullable=False),
        sa.Column("start", sa.Float, nullable=False),
        sa.Column("end", sa.Float, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_oncall_overrides_start", "oncall_overrides", ["start"])
    op.create_index("ix_oncall_overrides_end", "oncall_overrides", ["end"])
    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subjects", sa.Text, nullable=False),
        sa.Column("start", sa.Float, nullable=False),
        sa.Column("end", sa.Float, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_maintenance_windows_end", "maintenance_windows", ["end"])


def downgrade() -> None:
    op.drop_table("maintenance_windows")
    op.drop_table("oncall_overrides")
    op.drop_table("incident_paging")
