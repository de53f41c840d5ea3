"""The runbook journal and the audit log on MariaDB/MySQL: the columns without a bound MEDIUMTEXT.

A failed step's whole output becomes the run's reason and the audit entry's detail (a restore
that fails on 3,000 tables: about 120 KB of error lines), and a step's data and the run's state
are JSON of any size (the tables of a large schema). TEXT holds 65,535 bytes: MariaDB refused the
row and the run stayed `running` with no outcome. SQLite and PostgreSQL keep any length already:
nothing changes there. Stored values are not touched (the audit chain hashes them).

Revision ID: runbooks_0003_long_text
Revises: runbooks_0002_audit_chain
Create Date: 2026-11-30
"""

from __future__ import annotations

from opsplan.store.long_text import LongColumn, narrow, widen

revision = "runbooks_0003_long_text"
down_revision = "runbooks_0002_audit_chain"
branch_labels = None
depends_on = None

# (table, column, nullable, server default)
COLUMNS = [
    LongColumn("runbook_run", "reason", True, None),
    LongColumn("runbook_run", "state", False, "{}"),
    LongColumn("runbook_run", "data", False, "{}"),
    LongColumn("runbook_step", "output", True, None),
    LongColumn("runbook_step", "data", False, "{}"),
    LongColumn("audit", "detail", True, None),
]


def upgrade() -> None:
    widen(COLUMNS)


def downgrade() -> None:
    narrow(COLUMNS)
