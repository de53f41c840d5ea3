"""Where each branch of the state DB's schema stands: the revision the database records and the
newest one the installed opsplan knows (`opsplan db status`).

Each stage keeps its own Alembic branch (store/migrations/versions); a branch is named by its
label (alerts, notify, identity, ...). Nothing here changes the database.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import inspect
from sqlalchemy import text as sql

from opsplan.errors import StoreError
from opsplan.store.state import MIGRATIONS, StateDB, safe_error, url_password

ROOT = "base"  # the label of 0001_base, which every other branch starts from


@dataclass(frozen=True)
class BranchStatus:
    branch: str
    current: str | None  # None: the database has none of this branch yet
    head: str

    @property
    def at_head(self) -> bool:
        return self.current == self.head


def _branch_of(labels: set[str]) -> str:
    own = sorted(labels - {ROOT})
    return own[0] if own else ROOT


def branch_status(db: StateDB) -> list[BranchStatus]:
    """Every branch, by name: its current revision in `db` and its head. StoreError (one line, no
    password) when the database cannot be read."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS))
    heads = {_branch_of(set(rev.branch_labels)): rev.revision for rev in script.get_revisions("heads")}
    try:
        with db.engine.connect() as connection:
            recorded: list[str] = []
            if inspect(connection).has_table("alembic_version"):
                recorded = list(connection.execute(sql("SELECT version_num FROM alembic_version")).scalars())
    except Exception as exc:  # noqa: BLE001 - a server that is down, a wrong password: one line
        raise StoreError(f"cannot read the state database: {safe_error(exc, url_password(db.url))}") from None
    current: dict[str, str] = {}
    for revision in recorded:
        try:
            known = script.get_revision(revision)
        except Exception:  # noqa: BLE001 - written by a newer opsplan: shown as it is
            known = None
        current[_branch_of(set(known.branch_labels)) if known is not None else revision] = revision
    branches = sorted(set(heads) | set(current))
    return [BranchStatus(name, current.get(name), heads.get(name, "")) for name in branches]
