"""The audit log becomes hash-chained: each entry carries `target`, `prev_hash` and `hash`, and one
`audit_head` row holds the last hash and the count (the writers' lock row). Entries written before
are chained here, oldest first, with the same hash function the writer uses (opsplan.hashchain).

Revision ID: runbooks_0002_audit_chain
Revises: runbooks_0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsplan.hashchain import GENESIS, HASHED_FIELDS, entry_hash

revision = "runbooks_0002_audit_chain"
down_revision = "runbooks_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit", sa.Column("target", sa.String(200), nullable=False, server_default=""))
    op.add_column("audit", sa.Column("prev_hash", sa.String(64), nullable=False, server_default=""))
    op.add_column("audit", sa.Column("hash", sa.String(64), nullable=False, server_default=""))
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("entries", sa.Integer, nullable=False),
    )
    audit = sa.table("audit", sa.column("id", sa.Integer), *(sa.column(name) for name in HASHED_FIELDS),
                     sa.column("prev_hash", sa.String), sa.column("hash", sa.String))
    connection = op.get_bind()
    prev, count = GENESIS, 0
    rows = connection.execute(sa.select(audit.c.id, *(audit.c[name] for name in HASHED_FIELDS))
                              .order_by(audit.c.id)).mappings().all()
    for row in rows:
        fields = {name: row[name] for name in HASHED_FIELDS}
        fields["at"] = float(fields["at"])
        digest = entry_hash(fields, prev)
        connection.execute(audit.update().where(audit.c.id == row["id"]).values(prev_hash=prev, hash=digest))
        prev, count = digest, count + 1
    op.bulk_insert(head, [{"id": 1, "hash": prev, "entries": count}])


def downgrade() -> None:
    op.drop_table("audit_head")
    with op.batch_alter_table("audit") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
        batch.drop_column("target")
