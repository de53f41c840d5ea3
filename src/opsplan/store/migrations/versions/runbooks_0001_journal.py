"""The runbook journal (one row per run, one per step attempt) and the audit table.

Revision ID: runbooks_0001
Revises: 0001_base
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "runbooks_0001"
down_revision = "0001_base"
branch_labels = ("runbooks",)
depends_on = None


def upgrade() -> None:
    # Times are UTC unix seconds; params, state and data are JSON with secrets masked.
    op.create_table(
        "runbook_run",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("title", sa.Text, nullable=False, server_default=""),
        sa.Column("params", sa.Text, nullable=False, server_default="{}"),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("dry_run", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("failed_step", sa.String(100), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("pid", sa.Integer, nullable=True),
        sa.Column("pid_started_at", sa.Float, nullable=True),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float, nullable=True),
        sa.Column("resumes", sa.Integer, nullable=False, server_default="0"),
        sa.Column("state", sa.Text, nullable=False, server_default="{}"),
        sa.Column("data", sa.Text, nullable=False, server_default="{}"),
    )
    op.create_index("ix_runbook_run_started", "runbook_run", ["started_at"])
    op.create_table(
        "runbook_step",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runbook_run.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("title", sa.Text, nullable=False, server_default=""),
        sa.Column("phase", sa.String(10), nullable=False),  # do | undo | plan (dry run)
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(200), nullable=True),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float, nullable=True),
        sa.Column("seconds", sa.Float, nullable=True),
        sa.Column("output", sa.Text, nullable=True),
        sa.Column("data", sa.Text, nullable=False, server_default="{}"),
    )
    op.create_index("ix_runbook_step_run", "runbook_step", ["run_id", "id"])
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),  # run | resume | confirm | dry_run
        sa.Column("kind", sa.String(50), nullable=True),
        sa.Column("run_id", sa.Integer, nullable=True),
        sa.Column("arguments", sa.Text, nullable=False, server_default="{}"),
        sa.Column("outcome", sa.String(50), nullable=True),
        sa.Column("detail", sa.Text, nullable=True),
    )
    op.create_index("ix_audit_at", "audit", ["at"])


def downgrade() -> None:
    op.drop_index("ix_audit_at", table_name="audit")
    op.drop_table("audit")
    op.drop_index("ix_runbook_step_run", table_name="runbook_step")
    op.drop_table("runbook_step")
    op.drop_index("ix_runbook_run_started", table_name="runbook_run")
    op.drop_table("runbook_run")
