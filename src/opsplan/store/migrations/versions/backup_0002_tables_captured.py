"""When a database backup's per-table row counts and checksums were captured (from its prepared copy).

The capture no longer runs on the live server during the backup (issue 10 item 2): it runs later on
a scratch server started on the prepared copy, so a backup row can exist without one for a while.
NULL: not captured yet.

Revision ID: backup_0002_tables_captured
Revises: backup_0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "backup_0002_tables_captured"
down_revision = "backup_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("backup_db", sa.Column("tables_captured_at", sa.Float, nullable=True))
    # Rows captured by earlier versions (on the live server, after mariabackup ended) keep their
    # figures; they are marked captured so the capture job does not redo them.
    backup_db = sa.table("backup_db", sa.column("id", sa.Integer), sa.column("finished_at", sa.Float),
                         sa.column("tables_captured_at", sa.Float))
    captured = sa.select(sa.literal_column("backup_id")).select_from(sa.table("backup_db_table")).scalar_subquery()
    op.execute(backup_db.update().where(backup_db.c.id.in_(captured))
               .values(tables_captured_at=backup_db.c.finished_at))


def downgrade() -> None:
    with op.batch_alter_table("backup_db") as batch:
        batch.drop_column("tables_captured_at")
